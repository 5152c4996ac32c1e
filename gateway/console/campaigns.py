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

from bot.vocabulary.errors import FieldErrors, Invalid
from bot.vocabulary.i18n import LANGUAGES
from broadcasts.campaigns import approval, schedule, year_editor
from broadcasts.campaigns import export as campaign_export
from broadcasts.campaigns import service as campaign_service
from broadcasts.campaigns.edits import YearFieldError
from broadcasts.campaigns.files import Calendar
from broadcasts.campaigns.year_editor import MessageMade
from broadcasts.sms import sms_forms
from gateway.console.auth import page
from gateway.console.broadcasts import choices, enabled
from gateway.console.errors import field_messages
from gateway.console.i18n import C_
from gateway.console.keys import PREFIX, Who
from gateway.keys import DATABASE, SETTINGS
from storage.campaign_edits import CampaignYearChanged

NAV = (C_("Campagnes"), "/campaigns", "viewer")
MISSING = C_("Cette campagne n'existe pas.")
NAME = r"{name:[a-z0-9][a-z0-9-]{0,59}}"
CHANGED = C_(
    "Le calendrier de cette année a été modifié entre-temps par quelqu'un d'autre : rien n'a "
    "été enregistré. Voici sa version actuelle ; votre saisie est gardée ci-dessous."
)
MADE = C_("Ce message est déjà parti : il ne peut plus être déplacé ni retiré.")
# What each rule broken says in French (broadcasts.campaigns.edits.YearFieldError.kind).
KINDS = {
    "french": C_("Le texte en français est obligatoire."),
    "french_theme": C_("Le thème en français est obligatoire quand un thème est donné."),
    "too_long": C_("Ce texte dépasse {segments} SMS : raccourcissez-le."),
    "placeholder": C_(
        "{name} n'est pas remplacé dans un texte modifié (il part tel quel) : écrivez l'année "
        "ou le thème en toutes lettres."
    ),
    "theme_too_long": C_(
        "Avec ce thème, le texte du message « {key} » dépasse {segments} SMS : "
        "raccourcissez le thème ou ce texte."
    ),
    "theme_line": C_("Le thème tient sur une ligne, {most} caractères au plus."),
    "language": C_("Langue inconnue."),
    "shape": C_("Cette valeur n'est pas valable."),
    "day": C_("Donnez une date (jour, mois, année)."),
    "day_year": C_("Choisissez un jour de l'année {year} (le 29 février n'est pas possible)."),
    "day_past": C_("Ce jour est passé : choisissez aujourd'hui ({today}) ou plus tard."),
    "send_time": C_("Donnez une heure de Bamako, HH:MM."),
    "key": C_("Identifiant : lettres minuscules, chiffres et tirets ({most} au plus)."),
    "key_taken": C_("Un message de l'année porte déjà cet identifiant : choisissez-en un autre."),
    "title": C_("Le titre a {most} caractères au plus."),
    "audience": C_("Ce filtre du public n'est pas valable."),
    "message": C_("Ce message n'est pas dans l'année."),
    "not_added": C_("Seul un message ajouté pour l'année peut être retiré."),
}
VERBS = ("approve", "enable", "disable", "texts", "theme", "move", "add", "remove")


async def _calendar(request: web.Request) -> Calendar:
    source = campaign_service.source_for(request.config_dict[SETTINGS].campaigns_directory)
    return await asyncio.to_thread(source.load)


def _year(request: web.Request) -> int:
    now = datetime.now(UTC)
    raw = request.query.get("year")
    return campaign_service.local_year(now) if raw is None else campaign_service.check_year(raw)


def french(error: Invalid) -> list[tuple[str | None, str]]:
    """(field, French text) for every bad field of a refusal."""
    found = error.errors if isinstance(error, FieldErrors) else (error,)
    pairs: list[tuple[str | None, str]] = []
    for each in found:
        if isinstance(each, YearFieldError) and each.kind in KINDS:
            pairs.append((each.field, KINDS[each.kind].format(**each.values)))
        elif each.field == "texts.fr" and "required" in each.message:
            pairs.append((each.field, KINDS["french"]))
        else:
            pairs.extend(field_messages(each, named=True))
    return pairs


@page("viewer")
async def list_all(request: web.Request, who: Who) -> web.StreamResponse:
    now = datetime.now(UTC)
    result = await campaign_service.list_campaigns(
        request.config_dict[DATABASE], await _calendar(request), now, _year(request)
    )
    return aiohttp_jinja2.render_template("campaigns.html", request, {"result": result})


