"""Activity reports over the HTTP API: viewers list, the secretariat validates and exports.

GET  /api/v1/reports?from=&to=&region=&type=&organisation=&status=&limit=&before=
GET  /api/v1/reports/summary?…same filters…        totals by region, type and month
GET  /api/v1/reports/export?format=csv|xlsx&kind=reports|summary&…filters…   (audited)
GET  /api/v1/reports/{id}
POST /api/v1/reports/{id}/validate
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.api import common as api
from gateway.api.auth import json_error
from gateway.keys import DATABASE
from storage import audit
from storage import reports as report_store
from storage.reports import ReportFieldError, ReportNotFound
from storage.tabular import FORMATS, write_tables
from storage.tokens import Principal

Handler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]
FILTER_KEYS = ("from", "to", "region", "type", "organisation", "status")


def endpoint(role: str) -> Callable[[Handler], Callable[[web.Request], Awaitable[Any]]]:
    """api.endpoint (token, role), and the reports' own errors as 400/404."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        @functools.wraps(handler)
        async def run(request: web.Request, who: Principal) -> web.StreamResponse:
            try:
                return await handler(request, who)
            except ReportNotFound as error:
                raise json_error(web.HTTPNotFound, str(error)) from None
            except ReportFieldError as error:
                raise json_error(web.HTTPBadRequest, error.message, field=error.field) from None

        return api.endpoint(role)(run)

    return wrap


def _filter(request: web.Request) -> report_store.ReportFilter:
    return report_store.filter_from({key: request.query.get(key) for key in FILTER_KEYS})


def _choice(query: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = query.get(name, default)
    if value not in allowed:
        raise ReportFieldError(name, f"one of {', '.join(allowed)}")
    return value


@endpoint("viewer")
async def list_reports(request: web.Request, who: Principal) -> web.Response:
    limit = api.query_limit(request, 100, 1000)
    before = request.query.get("before")
    if before is not None and not (before.isdigit() and 0 < int(before) <= api.MAX_ID):
        raise ReportFieldError("before", "must be a report id")
    found = await report_store.list_reports(
        request.app[DATABASE], _filter(request), limit, int(before) if before else None
    )
    return api.reply({"reports": found})


@endpoint("viewer")
async def summary(request: web.Request, who: Principal) -> web.Response:
    rows = await report_store.summary(request.app[DATABASE], _filter(request))
    header = ("region", "type", "month", "women", "men", "girls", "boys", "total")
    return api.reply({"totals": [dict(zip(header, row, strict=True)) for row in rows]})


@endpoint("viewer")
async def show(request: web.Request, who: Principal) -> web.Response:
    return api.reply(await report_store.get_report(request.app[DATABASE], api.path_id(request)))


@endpoint("secretariat")
async def validate(request: web.Request, who: Principal) -> web.Response:
    database, report_id = request.app[DATABASE], api.path_id(request)
    newly = await report_store.validate(database, report_id, api.actor(who), datetime.now(UTC))
    return api.reply({**await report_store.get_report(database, report_id), "newly": newly})


async def stream_export(
    request: web.Request, actor: str, query: Mapping[str, Any]
) -> web.StreamResponse:
    """Audit, then stream reports or totals as an attachment (the API and the console share
    this); ReportFieldError names a wrong parameter. Names only, no phone number in it."""
    format_ = _choice(query, "format", tuple(FORMATS), "csv")
    kind = _choice(query, "kind", ("reports", "summary"), "reports")
    where = report_store.filter_from({key: query.get(key) for key in FILTER_KEYS})
    database = request.config_dict[DATABASE]  # the console is a sub-application
    filters = {key: query[key] for key in FILTER_KEYS if query.get(key)}
    async with database.transaction() as connection:
        await audit.record(
            connection,
            actor,
            "reports.export",
            details={"format": format_, "kind": kind, "filters": filters},
        )
    content_type, extension = FORMATS[format_]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    response = web.StreamResponse(
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="benkadi-{kind}-{stamp}.{extension}"',
        }
    )
    await response.prepare(request)
    await write_tables(format_, report_store.export_tables(database, where, kind), response.write)
    await response.write_eof()
    return response


@endpoint("secretariat")
async def export(request: web.Request, who: Principal) -> web.StreamResponse:
    return await stream_export(request, api.actor(who), request.query)


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get(f"{api.PREFIX}/reports", list_reports, allow_head=False)
    add.add_get(f"{api.PREFIX}/reports/summary", summary, allow_head=False)
    add.add_get(f"{api.PREFIX}/reports/export", export, allow_head=False)
    add.add_get(api.PREFIX + r"/reports/{id:[0-9]{1,18}}", show, allow_head=False)
    add.add_post(api.PREFIX + r"/reports/{id:[0-9]{1,18}}/validate", validate)
