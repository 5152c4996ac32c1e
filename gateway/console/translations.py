"""Traductions: every member-facing text with its French source, its placeholders, the SMS it
makes in the GSM-friendly spelling, and the text per language; a translator of the language (or
the secretariat) edits it and marks it reviewed. Saved texts take effect at the members' next
message, override the shipped catalog, are audited, and go in and out as .po files."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from bot.vocabulary.errors import FieldError, FieldErrors, Invalid
from bot.vocabulary.i18n import PLACEHOLDER
from bot.vocabulary.reference import LANGUAGE_LABELS
from bot.vocabulary.sms_text import cheapest_sms_text, sms_size
from gateway.api.auth import may
from gateway.console.auth import page
from gateway.console.errors import field_messages
from gateway.console.i18n import C_
from gateway.console.keys import PREFIX, Who
from gateway.console.text_uses import uses
from gateway.keys import DATABASE
from storage import translations as store

NAV = (C_("Traductions"), "/translations", "translator")
MAX_UPLOAD = 2 * 1024 * 1024
STATES = ("all", "awaiting", "reviewed", "edited")


def may_edit(who: Who, language: str) -> bool:
    """The secretariat and above edit every language; a translator, theirs."""
    return may(who.role, "secretariat") or (who.role == "translator" and language in who.languages)


def _sms(text: str) -> dict[str, Any]:
    size = sms_size(cheapest_sms_text(text))
    return {"segments": size.segments, "units": size.units, "encoding": size.encoding}


def _row(entry: store.Entry, used_in: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    french, translated = _sms(entry.msgid), _sms(entry.msgstr) if entry.msgstr else None
    changed = entry.overridden and entry.shipped != entry.msgstr
    return {
        "entry": entry,
        "anchor": store.anchor(entry.msgid),
        "placeholders": list(dict.fromkeys(PLACEHOLDER.findall(entry.msgid))),
        "uses": used_in.get(entry.msgid, ()),
        # What the console changed: the shipped text it replaces, when it differs.
        "changed_from": entry.shipped if changed else None,
        "french_sms": french,
        "sms": translated,
        # More SMS than the French: over the budget the prompts were written for.
        "over_budget": translated is not None and translated["segments"] > french["segments"],
    }


async def _render(
    request: web.Request,
    who: Who,
    language: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> web.StreamResponse:
    entries = await store.entries(request.config_dict[DATABASE], language)
    state = request.query.get("state", "all")
    query = request.query.get("q", "").strip().casefold()
    used_in = await asyncio.to_thread(uses)  # read from the code once, then cached
    rows = [_row(entry, used_in) for entry in entries]
    if state == "awaiting":
        rows = [row for row in rows if not row["entry"].reviewed]
    elif state == "reviewed":
        rows = [row for row in rows if row["entry"].reviewed]
    elif state == "edited":
        rows = [row for row in rows if row["entry"].overridden]
    if query:
        rows = [
            row for row in rows
            if query in row["entry"].msgid.casefold() or query in row["entry"].msgstr.casefold()
        ]  # fmt: skip
    context = {
        "language": language,
        "languages": [(code, LANGUAGE_LABELS[code]) for code in store.TRANSLATED],
        "rows": rows,
        "count": len(entries),
        "reviewed": sum(entry.reviewed for entry in entries),
        "state": state if state in STATES else "all",
        "q": request.query.get("q", ""),
        "editable": may_edit(who, language),
        "errors": errors or {},
        "values": values or {},
        "notice": notice,
    }
    return aiohttp_jinja2.render_template("translations.html", request, context, status=status)


@page("translator")
async def home(request: web.Request, who: Who) -> web.StreamResponse:
    first = who.languages[0] if who.languages else store.TRANSLATED[0]
    raise web.HTTPFound(f"{PREFIX}/translations/{first}")


def _language(request: web.Request) -> str:
    return store.check_language(request.match_info["language"])


@page("translator", missing=C_("Cette langue n'est pas traduite dans Benkadi."))
async def language_page(request: web.Request, who: Who) -> web.StreamResponse:
    return await _render(request, who, _language(request))


def _refused(who: Who, language: str) -> web.StreamResponse | None:
    if may_edit(who, language):
        return None
    raise web.HTTPForbidden(text=C_("Votre rôle ne permet pas de modifier cette langue."))


@page("translator", missing=C_("Cette langue n'est pas traduite dans Benkadi."))
async def save(request: web.Request, who: Who) -> web.StreamResponse:
    language = _language(request)
    _refused(who, language)
    form = await request.post()
    msgid, msgstr = str(form.get("msgid", "")), str(form.get("msgstr", ""))
    reviewed = form.get("reviewed") == "1"
    try:
        await store.save(
            request.config_dict[DATABASE], language, msgid, msgstr, reviewed, who.actor
        )
    except FieldError as error:
        text = " ".join(message for _field, message in field_messages(error))
        return await _render(
            request, who, language, status=400, errors={msgid: text}, values={msgid: msgstr}
        )
    back = f"{PREFIX}/translations/{language}"
    if request.query_string:
        back += f"?{request.query_string}"
    raise web.HTTPFound(f"{back}#t-{quote(store.anchor(msgid))}")


@page("translator", missing=C_("Cette langue n'est pas traduite dans Benkadi."))
async def export(request: web.Request, who: Who) -> web.StreamResponse:
    language = _language(request)
    data = await store.export_po(request.config_dict[DATABASE], language)
    return web.Response(
        body=data,
        content_type="text/x-gettext-translation",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="benkadi-{language}.po"'},
    )


@page("translator", missing=C_("Cette langue n'est pas traduite dans Benkadi."))
async def import_(request: web.Request, who: Who) -> web.StreamResponse:
    language = _language(request)
    _refused(who, language)
    form = await request.post()
    upload = form.get("file")
    data = upload.file.read(MAX_UPLOAD + 1) if isinstance(upload, web.FileField) else b""
    if not data or len(data) > MAX_UPLOAD:
        message = C_("Choisissez un fichier .po (2 Mo au plus).")
        return await _render(request, who, language, status=400, errors={"file": message})
    try:
        changed = await store.import_po(request.config_dict[DATABASE], language, data, who.actor)
    except Invalid as error:
        lines = [
            f"{C_('ligne')} {line} : {e.message}"
            if (line := getattr(e, "line", None))
            else e.message
            for e in _each(error)
        ]
        return await _render(request, who, language, status=400, errors={"file": " · ".join(lines)})
    notice = C_("Fichier importé : {count} texte(s) modifié(s).").format(count=changed)
    return await _render(request, who, language, notice=notice)


def _each(error: Invalid) -> tuple[Invalid, ...]:
    return error.errors if isinstance(error, FieldErrors) else (error,)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/translations", home, name="translations")
    app.router.add_get(r"/translations/{language:[^/.]+}.po", export)  # before the page's
    app.router.add_get("/translations/{language}", language_page)
    app.router.add_post("/translations/{language}", save)
    app.router.add_post("/translations/{language}/import", import_)
