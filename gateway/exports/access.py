"""An access request's copy (storage/access_export.py) as a readable HTML page and as JSON.

The page is for the person who asked: plain headings, every value escaped, no script, no
outside resource, so it opens anywhere, offline, and prints.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

SECTIONS = (
    ("profile", "Profil"),
    ("addresses", "Adresses (numéros, comptes)"),
    ("consents", "Consentement et désabonnements"),
    ("messages_received", "Messages reçus de vous (encore conservés)"),
    ("messages_sent", "Messages envoyés à vous (encore conservés)"),
    ("unfinished_dialogues", "Échanges non terminés"),
    ("poll_invitations", "Sondages auxquels vous avez été invité(e)"),
    ("poll_answers", "Vos réponses aux sondages"),
    ("reports", "Rapports d'activité envoyés"),
    ("audit_entries", "Actions du secrétariat vous concernant"),
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
        return "<p>Rien.</p>"
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


def as_html(held: dict[str, Any], generated_at: str) -> str:
    parts = [
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>",
        f"<title>Données détenues — membre {held['member_id']}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "th,td{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}"
        "</style></head><body>",
        f"<h1>Données détenues par Benkadi sur le membre {held['member_id']}</h1>",
        f"<p>Copie établie le {escape(generated_at)} à la demande de la personne concernée "
        "(droit d'accès, loi n° 2013-015). Les textes des messages ne sont conservés qu'un "
        "temps limité : ce qui n'y figure plus a été effacé.</p>",
    ]
    for key, title in SECTIONS:
        parts.append(f"<h2>{escape(title)}</h2>{_table(held.get(key) or [])}")
    parts.append("</body></html>")
    return "".join(parts)
