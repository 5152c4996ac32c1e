"""Campaign calendars over the HTTP API: viewers read, the secretariat enables and disables.

GET  /api/v1/campaigns?year=2026            every campaign, its dates, the broken files
GET  /api/v1/campaigns/{name}?year=2026     every message: day, audience, SMS per language
POST /api/v1/campaigns/{name}/enable        {"year": 2026}   (disable likewise)
POST /api/v1/campaigns/{name}/approve       {"year": 2026, "revision": 3}
PUT  /api/v1/campaigns/{name}/texts         {"year", "message", "texts": {"fr": …}, "revision"}
PUT  /api/v1/campaigns/{name}/theme         {"year", "theme": {"fr": …}, "revision"}
POST /api/v1/campaigns/{name}/move          {"year", "message", "day": "2026-03-02", "revision"}
POST /api/v1/campaigns/{name}/messages      {"year", "key", "title", "day", "send_time",
                                             "audience", "texts", "revision"}
DELETE /api/v1/campaigns/{name}/messages/{key}?year=2026[&revision=4]
GET  /api/v1/campaigns/{name}/export.toml?year=2026   the file, the year as edited (viewer)

"revision" (the year's, from GET …/{name}) is optional: when given, a save over someone
else's since then is refused (409, "changed meanwhile"), nothing saved.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.vocabulary.errors import FieldError
from broadcasts.campaigns import approval, year_editor
from broadcasts.campaigns import export as campaign_export
from broadcasts.campaigns import service as campaign_service
from broadcasts.campaigns.service import Calendar
from gateway.api.common import PREFIX, actor, body, enabled_channels, endpoint, reply
from gateway.keys import DATABASE, SETTINGS
from storage.tokens import Principal

NAME = r"{name:[a-z0-9][a-z0-9-]{0,59}}"
KEY = r"{key:[a-z0-9][a-z0-9-]{0,59}}"


async def calendar_of(request: web.Request) -> Calendar:
    source = campaign_service.source_for(request.app[SETTINGS].campaigns_directory)
    return await asyncio.to_thread(source.load)  # files read and parsed off the event loop


def query_year(request: web.Request, now: datetime) -> int:
    raw = request.query.get("year")
    return campaign_service.local_year(now) if raw is None else campaign_service.check_year(raw)


@endpoint("viewer")
async def list_campaigns(request: web.Request, who: Principal) -> web.Response:
    now = datetime.now(UTC)
    return reply(
        await campaign_service.list_campaigns(
            request.app[DATABASE], await calendar_of(request), now, query_year(request, now)
        )
    )


@endpoint("viewer")
async def show(request: web.Request, who: Principal) -> web.Response:
    now = datetime.now(UTC)
    shown = await campaign_service.show(
        request.app[DATABASE],
        await calendar_of(request),
        request.match_info["name"],
        query_year(request, now),
        enabled_channels=enabled_channels(request),
        quiet_hours=request.app[SETTINGS].quiet_hours,
        now=now,
    )
    return reply(
        shown | await approval.approved(request.app[DATABASE], shown["name"], shown["year"])
    )


async def _switch(request: web.Request, who: Principal, enabled: bool) -> web.Response:
    payload = await body(request)
    if "year" not in payload:
        raise FieldError("year", 'is required: {"year": 2026}')
    result = await campaign_service.set_enabled(
        request.app[DATABASE],
        await calendar_of(request),
        request.match_info["name"],
        payload["year"],
        enabled,
        actor(who),
    )
    return reply(result)


@endpoint("secretariat")
async def enable(request: web.Request, who: Principal) -> web.Response:
    return await _switch(request, who, True)


@endpoint("secretariat")
async def disable(request: web.Request, who: Principal) -> web.Response:
    return await _switch(request, who, False)


@endpoint("secretariat")
async def approve(request: web.Request, who: Principal) -> web.Response:
    """The year's texts approved: its messages may go out (when the year is enabled)."""
    payload = await body(request)
    if "year" not in payload:
        raise FieldError("year", 'is required: {"year": 2026}')
    return reply(
        await approval.approve(
            request.app[DATABASE],
            await calendar_of(request),
            request.match_info["name"],
            payload["year"],
            actor(who),
            datetime.now(UTC),
            payload.get("revision"),
        )
    )


