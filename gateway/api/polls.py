"""Polls over the HTTP API: define, launch, close, read results, charts and exports.

GET  /api/v1/polls                                   viewer       every poll
POST /api/v1/polls                                   secretariat  define (JSON, or the TOML file)
GET  /api/v1/polls/{slug}                            viewer       the poll and its definition
POST /api/v1/polls/{slug}/launch, …/close            secretariat
GET  /api/v1/polls/{slug}/results                    viewer       counts, breakdowns, rates, scores
     (counts of 1-4 people as "< 5", as in the counts sheet and the charts)
GET  /api/v1/polls/{slug}/charts/{question}.svg      viewer       a choice question's bar chart
GET  /api/v1/polls/{slug}/export?format=csv|xlsx&layout=long|wide   viewer (audited)
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.vocabulary.errors import NotFound
from broadcasts.polls import charts, results
from broadcasts.polls import service as poll_service
from broadcasts.polls.parse import parse_poll, parse_poll_json
from gateway.api.common import (
    PREFIX,
    actor,
    definition_body,
    enabled_channels,
    endpoint,
    reply,
    wake_dispatcher,
)
from gateway.exports.answers import stream_answers
from gateway.keys import DATABASE
from storage.tokens import Principal

SLUG = r"{slug:[a-z0-9][a-z0-9-]{0,59}}"


@endpoint("viewer")
async def list_polls(request: web.Request, who: Principal) -> web.Response:
    return reply(await poll_service.list_polls(request.app[DATABASE]))


@endpoint("secretariat")
async def define(request: web.Request, who: Principal) -> web.Response:
    if request.content_type in ("application/toml", "text/plain"):
        poll = parse_poll(await request.text(), "body")
    else:
        poll = parse_poll_json(await definition_body(request))
    now = datetime.now(UTC)
    poll_id = await poll_service.save(request.app[DATABASE], poll, actor(who), now)
    return reply({"id": poll_id, "slug": poll.slug, "questions": len(poll.questions)}, 201)


@endpoint("viewer")
async def show(request: web.Request, who: Principal) -> web.Response:
    row = await poll_service.poll_row(request.app[DATABASE], request.match_info["slug"])
    return reply({**poll_service.summary(row), "definition": row.definition})


@endpoint("secretariat")
async def launch(request: web.Request, who: Principal) -> web.Response:
    launched = await poll_service.launch(
        request.app[DATABASE],
        request.match_info["slug"],
        actor(who),
        enabled_channels=enabled_channels(request),
        now=datetime.now(UTC),
    )
    wake_dispatcher(request)
    return reply(launched)


@endpoint("secretariat")
async def close(request: web.Request, who: Principal) -> web.Response:
    slug = request.match_info["slug"]
    await poll_service.close(request.app[DATABASE], slug, actor(who), datetime.now(UTC))
    return reply({"slug": slug, "closed": True})


@endpoint("viewer")
async def show_results(request: web.Request, who: Principal) -> web.Response:
    language = request.query.get("language", "fr")
    computed = await results.compute(request.app[DATABASE], request.match_info["slug"], language)
    return reply(results.shareable(computed))


@endpoint("viewer")
async def chart(request: web.Request, who: Principal) -> web.Response:
    result = await results.compute(request.app[DATABASE], request.match_info["slug"])
    key = request.match_info["question"]
    question = next((q for q in result["questions"] if q["key"] == key), None)
    if question is None or "options" not in question:
        raise NotFound(f"no choice question {key}", field="question")
    return web.Response(body=charts.question_chart(question), content_type="image/svg+xml")


@endpoint("viewer")
async def export_answers(request: web.Request, who: Principal) -> web.StreamResponse:
    return await stream_answers(request, actor(who), request.match_info["slug"], request.query)


def add_routes(app: web.Application) -> None:
    add, base = app.router, f"{PREFIX}/polls"
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
