"""Polls edited over the API as in the console, and recurring messages.

PUT  /api/v1/polls/{slug}/definition?revision=N      secretariat  replace a draft (409 if changed)
GET  /api/v1/polls/{slug}/definition.toml|.json      viewer       the file (import round-trips)
POST /api/v1/polls/{slug}/preview (or /api/v1/polls/preview with a body) viewer  SMS, Telegram
POST /api/v1/polls/{slug}/schedule, …/unschedule      secretariat  open by itself on its date
POST /api/v1/polls/{slug}/duplicate {"slug": "new"}   secretariat  a new draft from it
GET  /api/v1/recurring                                viewer       schedules and occurrences
POST /api/v1/recurring/{key} {"enabled", "day", "time"} secretariat
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiohttp import web

from bot.vocabulary.errors import FieldError
from broadcasts import recurring
from broadcasts.polls import editing
from broadcasts.polls import service as poll_service
from broadcasts.polls.definition_file import file_form, to_toml
from broadcasts.polls.model import Poll
from broadcasts.polls.parse import parse_poll, parse_poll_json
from broadcasts.polls.preview import preview
from gateway.api.common import PREFIX, actor, body, definition_body, endpoint, reply
from gateway.api.polls import SLUG
from gateway.keys import DATABASE
from storage.tokens import Principal


def _now() -> datetime:
    return datetime.now(UTC)


async def _poll_from(request: web.Request) -> Poll:
    if request.content_type in ("application/toml", "text/plain"):
        return parse_poll(await request.text(), "body")
    return parse_poll_json(await definition_body(request))


@endpoint("secretariat")
async def replace_definition(request: web.Request, who: Principal) -> web.Response:
    slug = request.match_info["slug"]
    try:
        revision = int(request.query["revision"])
    except (KeyError, ValueError):
        raise FieldError("revision", "give ?revision=N, as GET …/polls/{slug} says") from None
    poll = await _poll_from(request)
    if poll.slug != slug:
        raise FieldError("slug", f"the body's slug must be {slug}")
    saved = await editing.save_draft(request.app[DATABASE], poll, actor(who), _now(), revision)
    return reply(saved)


@endpoint("viewer")
async def export_definition(request: web.Request, who: Principal) -> web.Response:
    row = await poll_service.poll_row(request.app[DATABASE], request.match_info["slug"])
    poll = Poll.from_json(row.definition)
    if request.path.endswith(".toml"):
        return web.Response(text=to_toml(poll), content_type="application/toml", charset="utf-8")
    return reply(file_form(poll))


@endpoint("viewer")
async def preview_poll(request: web.Request, who: Principal) -> web.Response:
    slug = request.match_info.get("slug")
    if slug:
        row = await poll_service.poll_row(request.app[DATABASE], slug)
        poll = Poll.from_json(row.definition)
    else:
        poll = await _poll_from(request)
    return reply({"slug": poll.slug, "questions": preview(poll)})


@endpoint("secretariat")
async def schedule(request: web.Request, who: Principal) -> web.Response:
    slug, on = request.match_info["slug"], request.path.endswith("/schedule")
    await editing.schedule(request.app[DATABASE], slug, on, actor(who), _now())
    return reply({"slug": slug, "open_on_schedule": on})


@endpoint("secretariat")
async def duplicate(request: web.Request, who: Principal) -> web.Response:
    data = await body(request)
    new_slug = data.get("slug")
    if not isinstance(new_slug, str):
        raise FieldError("slug", "give the new poll's slug")
    saved = await editing.duplicate(
        request.app[DATABASE], request.match_info["slug"], new_slug, actor(who), _now()
    )
    return reply(saved, 201)


@endpoint("viewer")
async def list_recurring(request: web.Request, who: Principal) -> web.Response:
    return reply(await recurring.overview(request.app[DATABASE], _now()))


@endpoint("secretariat")
async def change_recurring(request: web.Request, who: Principal) -> web.Response:
    data = await body(request)
    enabled = data.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise FieldError("enabled", "must be true or false")
    day, time = data.get("day"), data.get("time")
    if (day is None) != (time is None):
        raise FieldError("time" if time is None else "day", "give both day and time")
    await recurring.change(
        request.app[DATABASE], request.match_info["key"], actor(who), _now(),
        enabled=enabled, day=day, time=time,
    )  # fmt: skip
    return reply({"key": request.match_info["key"], "changed": json.loads(json.dumps(data))})


def add_routes(app: web.Application) -> None:
    add, base = app.router, f"{PREFIX}/polls"
    add.add_post(f"{base}/preview", preview_poll)
    add.add_put(f"{base}/{SLUG}/definition", replace_definition)
    for suffix in ("toml", "json"):
        add.add_get(f"{base}/{SLUG}/definition.{suffix}", export_definition, allow_head=False)
    add.add_post(f"{base}/{SLUG}/preview", preview_poll)
    add.add_post(f"{base}/{SLUG}/schedule", schedule)
    add.add_post(f"{base}/{SLUG}/unschedule", schedule)
    add.add_post(f"{base}/{SLUG}/duplicate", duplicate)
    add.add_get(f"{PREFIX}/recurring", list_recurring, allow_head=False)
    add.add_post(f"{PREFIX}/recurring/{{key:[a-z0-9-]{{1,60}}}}", change_recurring)