@endpoint("secretariat")
async def edit_texts(request: web.Request, who: Principal) -> web.Response:
    """{"year", "message", "texts": {"fr": …}}: the message's texts for that year."""
    payload = await body(request)
    for field in ("year", "message", "texts"):
        if field not in payload:
            raise FieldError(field, "is required")
    return reply(
        await approval.edit_texts(
            request.app[DATABASE],
            await calendar_of(request),
            request.match_info["name"],
            payload["message"],
            payload["year"],
            payload["texts"],
            actor(who),
            datetime.now(UTC),
            payload.get("revision"),
        )
    )


def _required(payload: dict[str, Any], *fields: str) -> None:
    for field in fields:
        if field not in payload:
            raise FieldError(field, "is required")


@endpoint("secretariat")
async def set_theme(request: web.Request, who: Principal) -> web.Response:
    """{"year", "theme": {"fr": …, "bm": …}}: the year's theme (all empty: the file's)."""
    payload = await body(request)
    _required(payload, "year", "theme")
    return reply(
        await year_editor.set_theme(
            request.app[DATABASE], await calendar_of(request), request.match_info["name"],
            payload["year"], payload["theme"], actor(who), datetime.now(UTC),
            payload.get("revision"),
        )
    )  # fmt: skip


@endpoint("secretariat")
async def move(request: web.Request, who: Principal) -> web.Response:
    """{"year", "message", "day": "YYYY-MM-DD"}: the message's day that year."""
    payload = await body(request)
    _required(payload, "year", "message", "day")
    return reply(
        await year_editor.move(
            request.app[DATABASE], await calendar_of(request), request.match_info["name"],
            payload["year"], str(payload["message"]), payload["day"], actor(who),
            datetime.now(UTC), payload.get("revision"),
        )
    )  # fmt: skip


@endpoint("secretariat")
async def add_message(request: web.Request, who: Principal) -> web.Response:
    """A message added to the year: key, title, day, send_time, audience, texts."""
    payload = await body(request)
    _required(payload, "year")
    result = await year_editor.add(
        request.app[DATABASE], await calendar_of(request), request.match_info["name"],
        payload["year"], payload, actor(who), datetime.now(UTC), payload.get("revision"),
    )  # fmt: skip
    return reply(result, status=201)


@endpoint("secretariat")
async def remove_message(request: web.Request, who: Principal) -> web.Response:
    """An added message taken out of the year again (?year=2026), while not sent."""
    now = datetime.now(UTC)
    return reply(
        await year_editor.remove(
            request.app[DATABASE], await calendar_of(request), request.match_info["name"],
            query_year(request, now), request.match_info["key"], actor(who), now,
            request.query.get("revision"),
        )
    )  # fmt: skip


@endpoint("viewer")
async def export_toml(request: web.Request, who: Principal) -> web.Response:
    """The campaign's file, with the year as edited in the database (?year=, default this
    one): the shipped format, so it loads back to the same year."""
    name, now = request.match_info["name"], datetime.now(UTC)
    year = query_year(request, now)
    campaign = await year_editor.load_year(
        request.app[DATABASE], await calendar_of(request), name, year
    )
    response = web.Response(
        text=campaign_export.to_toml(campaign, year), content_type="application/toml",
        charset="utf-8",
    )  # fmt: skip
    response.headers["Content-Disposition"] = f'attachment; filename="{campaign.name}.toml"'
    return response


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_post(f"{PREFIX}/campaigns/{NAME}/approve", approve)
    add.add_put(f"{PREFIX}/campaigns/{NAME}/texts", edit_texts)
    add.add_put(f"{PREFIX}/campaigns/{NAME}/theme", set_theme)
    add.add_post(f"{PREFIX}/campaigns/{NAME}/move", move)
    add.add_post(f"{PREFIX}/campaigns/{NAME}/messages", add_message)
    add.add_delete(f"{PREFIX}/campaigns/{NAME}/messages/{KEY}", remove_message)
    add.add_get(f"{PREFIX}/campaigns/{NAME}/export.toml", export_toml, allow_head=False)
    add.add_get(f"{PREFIX}/campaigns", list_campaigns, allow_head=False)
    add.add_get(f"{PREFIX}/campaigns/{NAME}", show, allow_head=False)
    add.add_post(f"{PREFIX}/campaigns/{NAME}/enable", enable)
    add.add_post(f"{PREFIX}/campaigns/{NAME}/disable", disable)
