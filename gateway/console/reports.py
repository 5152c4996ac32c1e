"""Activity reports: the filtered, paged list with the totals by region, type and month; a
report with its photo; validation (secretariat); the exports.

The list, the totals and validation are storage.reports' (as the API's), the exports
gateway.exports.reports', so the console and the API agree to the row. A photo is
served by report id from the file its report names, and only from inside the media folder:
nothing in the request is ever a path.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from bot.vocabulary.errors import Invalid
from bot.vocabulary.reference import ACTIVITY_LABELS, REGION_LABELS
from gateway.console import charts
from gateway.console.auth import page
from gateway.console.errors import refusal_text
from gateway.console.i18n import C_
from gateway.console.keys import PREFIX, Who
from gateway.exports.reports import FILTER_KEYS, report_filter, stream_reports
from gateway.keys import DATABASE, SETTINGS
from storage import reports as report_store

NAV = (C_("Rapports"), "/reports", "viewer")
ID = r"{id:[0-9]{1,18}}"
PER_PAGE = 50
STATUS_LABELS = {"submitted": C_("soumis"), "validated": C_("validé")}
MISSING = C_("Ce rapport n'existe pas.")
FIELD_ERRORS = {
    "from": C_("Date de début invalide (AAAA-MM-JJ)."),
    "to": C_("Date de fin invalide, ou avant la date de début."),
    "region": C_("Région inconnue."),
    "type": C_("Type d'activité inconnu."),
    "status": C_("État inconnu."),
    "format": C_("Format inconnu (csv ou xlsx)."),
    "kind": C_("Export inconnu (rapports ou totaux)."),
}
# Photos as Telegram gives them; never SVG or HTML, which a browser would run as a page.
PHOTO_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
               ".webp": "image/webp", ".gif": "image/gif"}  # fmt: skip


def _chosen(request: web.Request) -> dict[str, str]:
    return {key: request.query.get(key, "").strip() for key in FILTER_KEYS}


def _totals(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The summary's rows (region, type, month, women, men, girls, boys, sum), their grand total
    and the participants per month for the chart."""
    grand = [sum(row[3 + n] for row in rows) for n in range(5)]
    by_month: dict[str, int] = defaultdict(int)
    for row in rows:
        by_month[row[2]] += row[7]
    pairs = sorted(by_month.items())
    title = C_("Participants par mois")
    return {
        "rows": rows,
        "grand": grand,
        "chart": charts.line(title, pairs) if len(pairs) > 1 else None,
    }


@page("viewer")
async def list_reports(request: web.Request, who: Who) -> web.StreamResponse:
    database = request.config_dict[DATABASE]
    chosen = _chosen(request)
    before = request.query.get("before", "")
    before_id = int(before) if before.isdigit() and 0 < int(before) < 10**18 else None
    context: dict[str, Any] = {
        "chosen": chosen,
        "regions": REGION_LABELS,
        "activities": ACTIVITY_LABELS,
        "statuses": STATUS_LABELS,
        "rows": [],
        "more": None,
        "paged": before_id is not None,
        "totals": None,
        "error": None,
    }
    try:
        where = report_filter(chosen)
    except Invalid as error:  # the list again, the filter's problem above it
        context["error"] = refusal_text(error, labels=FIELD_ERRORS)
        return aiohttp_jinja2.render_template("reports.html", request, context, status=400)
    rows = await report_store.list_reports(database, where, PER_PAGE + 1, before_id)
    filters = {key: value for key, value in chosen.items() if value}
    context.update(
        rows=rows[:PER_PAGE],
        more=rows[PER_PAGE - 1]["id"] if len(rows) > PER_PAGE else None,
        totals=_totals(await report_store.summary(database, where)),
        filter_query=urlencode(filters),
        page_query=lambda last: urlencode({**filters, "before": last}),
    )
    return aiohttp_jinja2.render_template("reports.html", request, context)


async def _report(request: web.Request) -> dict[str, Any]:
    return await report_store.get_report(
        request.config_dict[DATABASE], int(request.match_info["id"])
    )


def _photo_file(request: web.Request, report: dict[str, Any]) -> Path | None:
    """The report's downloaded photo, if it is a file inside the media folder."""
    if not report.get("media_path"):
        return None
    folder = Path(request.config_dict[SETTINGS].media_dir).resolve()
    path = Path(report["media_path"]).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        return None
    return path if path.suffix.lower() in PHOTO_TYPES else None


@page("viewer", missing=MISSING)
async def show_report(request: web.Request, who: Who) -> web.StreamResponse:
    report = await _report(request)
    context = {
        "r": report,
        "region": REGION_LABELS.get(report["region"] or "", report["region"] or "—"),
        "activity": ACTIVITY_LABELS.get(report["activity"], report["activity"]),
        "status": STATUS_LABELS.get(report["status"], report["status"]),
        "has_photo": await asyncio.to_thread(_photo_file, request, report) is not None,
    }
    return aiohttp_jinja2.render_template("report.html", request, context)


@page("viewer", missing=MISSING)
async def photo(request: web.Request, who: Who) -> web.StreamResponse:
    path = await asyncio.to_thread(_photo_file, request, await _report(request))
    if path is None:
        raise web.HTTPNotFound(text=C_("Pas de photo téléchargée pour ce rapport."))
    headers = {"Content-Type": PHOTO_TYPES[path.suffix.lower()], "Content-Disposition": "inline"}
    return web.FileResponse(path, headers=headers)


@page("secretariat", missing=MISSING)
async def validate(request: web.Request, who: Who) -> web.StreamResponse:
    report_id = int(request.match_info["id"])
    await report_store.validate(
        request.config_dict[DATABASE], report_id, who.actor, datetime.now(UTC)
    )
    raise web.HTTPFound(f"{PREFIX}/reports/{report_id}")


@page("secretariat", labels=FIELD_ERRORS)
async def export(request: web.Request, who: Who) -> web.StreamResponse:
    """Reports or totals as the API gives them (secretariat, as there), in the audit log."""
    return await stream_reports(request, who.actor, request.query)


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/reports", list_reports, name="reports")
    add.add_get("/reports/export", export, name="reports_export")
    add.add_get(f"/reports/{ID}", show_report, name="report")
    add.add_get(f"/reports/{ID}/photo", photo, name="report_photo")
    add.add_post(f"/reports/{ID}/validate", validate)
