"""Activity reports over the HTTP API: viewers list, the secretariat validates and exports.

GET  /api/v1/reports?from=&to=&region=&type=&organisation=&status=&limit=&before=
GET  /api/v1/reports/summary?…same filters…        totals by region, type and month
     (&by=region_month: beneficiaries by region and month); a breakdown that leaves the
     console, so 1-4 people show as "< 5" (bot/vocabulary/small_cells.py), as in the exports
GET  /api/v1/reports/export?format=csv|xlsx&kind=reports|summary&…filters…   (audited)
GET  /api/v1/reports/{id}
POST /api/v1/reports/{id}/validate
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.vocabulary.errors import FieldError
from bot.vocabulary.small_cells import suppress_row
from gateway.api.common import ID, MAX_ID, PREFIX, actor, endpoint, path_id, query_limit, reply
from gateway.exports.reports import report_filter, stream_reports
from gateway.keys import DATABASE
from storage import reports as report_store
from storage.reports import REGION_MONTH_HEADER, SMALL_CELL_NOTE, SUMMARY_HEADER
from storage.tokens import Principal


@endpoint("viewer")
async def list_reports(request: web.Request, who: Principal) -> web.Response:
    limit = query_limit(request, 100, 1000)
    before = request.query.get("before")
    if before is not None and not (before.isdigit() and 0 < int(before) <= MAX_ID):
        raise FieldError("before", "must be a report id")
    found = await report_store.list_reports(
        request.app[DATABASE], report_filter(request.query), limit, int(before) if before else None
    )
    return reply({"reports": found})


@endpoint("viewer")
async def summary(request: web.Request, who: Principal) -> web.Response:
    if request.query.get("by") == "region_month":
        table = await report_store.by_region_month(
            request.app[DATABASE], report_filter(request.query)
        )
        totals = [dict(zip(REGION_MONTH_HEADER, row, strict=True)) for row in table]
        return reply({"totals": totals, "small_cells": SMALL_CELL_NOTE})
    rows = await report_store.summary(request.app[DATABASE], report_filter(request.query))
    shown = [suppress_row(row, cells=(3, 4, 5, 6), total=7) for row in rows]  # as the export
    totals = [dict(zip(SUMMARY_HEADER, row, strict=True)) for row in shown]
    return reply({"totals": totals, "small_cells": SMALL_CELL_NOTE})


@endpoint("viewer")
async def show(request: web.Request, who: Principal) -> web.Response:
    return reply(await report_store.get_report(request.app[DATABASE], path_id(request)))


@endpoint("secretariat")
async def validate(request: web.Request, who: Principal) -> web.Response:
    database, report_id = request.app[DATABASE], path_id(request)
    newly = await report_store.validate(database, report_id, actor(who), datetime.now(UTC))
    return reply({**await report_store.get_report(database, report_id), "newly": newly})


@endpoint("secretariat")
async def export(request: web.Request, who: Principal) -> web.StreamResponse:
    return await stream_reports(request, actor(who), request.query)


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get(f"{PREFIX}/reports", list_reports, allow_head=False)
    add.add_get(f"{PREFIX}/reports/summary", summary, allow_head=False)
    add.add_get(f"{PREFIX}/reports/export", export, allow_head=False)
    add.add_get(f"{PREFIX}/reports/{ID}", show, allow_head=False)
    add.add_post(f"{PREFIX}/reports/{ID}/validate", validate)
