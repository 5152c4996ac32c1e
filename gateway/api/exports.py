"""The membership roster over the HTTP API, as CSV or XLSX, streamed.

GET /api/v1/members/export?format=csv|xlsx&region=kayes&theme=vbg&…&table=members|organisations

Filters are a broadcast audience's (region, theme, language, organisation_kind, organisation,
channel: repeated or comma-separated; since=YYYY-MM-DD). Viewers may export, with phone numbers
and Telegram ids masked; every export is in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from broadcasts import service
from broadcasts.model import Audience, DraftError, parse_audience
from gateway.api import common as api
from gateway.keys import DATABASE
from storage import roster
from storage.database import Database
from storage.tabular import FORMATS, write_tables
from storage.tokens import Principal

# Query name → audience field; the plural (the JSON draft's name) is accepted too.
FILTERS = {
    "region": "regions",
    "theme": "themes",
    "language": "languages",
    "organisation_kind": "organisation_kinds",
    "organisation": "organisations",
    "channel": "channels",
}
TABLES = ("members", "organisations")


async def audience_from_query(database: Database, query: Mapping[str, Any]) -> Audience:
    """An audience from query parameters (aiohttp's MultiDict or a plain dict); DraftError if bad."""
    data: dict[str, Any] = {}
    for single, plural in FILTERS.items():
        values: list[str] = []
        for name in (single, plural):
            raw = query.getall(name, []) if isinstance(query, MultiDictProxy) else query.get(name)
            raw = [raw] if isinstance(raw, str) else list(raw or [])
            values += [part.strip() for item in raw for part in item.split(",") if part.strip()]
        if values:
            data[plural] = values
    since = query.get("since") or query.get("registered_since")
    if since:
        data["registered_since"] = since
    known = await service.known_organisations(database) if "organisations" in data else None
    return parse_audience(data, known)


def export_options(query: Mapping[str, Any]) -> tuple[str, str]:
    format_ = query.get("format", "csv")
    if format_ not in FORMATS:
        raise DraftError("format", "must be csv or xlsx")
    table = query.get("table", "members")
    if table not in TABLES:
        raise DraftError("table", "must be members or organisations")
    return format_, table


async def stream_roster(
    request: web.Request, actor: str, masked: bool, query: Mapping[str, Any]
) -> web.StreamResponse:
    """Audit, then stream the export as an attachment (the API and the console share this)."""
    database = request.config_dict[DATABASE]  # the console is a sub-application
    format_, table = export_options(query)
    audience = await audience_from_query(database, query)
    await roster.record_export(database, actor, format_, audience, masked, table)
    content_type, extension = FORMATS[format_]
    day = datetime.now(UTC).date().isoformat()
    name = "membres" if table == "members" else "organisations"
    response = web.StreamResponse(
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="benkadi-{name}-{day}.{extension}"',
            "Cache-Control": "no-store",
        }
    )
    if format_ == "csv":
        response.enable_compression()  # gzip when accepted: a CSV shrinks 5-10 times
    await response.prepare(request)
    await write_tables(
        format_, roster.roster_tables(database, audience, masked, table), response.write
    )
    await response.write_eof()
    return response


@api.endpoint("viewer")
async def export_members(request: web.Request, who: Principal) -> web.StreamResponse:
    return await stream_roster(request, api.actor(who), who.role == "viewer", request.query)


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{api.PREFIX}/members/export", export_members, allow_head=False)
