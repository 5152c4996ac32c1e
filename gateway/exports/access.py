"""An access request's copy (storage/access_export.py) as a readable HTML page and as JSON.

The page is for the person who asked: plain headings in their language (the member's
language, through the catalogs in locales/, as every text a member reads; French if it has no
language), every value escaped, no script, no outside resource, so it opens anywhere, offline,
and prints. The field names under the headings are the JSON's keys, the same in every
language, so that the page and the JSON can be read side by side.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from bot.vocabulary.i18n import N_, _, use_locale

SECTIONS = (
    ("profile", N_("Profil")),
    ("addresses", N_("Adresses (numéros, comptes)")),
    ("consents", N_("Consentement et désabonnements")),
    ("messages_received", N_("Messages reçus de vous (encore conservés)")),
    ("messages_sent", N_("Messages envoyés à vous (encore conservés)")),
    ("unfinished_dialogues", N_("Échanges non terminés")),
    ("poll_invitations", N_("Sondages auxquels vous avez été invité(e)")),
    ("poll_answers", N_("Vos réponses aux sondages")),
    ("reports", N_("Rapports d'activité envoyés")),
    ("audit_entries", N_("Actions du secrétariat vous concernant")),
)


def as_json(held: dict[str, Any]) -> str:
    return json.dumps(held, ensure_ascii=False, indent=2, default=str)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | dict):
        return escape(json.dumps(value, ensure_ascii=False, default=str))
    return escape(str(value))


def _table(value: Any) -> str:
    if isinstance(value, dict):
        rows = "".join(
            f"<tr><th>{escape(str(key))}</th><td>{_nested(item)}</td></tr>"
            for key, item in value.items()
        )
        return f"<table>{rows}</table>"
    if not value:
        return "<p>" + escape(_("Rien.")) + "</p>"
    keys = list(value[0])
    head = "".join(f"<th>{escape(str(key))}</th>" for key in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(key))}</td>" for key in keys) + "</tr>"
        for row in value
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _nested(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return _table(value)
    return _cell(value)


def language_of(held: dict[str, Any]) -> str:
    """The member's language (their profile's), the one their copy is written in."""
    return (held.get("profile") or {}).get("language") or "fr"


def as_html(held: dict[str, Any], generated_at: str, language: str | None = None) -> str:
    """The copy as a page, in `language` (by default the member's own)."""
    with use_locale(language or language_of(held)) as shown:
        member = held["member_id"]
        parts = [
            f"<!doctype html><html lang='{shown}'><head><meta charset='utf-8'>",
            "<title>" + escape(_("Données détenues — membre {id}").format(id=member)) + "</title>",
            "<style>body{font-family:sans-serif;margin:2em;max-width:70em}"
            "table{border-collapse:collapse;margin:.5em 0 1.5em}"
            "th,td{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}"
            "</style></head><body>",
            "<h1>"
            + escape(_("Données détenues par Benkadi sur le membre {id}").format(id=member))
            + "</h1>",
            "<p>"
            + escape(
                _(
                    "Copie établie le {date} à la demande de la personne concernée (droit "
                    "d'accès, loi n° 2013-015). Les textes des messages ne sont conservés qu'un "
                    "temps limité : ce qui n'y figure plus a été effacé."
                ).format(date=generated_at)
            )
            + "</p>",
        ]
        for key, title in SECTIONS:
            parts.append(f"<h2>{escape(_(title))}</h2>{_table(held.get(key) or [])}")
    parts.append("</body></html>")
    return "".join(parts)
