"""Recurring messages: each schedule ("chaque mois le 25 à 09:00"), on or off (the monthly
report reminder ships off), its texts per language, its next occurrence and the last ones, each
an ordinary broadcast (linked) or skipped when nobody qualified. The secretariat switches it
on or off and moves its day and time; a day or time that would never fire comes back marked.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp_jinja2
from aiohttp import web

from bot.vocabulary.errors import FieldError
from broadcasts import recurring
from gateway.console.auth import page
from gateway.console.broadcasts import choices
from gateway.console.i18n import C_
from gateway.console.keys import PREFIX, Who
from gateway.keys import DATABASE

NAV = (C_("Messages récurrents"), "/recurring", "viewer")
FIELD_TEXTS = {
    "day": C_("Un jour du mois, de 1 à 31 (sinon il ne partirait jamais)."),
    "time": C_("Une heure, HH:MM (heure de Bamako)."),
}


async def _render(
    request: web.Request,
    errors: dict[str, str],
    status: int = 200,
    typed: dict[str, dict[str, str]] | None = None,
) -> web.StreamResponse:
    """The page; `typed`: what was typed in a refused form (key → day, time), shown again."""
    schedules = await recurring.overview(request.config_dict[DATABASE], datetime.now(UTC))
    context = {
        "schedules": schedules,
        "errors": errors,
        "typed": typed or {},
        "languages": choices()["languages"],
    }
    return aiohttp_jinja2.render_template("recurring.html", request, context, status=status)


@page("viewer")
async def show(request: web.Request, who: Who) -> web.StreamResponse:
    return await _render(request, {})


@page("secretariat")
async def change(request: web.Request, who: Who) -> web.StreamResponse:
    posted = await request.post()
    key = request.match_info["key"]
    verb = str(posted.get("verb", ""))
    try:
        if verb in ("enable", "disable"):
            await recurring.change(
                request.config_dict[DATABASE], key, who.actor, datetime.now(UTC),
                enabled=verb == "enable",
            )  # fmt: skip
        else:
            await recurring.change(
                request.config_dict[DATABASE], key, who.actor, datetime.now(UTC),
                day=str(posted.get("day", "")), time=str(posted.get("time", "")),
            )  # fmt: skip
    except FieldError as error:
        field = error.field or "day"
        typed = {key: {name: str(posted.get(name, "")) for name in ("day", "time")}}
        return await _render(
            request, {f"{key}_{field}": FIELD_TEXTS.get(field, error.message)}, 400, typed
        )
    raise web.HTTPFound(f"{PREFIX}/recurring")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/recurring", show, name="recurring")
    app.router.add_post("/recurring/{key:[a-z0-9-]{1,60}}", change)
