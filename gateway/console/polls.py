"""Polls: the list with response and completion rates; a poll's results per question (counts,
percentages, breakdowns, charts), capacity scores per organisation, and the answer exports.

Everything comes from broadcasts.polls (results.compute, charts.question_chart) and the exports
from gateway.exports.answers, so the console shows and gives what the API does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from bot.vocabulary.reference import LANGUAGE_LABELS, ORGANISATION_KINDS, REGION_LABELS
from bot.vocabulary.small_cells import HIDDEN, shown
from broadcasts.polls import results
from broadcasts.polls import service as poll_service
from broadcasts.polls.charts import question_chart
from gateway.api.polls import SLUG
from gateway.console import charts, formats, poll_editor
from gateway.console.auth import page
from gateway.console.i18n import C_
from gateway.console.keys import Who
from gateway.exports.answers import stream_answers
from gateway.keys import CLOCK, DATABASE
from storage.types import utcnow

NAV = (C_("Sondages"), "/polls", "viewer")
MISSING = C_("Ce sondage n'existe pas.")
STATUS_LABELS = {
    "draft": C_("brouillon"),
    "scheduled": C_("programmé"),
    "launched": C_("lancé"),
    "closed": C_("clos"),
}
BREAKDOWNS = {
    "region": C_("Par région"),
    "organisation_kind": C_("Par type d'organisation"),
    "language": C_("Par langue"),
    "channel": C_("Par canal"),
}
DIMENSIONS = {
    "technical": C_("technique"),
    "organisational": C_("organisationnelle"),
    "operational": C_("opérationnelle"),
}
GROUP_LABELS = {
    "region": REGION_LABELS,
    "organisation_kind": dict(ORGANISATION_KINDS),
    "language": LANGUAGE_LABELS,
    "channel": {"sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram"},
}


def group_label(breakdown: str, key: str) -> str:
    if key == results.NONE:
        return C_("(non renseigné)")
    return GROUP_LABELS.get(breakdown, {}).get(key, key)


def _when(iso: str | None) -> str:
    return formats.when(iso)  # "1 déc. 2026, 12:30", on one line


def state_of(poll: dict[str, Any], now: datetime) -> str:
    """What the page says of a poll: a launched poll past its closing date is closed (closing
    is a date, not a status: answers after it are refused), a draft set to open is scheduled."""
    closes = poll.get("closes_at")
    if poll["status"] == "launched" and closes and datetime.fromisoformat(closes) <= now:
        return "closed"
    if poll["status"] == "draft" and poll.get("open_on_schedule"):
        return "scheduled"
    return str(poll["status"])


def _clock_now(request: web.Request) -> datetime:
    return request.config_dict.get(CLOCK, utcnow)()


@page("viewer")
async def list_polls(request: web.Request, who: Who) -> web.StreamResponse:
    database = request.config_dict[DATABASE]
    polls = await poll_service.list_polls(database)
    async with database.sessions() as session:
        connection = await session.connection()
        for poll in polls:  # a few polls, one small aggregate each: the results' own
            poll["rates"] = await results.participation(connection, poll["id"])
    now = _clock_now(request)
    for poll in polls:
        poll["state"] = state_of(poll, now)
    context = {"polls": polls[::-1], "statuses": STATUS_LABELS, "when": _when}
    return aiohttp_jinja2.render_template("polls.html", request, context)


def _scores(result: dict[str, Any]) -> dict[str, Any]:
    overall = result["scores"]["overall"]
    dimensions = sorted(
        set(overall).union(*(org["scores"] for org in result["scores"]["organisations"]))
    )
    pairs = [(DIMENSIONS.get(d, d), overall[d]["percent"]) for d in dimensions if d in overall]
    title = C_("Score moyen par dimension (%)")
    return {
        "dimensions": [(d, DIMENSIONS.get(d, d)) for d in dimensions],
        "overall": overall,
        "organisations": result["scores"]["organisations"],
        "chart": charts.percent_bars(title, pairs) if pairs else None,
    }


@page("viewer", missing=MISSING)
async def show_poll(request: web.Request, who: Who) -> web.StreamResponse:
    result = await results.compute(request.config_dict[DATABASE], request.match_info["slug"])
    for question in result["questions"]:
        if "options" in question and shown(question["answered"]) == HIDDEN:
            question["chart_hidden"] = True  # every bar would be hidden: no empty chart
        elif "options" in question and question["answered"]:
            svg = question_chart(question, standalone=False)
            question["chart"] = Markup(svg.decode("utf-8") if isinstance(svg, bytes) else svg)
    result["poll"]["state"] = state_of(result["poll"], _clock_now(request))
    context = {
        "result": result,
        "poll": result["poll"],
        "rates": result["rates"],
        "scores": _scores(result),
        "breakdowns": BREAKDOWNS,
        "group_label": group_label,
        "none": results.NONE,
        "dimension_labels": DIMENSIONS,
        "statuses": STATUS_LABELS,
        "when": _when,
    }
    return aiohttp_jinja2.render_template("poll.html", request, context)


@page("viewer", missing=MISSING)
async def export(request: web.Request, who: Who) -> web.StreamResponse:
    """The answers as the API gives them (viewers may, as there), in the audit log."""
    return await stream_answers(request, who.actor, request.match_info["slug"], request.query)


def add_routes(app: web.Application) -> None:
    poll_editor.add_routes(app)  # /polls/new before /polls/{slug}
    app.router.add_get("/polls", list_polls, name="polls")
    app.router.add_get(f"/polls/{SLUG}", show_poll, name="poll")
    app.router.add_get(f"/polls/{SLUG}/export", export, name="poll_export")