async def _year_page(
    request: web.Request,
    name: str,
    year: int,
    errors: dict[str, str],
    status: int = 200,
    posted: dict[str, Any] | None = None,
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
        message["edited"] = bool(edited) and not message["added"]
        for language, text in (edited or {}).items():
            shipped = message["texts"].get(language, {})
            message["texts"][language] = {
                "text": text, "sms": sms_forms(text, shown["sms_gsm_safe"]), "edited": True,
                # An edit by the secretariat is no native speaker's review.
                "awaiting_review": shipped.get("awaiting_review", language != "fr"),
            }  # fmt: skip
    posted = posted or {}
    context = {
        "c": shown, "state": state, "errors": errors, "languages": LANGUAGES,
        "language_labels": choices()["languages"], "choices": choices(),
        "audience_fields": AUDIENCE_BOXES, "posted": posted,
        # What a form shows: what was typed in it when it came back, else what is saved.
        "typed": lambda form, field, saved="": (
            posted.get(field, saved) if posted.get("form") == form else saved
        ),
        "checked": lambda field, value: value in posted.get(field, []),
        "today": datetime.now(UTC).date().isoformat(),
    }  # fmt: skip
    return aiohttp_jinja2.render_template("campaign.html", request, context, status=status)


AUDIENCE_BOXES = (
    ("regions", C_("Régions")),
    ("themes", C_("Thèmes")),
    ("languages", C_("Langues")),
    ("organisation_kinds", C_("Types d'organisation")),
    ("channels", C_("Canaux")),
)


@page("viewer", missing=MISSING)
async def show(request: web.Request, who: Who) -> web.StreamResponse:
    return await _year_page(request, request.match_info["name"], _year(request), {})


def _posted(form: Any) -> dict[str, Any]:
    kept: dict[str, Any] = {key: str(form.get(key, "")) for key in set(form.keys())}
    for field, _label in AUDIENCE_BOXES:
        kept[field] = [str(value) for value in form.getall(field, [])]
    return kept


async def _apply(
    request: web.Request, who: Who, verb: str, name: str, year: int, form: Any
) -> None:
    database, now, cal = request.config_dict[DATABASE], datetime.now(UTC), await _calendar(request)
    revision, message = form.get("revision"), str(form.get("message", ""))
    texts = {lang: str(form.get(f"text_{lang}", "")) for lang in LANGUAGES}
    if verb == "approve":
        await approval.approve(database, cal, name, year, who.actor, now, revision)
    elif verb in ("enable", "disable"):
        await campaign_service.set_enabled(database, cal, name, year, verb == "enable", who.actor)
    elif verb == "texts":
        await approval.edit_texts(
            database, cal, name, message, year, texts, who.actor, now, revision
        )
    elif verb == "theme":
        theme = {lang: str(form.get(f"theme_{lang}", "")) for lang in LANGUAGES}
        await year_editor.set_theme(database, cal, name, year, theme, who.actor, now, revision)
    elif verb == "move":
        await year_editor.move(
            database, cal, name, year, message, form.get("day", ""), who.actor, now, revision
        )
    elif verb == "add":
        audience = {
            field: list(form.getall(field, []))
            for field, _label in AUDIENCE_BOXES
            if form.getall(field, [])
        }
        payload = {
            "key": form.get("key", ""), "title": form.get("title", ""),
            "day": form.get("day", ""), "send_time": form.get("send_time", ""),
            "audience": audience, "texts": texts,
        }  # fmt: skip
        await year_editor.add(database, cal, name, year, payload, who.actor, now, revision)
    elif verb == "remove":
        await year_editor.remove(database, cal, name, year, message, who.actor, now, revision)


@page("secretariat", missing=MISSING)
async def change(request: web.Request, who: Who) -> web.StreamResponse:
    """One change to the year; a refusal shows the page again with the field marked (in
    French) and what was typed kept, nothing saved."""
    posted = await request.post()
    name = request.match_info["name"]
    year = campaign_service.check_year(posted.get("year"))
    verb = str(posted.get("verb", ""))
    if verb not in VERBS:
        raise web.HTTPBadRequest(text=C_("Action inconnue."))
    # The form a refusal belongs to, so the page marks its fields (one per message).
    form = verb if verb in ("theme", "add") else f"{verb}-{posted.get('message', '')}"
    kept = _posted(posted) | {"form": form}
    try:
        await _apply(request, who, verb, name, year, posted)
    except Invalid as error:
        marked = french(error)
        errors = {f"{form}.{field}": text for field, text in marked if field}
        return await _year_page(request, name, year, errors | {"form": marked[0][1]}, 400, kept)
    except CampaignYearChanged:
        return await _year_page(request, name, year, {"form": CHANGED}, 409, kept)
    except MessageMade:
        return await _year_page(request, name, year, {"form": MADE}, 409, kept)
    raise web.HTTPFound(f"{PREFIX}/campaigns/{name}?year={year}")


@page("viewer", missing=MISSING)
async def export(request: web.Request, who: Who) -> web.StreamResponse:
    """The year's messages as the console shows them (edited texts included), as JSON."""
    name, year = request.match_info["name"], _year(request)
    cal = await _calendar(request)
    campaign = await year_editor.load_year(request.config_dict[DATABASE], cal, name, year)
    state = await approval.year_state(request.config_dict[DATABASE], name, year)
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


@page("viewer", missing=MISSING)
async def export_toml(request: web.Request, who: Who) -> web.StreamResponse:
    """The campaign's file with the year as edited: the shipped format, it loads back to the
    same year (put it in the campaigns directory as NAME.toml to make it the default)."""
    name, year = request.match_info["name"], _year(request)
    cal = await _calendar(request)
    campaign = await year_editor.load_year(request.config_dict[DATABASE], cal, name, year)
    response = web.Response(
        text=campaign_export.to_toml(campaign, year), content_type="application/toml",
        charset="utf-8",
    )  # fmt: skip
    response.headers["Content-Disposition"] = f'attachment; filename="{campaign.name}.toml"'
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/campaigns", list_all, name="campaigns")
    app.router.add_get(f"/campaigns/{NAME}", show, name="campaign")
    app.router.add_post(f"/campaigns/{NAME}", change)
    app.router.add_get(f"/campaigns/{NAME}/export", export)
    app.router.add_get(f"/campaigns/{NAME}/export.toml", export_toml)
