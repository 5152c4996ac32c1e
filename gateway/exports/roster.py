"""The membership roster export: members (or organisations) filtered like a broadcast audience.

Filters are a broadcast audience's (region, theme, language, organisation_kind, organisation,
channel: repeated or comma-separated; since=YYYY-MM-DD). Masked exports hide phone numbers and
Telegram ids, as a viewer's must; every export is in the audit log before its first byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from broadcasts import service
from broadcasts.model import Audience, parse_audience
from gateway.exports.output import attachment, choice
from gateway.keys import DATABASE
from storage import roster
from storage.database import Database
from storage.tabular import FORMATS, Table

# Query name → audience field; the plural (the JSON draft's name) is accepted too.
FILTERS = {
    "region": "regions",
    "theme": "themes",
    "language": "languages",
    "organisation_kind": "organisation_kinds",
    "organisation": "organisations",
    "channel": "channels",
    "sex": "sexes",
    "age_band": "age_bands",
}
TABLES = ("members", "organisations", "breakdown")


async def audience_from_query(database: Database, query: Mapping[str, Any]) -> Audience:
    """An audience from query parameters (aiohttp's MultiDict or a plain dict of lists); a
    FieldError (DraftError) naming the filter if one is wrong."""
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


async def roster_export(
    database: Database, actor: str, format_: str, audience: Audience, masked: bool, table: str
) -> list[Table]:
    """The export's tables, once its audit entry is written."""
    await roster.record_export(database, actor, format_, audience, masked, table)
    return roster.roster_tables(database, audience, masked, table)


async def stream_roster(
    request: web.Request, actor: str, masked: bool, query: Mapping[str, Any]
) -> web.StreamResponse:
    """?format=csv|xlsx&table=members|organisations&filters…, as an attachment."""
    database = request.config_dict[DATABASE]  # the console is a sub-application
    format_ = choice(query, "format", tuple(FORMATS), "csv")
    table = choice(query, "table", TABLES, "members")
    audience = await audience_from_query(database, query)
    tables = await roster_export(database, actor, format_, audience, masked, table)
    day = datetime.now(UTC).date().isoformat()
    name = {"members": "membres", "organisations": "organisations"}.get(table, "repartition")
    return await attachment(
        request,
        format_,
        f"benkadi-{name}-{day}",
        tables,
        compress=format_ == "csv",  # a CSV shrinks 5-10 times
        headers={"Cache-Control": "no-store"},
    )
