"""Polls over the HTTP API: define, launch, close, read results, charts and exports.

GET  /api/v1/polls                                   viewer       every poll
POST /api/v1/polls                                   secretariat  define (JSON, or the TOML file)
GET  /api/v1/polls/{slug}                            viewer       the poll and its definition
POST /api/v1/polls/{slug}/launch, …/close            secretariat
GET  /api/v1/polls/{slug}/results                    viewer       counts, breakdowns, rates, scores
GET  /api/v1/polls/{slug}/charts/{question}.svg      viewer       a choice question's bar chart
GET  /api/v1/polls/{slug}/export?format=csv|xlsx&layout=long|wide   viewer (audited)
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from broadcasts.polls import charts, export, results
from broadcasts.polls import service as poll_service
from broadcasts.polls.model import Poll
from broadcasts.polls.parse import PollError, parse_poll, parse_poll_json
from gateway.api import common as api
from gateway.api.auth import json_error
from gateway.keys import DATABASE
from storage import audit
from storage.tabular import FORMATS, write_tables
from storage.tokens import Principal

SLUG = r"{slug:[a-z0-9][a-z0-9-]{0,59}}"
Handler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]


def endpoint(role: str) -> Callable[[Handler], Callable[[web.Request], Awaitable[Any]]]:
    """api.endpoint, and the polls' own errors: 400 (with file, line, field), 404, 409."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        @functools.wraps(handler)
        async def run(request: web.Request, who: Principal) -> web.StreamResponse:
            try:
                return await handler(request, who)
            except PollError as error:
                where = {"file": error.file, "line": error.line, "field": error.field}
                raise json_error(web.HTTPBadRequest, str(error), **where) from None
            except poll_service.PollNotFound as error:
                raise json_error(web.HTTPNotFound, str(error), field="slug") from None
            except poll_service.PollStateError as error:
                raise json_error(web.HTTPConflict, str(error)) from None

        return api.endpoint(role)(run)

    return wrap


@endpoint("viewer")
async def list_polls(request: web.Request, who: Principal) -> web.Response:
    return api.reply(await poll_service.list_polls(request.app[DATABASE]))


@endpoint("secretariat")
async def define(request: web.Request, who: Principal) -> web.Response:
    if request.content_type in ("application/toml", "text/plain"):
        poll = parse_poll(await request.text(), "body")
    else:
        poll = parse_poll_json(await api.body(request))
    now = datetime.now(UTC)
    poll_id = await poll_service.save(request.app[DATABASE], poll, api.actor(who), now)
    return api.reply({"id": poll_id, "slug": poll.slug, "questions": len(poll.questions)}, 201)


@endpoint("viewer")
async def show(request: web.Request, who: Principal) -> web.Response:
    row = await poll_service.poll_row(request.app[DATABASE], request.match_info["slug"])
    return api.reply({**poll_service.summary(row), "definition": row.definition})


@endpoint("secretariat")
async def launch(request: web.Request, who: Principal) -> web.Response:
    launched = await poll_service.launch(
        request.app[DATABASE],
        request.match_info["slug"],
        api.actor(who),
        enabled_channels=api.enabled_channels(request),
        now=datetime.now(UTC),
    )
    api.wake_dispatcher(request)
    return api.reply(launched)


@endpoint("secretariat")
async def close(request: web.Request, who: Principal) -> web.Response:
    slug = request.match_info["slug"]
    await poll_service.close(request.app[DATABASE], slug, api.actor(who), datetime.now(UTC))
    return api.reply({"slug": slug, "closed": True})


@endpoint("viewer")
async def show_results(request: web.Request, who: Principal) -> web.Response:
    language = request.query.get("language", "fr")
    return api.reply(
        await results.compute(request.app[DATABASE], request.match_info["slug"], language)
    )


@endpoint("viewer")
async def chart(request: web.Request, who: Principal) -> web.Response:
    result = await results.compute(request.app[DATABASE], request.match_info["slug"])
    key = request.match_info["question"]
    question = next((q for q in result["questions"] if q["key"] == key), None)
    if question is None or "options" not in question:
        raise json_error(web.HTTPNotFound, f"no choice question {key}", field="question")
    return web.Response(body=charts.question_chart(question), content_type="image/svg+xml")


class ExportChoiceError(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field, self.message = field_name, message


async def stream_answers(
    request: web.Request, actor: str, slug: str, query: Mapping[str, Any]
) -> web.StreamResponse:
    """Audit, then stream the answers as an attachment (the API and the console share this).
    No phone number in it (member ids only), so a viewer's export needs no masking."""
    database = request.config_dict[DATABASE]  # the console is a sub-application
    format_ = query.get("format", "csv")
    layout = query.get("layout", "long")
    if format_ not in FORMATS:
        raise ExportChoiceError("format", "must be csv or xlsx")
    if layout not in export.LAYOUTS:
        raise ExportChoiceError("layout", "must be long or wide")
    row = await poll_service.poll_row(database, slug)
    poll = Poll.from_json(row.definition)
    tables = [export.answer_table(database, row.id, poll, layout)]
    if format_ == "xlsx":
        tables += export.summary_tables(await results.compute(database, slug))
    async with database.transaction() as connection:
        await audit.record(
            connection,
            actor,
            "poll.export",
            poll_service.target(slug),
            {"format": format_, "layout": layout},
        )
    content_type, extension = FORMATS[format_]
    response = web.StreamResponse(
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{slug}-{layout}.{extension}"',
        }
    )
    await response.prepare(request)
    await write_tables(format_, tables, response.write)
    await response.write_eof()
    return response


@endpoint("viewer")
async def export_answers(request: web.Request, who: Principal) -> web.StreamResponse:
    try:
        return await stream_answers(
            request, api.actor(who), request.match_info["slug"], request.query
        )
    except ExportChoiceError as error:
        raise json_error(web.HTTPBadRequest, error.message, field=error.field) from None


def add_routes(app: web.Application) -> None:
    add, base = app.router, f"{api.PREFIX}/polls"
    add.add_get(base, list_polls, allow_head=False)
    add.add_post(base, define)
    add.add_get(f"{base}/{SLUG}", show, allow_head=False)
    add.add_post(f"{base}/{SLUG}/launch", launch)
    add.add_post(f"{base}/{SLUG}/close", close)
    add.add_get(f"{base}/{SLUG}/results", show_results, allow_head=False)
    add.add_get(
        f"{base}/{SLUG}/charts/{{question:[a-z0-9_-]{{1,40}}}}.svg", chart, allow_head=False
    )
    add.add_get(f"{base}/{SLUG}/export", export_answers, allow_head=False)
