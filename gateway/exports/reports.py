"""Activity reports, one row each (the XLSX adds a totals sheet), or the totals alone by region,
type and month. Names only, no phone number in them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.exports.output import attachment, choice
from gateway.keys import DATABASE
from storage import audit
from storage import reports as report_store
from storage.database import Database
from storage.tabular import FORMATS, Table

FILTER_KEYS = ("from", "to", "region", "type", "organisation", "status")
KINDS = ("reports", "summary", "region_month")


def report_filter(values: Mapping[str, str | None]) -> report_store.ReportFilter:
    """The filters (from, to, region, type, organisation, status) checked; FieldError if bad."""
    return report_store.filter_from({key: values.get(key) for key in FILTER_KEYS})


async def report_export(
    database: Database,
    actor: str,
    format_: str,
    kind: str,
    values: Mapping[str, str | None],
    profile: str = "internal",
) -> list[Table]:
    """The export's tables, once its audit entry (with the filters given) is written."""
    where = report_filter(values)
    filters = {key: values[key] for key in FILTER_KEYS if values.get(key)}
    async with database.transaction() as connection:
        await audit.record(
            connection,
            actor,
            "reports.export",
            details={"format": format_, "kind": kind, "filters": filters, "profile": profile},
        )
    return report_store.export_tables(database, where, kind, profile)


async def stream_reports(
    request: web.Request, actor: str, query: Mapping[str, Any]
) -> web.StreamResponse:
    """?format=csv|xlsx&kind=reports|summary&profile=internal|partner&filters…, as an
    attachment."""
    format_ = choice(query, "format", tuple(FORMATS), "csv")
    kind = choice(query, "kind", KINDS, "reports")
    profile = choice(query, "profile", report_store.PROFILES, "internal")
    database = request.config_dict[DATABASE]  # the console is a sub-application
    tables = await report_export(database, actor, format_, kind, query, profile)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return await attachment(request, format_, f"benkadi-{kind}-{stamp}", tables)
