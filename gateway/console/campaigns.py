"""Campaigns: every campaign of the calendar for a year, and a campaign's year: each message
with its date, audience (and how many it reaches), texts per language (the year's edited texts
over the file's) with their SMS size; the secretariat edits a message's texts for the year and
approves the year's texts (who and when shown and audited). A campaign message goes out only in
an enabled, approved year. Same code as the API (broadcasts.campaigns.service, .approval).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.vocabulary.errors import Invalid
from bot.vocabulary.i18n import LANGUAGES
from broadcasts.campaigns import approval
from broadcasts.campaigns import service as campaign_service
from broadcasts.campaigns.files import Calendar
from broadcasts.sms import sms_forms
from gateway.console.auth import page
from gateway.console.broadcasts import choices, enabled
from gateway.console.errors import field_messages
from gateway.console.i18n import C_
from gateway.console.keys import PREFIX, Who
from gateway.keys import DATABASE, SETTINGS

NAV = (C_("Campagnes"), "/campaigns", "viewer")
MISSING = C_("Cette campagne n'existe pas.")
NAME = r"{name:[a-z0-9][a-z0-9-]{0,59}}"
TEXT_ERRORS = {
    "texts.fr": C_("Le texte en français est obligatoire."),
}


async def _calendar(request: web.Request) -> Calendar:
    source = campaign_service.source_for(request.config_dict[SETTINGS].campaigns_directory)
    return await asyncio.to_thread(source.load)


def _year(request: web.Request) -> int:
    now = datetime.now(UTC)
    raw = request.query.get("year")
    return campaign_service.local_year(now) if raw is None else campaign_service.check_year(raw)


@page("viewer")
async def list_all(request: web.Request, who: Who) -> web.StreamResponse:
    now = datetime.now(UTC)
    result = await campaign_service.list_campaigns(
        request.config_dict[DATABASE], await _calendar(request), now, _year(request)
    )
    return aiohttp_jinja2.render_template("campaigns.html", request, {"result": result})


async def _year_page(
    request: web.Request, name: str, year: int, errors: dict[str, str], status: int = 200
) -> web.StreamResponse:
    database, settings = request.config_dict[DATABASE], request.config_dict[SETTINGS]
    cal = await _calendar(request)
    shown = await campaign_service.show(
        database, cal, name, year, enabled_channels=enabled(request),
        quiet_hours=settings.quiet_hours, now=datetime.now(UTC),
    )  # fmt: skip
    state = await approval.year_state(database, name, year)
    for message in shown["messages"]:
        edited = state["edited"].get(message["message"])
        message["edited"] = bool(edited)
        for language, text in (edited or {}).items():
            shipped = message["texts"].get(language, {})
            message["texts"][language] = {
                "text": text, "sms": sms_forms(text, shown["sms_gsm_safe"]), "edited": True,
                # An edit by the secretariat is no native speaker's review.
                "awaiting_review": shipped.get("awaiting_review", language != "fr"),
            }  # fmt: skip
    context = {
        "c": shown, "state": state, "errors": errors, "languages": LANGUAGES,
        "language_labels": choices()["languages"],
    }  # fmt: skip
    return aiohttp_jinja2.render_template("campaign.html", request, context, status=status)


@page("viewer", missing=MISSING)
async def show(request: web.Request, who: Who) -> web.StreamResponse:
    return await _year_page(request, request.match_info["name"], _year(request), {})


@page("secretariat", missing=MISSING)
async def change(request: web.Request, who: Who) -> web.StreamResponse:
    posted = await request.post()
    name, database = request.match_info["name"], request.config_dict[DATABASE]
    year = campaign_service.check_year(posted.get("year"))
    now, cal = datetime.now(UTC), await _calendar(request)
    verb = str(posted.get("verb", ""))
    if verb == "approve":
        await approval.approve(database, cal, name, year, who.actor, now)
    elif verb in ("enable", "disable"):
        await campaign_service.set_enabled(database, cal, name, year, verb == "enable", who.actor)
    elif verb == "texts":
        message = str(posted.get("message", ""))
        texts = {lang: str(posted.get(f"text_{lang}", "")) for lang in LANGUAGES}
        try:
            await approval.edit_texts(database, cal, name, message, year, texts, who.actor, now)
        except Invalid as error:
            marked = field_messages(error, TEXT_ERRORS, named=True)
            errors = {f"{message}.{field}": text for field, text in marked if field}
            return await _year_page(request, name, year, errors | {"form": marked[0][1]}, 400)
    raise web.HTTPFound(f"{PREFIX}/campaigns/{name}?year={year}")


@page("viewer", missing=MISSING)
async def export(request: web.Request, who: Who) -> web.StreamResponse:
    """The year's messages as the console shows them (edited texts included), as JSON."""
    name, year = request.match_info["name"], _year(request)
    cal = await _calendar(request)
    campaign = cal.get(name)
    state = await approval.year_state(request.config_dict[DATABASE], name, year)
    from broadcasts.campaigns import schedule

    data: dict[str, Any] = {
        "campaign": campaign.name, "year": year, "file": campaign.file,
        "approved_by": state["approved_by"], "approved_at": state["approved_at"],
        "messages": [
            {"message": o.key, "day": o.slot.day.isoformat(), "send_at": o.send_at.isoformat(),
             "texts": {**o.texts, **state["edited"].get(o.key, {})}}
            for o in schedule.occurrences(campaign, year)
        ],
    }  # fmt: skip
    response = web.Response(
        text=json.dumps(data, ensure_ascii=False, indent=2) + "\n",
        content_type="application/json", charset="utf-8",
    )  # fmt: skip
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{year}.json"'
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/campaigns", list_all, name="campaigns")
    app.router.add_get(f"/campaigns/{NAME}", show, name="campaign")
    app.router.add_post(f"/campaigns/{NAME}", change)
    app.router.add_get(f"/campaigns/{NAME}/export", export)
