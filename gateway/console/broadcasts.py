"""Broadcasts: the list, compose with the preview, send or schedule, follow delivery live.

The form becomes the same JSON draft the API takes and goes through the same parse_draft and
broadcasts.service, so the console refuses what the API refuses, naming the same field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from bot.vocabulary.errors import Invalid
from bot.vocabulary.i18n import LANGUAGES
from bot.vocabulary.reference import (
    AGE_BANDS,
    LANGUAGE_LABELS,
    ORGANISATION_KINDS,
    REGION_LABELS,
    THEME_LABELS,
)
from broadcasts import service
from broadcasts.model import CHANNELS, NEXT_CHANNEL, REFUSE, parse_draft
from gateway.channels.base import enabled as enabled_names
from gateway.console.auth import page
from gateway.console.dashboard import delivery
from gateway.console.errors import field_messages
from gateway.console.i18n import C_, LABELS, label
from gateway.console.keys import PREFIX, Who
from gateway.keys import CHANNELS as ENABLED
from gateway.keys import DATABASE, DISPATCHER, SETTINGS

NAV = (C_("Diffusions"), "/broadcasts", "viewer")
MISSING = C_("Cette diffusion n'existe pas.")
ID = r"{id:[0-9]{1,9}}"
# Form field → draft field, so an error on "texts.fr" marks the French text box.
AUDIENCE_FIELDS = (
    "regions",
    "themes",
    "languages",
    "organisation_kinds",
    "channels",
    "sexes",
    "age_bands",
)
FIELD_LABELS = {
    "texts.fr": C_("Le texte en français est obligatoire (au plus 1 600 caractères)."),
    "send_at": C_("Date d'envoi invalide ou passée (AAAA-MM-JJ HH:MM, heure de Bamako)."),
    "title": C_("Titre trop long (200 caractères au plus)."),
}


def choices() -> dict[str, Any]:
    return {
        "regions": REGION_LABELS,
        "themes": THEME_LABELS,
        "languages": LANGUAGE_LABELS,
        "organisation_kinds": dict(ORGANISATION_KINDS),
        "channels": {"telegram": "Telegram", "whatsapp": "WhatsApp", "sms": "SMS"},
        "sexes": {"f": C_("Femmes"), "m": C_("Hommes")},
        "age_bands": {key: label for key, label in AGE_BANDS},
        "text_languages": LANGUAGES,
    }


def payload_from(form: MultiDictProxy) -> dict[str, Any]:
    """The API's JSON draft from the form's fields."""
    texts = {language: str(form.get(f"text_{language}", "")) for language in LANGUAGES}
    audience: dict[str, Any] = {key: list(form.getall(key, [])) for key in AUDIENCE_FIELDS}
    if form.get("registered_since"):
        audience["registered_since"] = str(form["registered_since"])
    payload: dict[str, Any] = {
        "title": str(form.get("title", "")).strip() or None,
        "texts": {key: value for key, value in texts.items() if value.strip() or key == "fr"},
        "audience": {key: value for key, value in audience.items() if value},
        "send_at": str(form.get("send_at", "")).strip().replace("T", " ") or None,
        "sms_gsm_safe": form.get("sms_gsm_safe") == "on",
        "fallback": form.get("fallback") == "on",
    }
    # WhatsApp outside the 24 h window: a template per language, its {{1}} the alert's text.
    templates = {
        language: name
        for language in LANGUAGES
        if (name := str(form.get(f"whatsapp_template_{language}", "")).strip())
    }
    next_channel = form.get("outside_window") == NEXT_CHANNEL
    if templates or next_channel:
        payload["whatsapp"] = {
            "templates": templates,
            "variables": {"1": "text"} if templates else {},
            "outside_window": NEXT_CHANNEL if next_channel else REFUSE,
        }
    return payload


def form_field(draft_field: str | None) -> str:
    """The form's input for a draft's field: "texts.fr" → "text_fr", "audience.regions" → …"""
    return (
        (draft_field or "form")
        .replace("texts.", "text_")
        .replace("audience.", "")
        .replace("whatsapp.templates.", "whatsapp_template_")
    )


def enabled(request: web.Request) -> list[str]:
    channels = request.config_dict[ENABLED]
    return enabled_names(channels)  # SMS once it has a route


def _compose(request: web.Request, form: Any, **extra: Any) -> web.StreamResponse:
    selected = (
        {key: list(form.getall(key, [])) for key in AUDIENCE_FIELDS}
        if hasattr(form, "getall")
        else {}
    )
    context = {
        "form": form, "selected": selected, "choices": choices(), "errors": {}, "preview": None,
        **extra,
    }  # fmt: skip
    status = 400 if context["errors"] else 200
    return aiohttp_jinja2.render_template("broadcast_new.html", request, context, status=status)


@page("viewer")
async def list_all(request: web.Request, who: Who) -> web.StreamResponse:
    rows = [delivery(b) for b in await service.list_broadcasts(request.config_dict[DATABASE], 50)]
    return aiohttp_jinja2.render_template("broadcasts.html", request, {"rows": rows})


@page("secretariat")
async def new(request: web.Request, who: Who) -> web.StreamResponse:
    return _compose(request, {"sms_gsm_safe": "on", "fallback": "on"})


@page("secretariat")
async def compose(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    database = request.config_dict[DATABASE]
    action = form.get("action", "preview")
    try:
        known = await service.known_organisations(database)
        draft = parse_draft(payload_from(form), datetime.now(UTC), known)
        if action == "send" and draft.send_at is None:  # refused before anything is made
            await service.check_templates(database, draft, enabled_channels=enabled(request))
    except Invalid as error:  # the form again, each bad field marked, the first above it too
        marked = field_messages(error, FIELD_LABELS, named=True)
        errors = {form_field(field): text for field, text in marked} | {"form": marked[0][1]}
        return _compose(request, form, errors=errors)
    if action == "preview":
        settings = request.config_dict[SETTINGS]
        result = await service.preview(
            database,
            draft,
            enabled_channels=enabled(request),
            price_per_segment=settings.sms_price_per_segment,
            currency=settings.currency,
        )
        return _compose(request, form, preview=result)
    broadcast_id = await service.create(database, draft, who.actor)
    if action == "send" and draft.send_at is None:
        await service.send_now(database, broadcast_id, who.actor, enabled_channels=enabled(request))
        _wake(request)
    raise web.HTTPFound(f"{PREFIX}/broadcasts/{broadcast_id}")


def _wake(request: web.Request) -> None:
    dispatcher = request.config_dict.get(DISPATCHER)
    if dispatcher is not None:
        dispatcher.wake()


async def _status(request: web.Request) -> dict[str, Any]:
    database, broadcast_id = request.config_dict[DATABASE], int(request.match_info["id"])
    return delivery(await service.get_status(database, broadcast_id))


@page("viewer", missing=MISSING)
async def show(request: web.Request, who: Who) -> web.StreamResponse:
    status = await _status(request)
    context = {"b": status, "channels": CHANNELS}
    return aiohttp_jinja2.render_template("broadcast.html", request, context)


@page("viewer", missing=MISSING)
async def status_json(request: web.Request, who: Who) -> web.StreamResponse:
    """For the live view: the counts, polled every few seconds by a small script."""
    status = await _status(request)
    keys = ("id", "status", "recipients", "totals", "counts", "made", "reached", "failed", "rate")
    return web.json_response(
        {key: status.get(key) for key in keys}
        | {"label": label(status["status"]), "labels": {key: label(key) for key in LABELS}}
    )


@page("secretariat", missing=MISSING)
async def send(request: web.Request, who: Who) -> web.StreamResponse:
    return await _act(request, who, "send")


@page("secretariat", missing=MISSING)
async def cancel(request: web.Request, who: Who) -> web.StreamResponse:
    return await _act(request, who, "cancel")


async def _act(request: web.Request, who: Who, verb: str) -> web.StreamResponse:
    database, broadcast_id = request.config_dict[DATABASE], int(request.match_info["id"])
    if verb == "send":
        await service.send_now(database, broadcast_id, who.actor, enabled_channels=enabled(request))
        _wake(request)
    else:
        await service.cancel(database, broadcast_id, who.actor)
    raise web.HTTPFound(f"{PREFIX}/broadcasts/{broadcast_id}")


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/broadcasts", list_all, name="broadcasts")
    add.add_get("/broadcasts/new", new, name="broadcast_new")
    add.add_post("/broadcasts/new", compose)
    add.add_get(f"/broadcasts/{ID}", show, name="broadcast")
    add.add_get(f"/broadcasts/{ID}/status.json", status_json)
    add.add_post(f"/broadcasts/{ID}/send", send)
    add.add_post(f"/broadcasts/{ID}/cancel", cancel)
