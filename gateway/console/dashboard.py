"""The dashboard: how the coordination is doing, at a glance. Every figure is one SQL aggregate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import distinct, func, select

from bot.vocabulary.disclosure import NOTE, suppress_small_cells
from bot.vocabulary.reference import AGE_BANDS, LANGUAGE_LABELS, REGION_LABELS
from bot.vocabulary.small_cells import suppress_row
from broadcasts import coverage, service
from gateway.console import charts
from gateway.console.auth import page
from gateway.console.i18n import C_
from gateway.console.keys import Who
from gateway.keys import DATABASE, SETTINGS
from storage import translations as translation_store
from storage.database import Database
from storage.models import Address, Member

NAV = (C_("Tableau de bord"), "/", "viewer")
members, addresses = Member.__table__, Address.__table__
CHANNEL_LABELS = {"sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram"}
DELIVERED = ("sent", "delivered")  # Telegram has no delivery receipt: "sent" is as far as it goes
MONTHS = 12


def month_of(column: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM")


def last_months(now: datetime, count: int) -> list[str]:
    months, year, month = [], now.year, now.month
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


async def figures(database: Database, now: datetime) -> dict[str, Any]:
    dialect = database.engine.dialect.name
    active = members.c.erased_at.is_(None)
    month = month_of(members.c.registered_at, dialect)
    months = last_months(now, MONTHS)
    since = datetime(int(months[0][:4]), int(months[0][5:]), 1, tzinfo=UTC)
    async with database.sessions() as session:

        async def pairs(query) -> list[tuple[Any, int]]:
            return [(key, int(n)) for key, n in (await session.execute(query)).all()]

        total = await session.scalar(select(func.count()).where(active))
        consented = await session.scalar(
            select(func.count()).where(active, members.c.consent_at.is_not(None))
        )
        by_region = await pairs(
            select(members.c.region, func.count()).where(active).group_by(members.c.region)
        )
        by_language = await pairs(
            select(members.c.language, func.count()).where(active).group_by(members.c.language)
        )
        by_channel = await pairs(
            select(addresses.c.channel, func.count(distinct(addresses.c.member_id)))
            .where(addresses.c.member_id.is_not(None), addresses.c.opted_out_at.is_(None))
            .group_by(addresses.c.channel)
        )
        by_sex_age = await session.execute(
            select(members.c.sex, members.c.age_band, func.count())
            .where(active)
            .group_by(members.c.sex, members.c.age_band)
        )
        cross = {(sex, band): int(n) for sex, band, n in by_sex_age}
        by_status = await session.execute(
            select(
                func.count(members.c.imported_at),
                func.count(members.c.consent_at).filter(members.c.imported_at.is_not(None)),
                func.count(members.c.refused_at).filter(members.c.consent_at.is_(None)),
            ).where(active)
        )
        imported, joined, refused = by_status.one()
        by_month = dict(
            await pairs(
                select(month, func.count()).where(members.c.registered_at >= since).group_by(month)
            )
        )
    total = int(total or 0)
    return {
        "total": total,
        "consented": int(consented or 0),
        "regions": breakdown(
            [(REGION_LABELS.get(key, key or "—"), n) for key, n in by_region], total, ranked=True
        ),
        "languages": breakdown(
            [(LANGUAGE_LABELS.get(key, key), n) for key, n in by_language], total
        ),
        "channels": breakdown([(CHANNEL_LABELS.get(key, key), n) for key, n in sorted(by_channel)]),
        "months": breakdown([(key, by_month.get(key, 0)) for key in months]),
        "sex_age": sex_age_table(cross),
        "directory": {
            key: suppress_small_cells(int(n or 0))
            for key, n in (
                ("invited", (imported or 0) - (joined or 0) - (refused or 0)),
                ("joined", joined),
                ("refused", refused),
            )
        },
        "small_cells": NOTE,
    }


def breakdown(
    pairs: list[tuple[str, int]], total: int | None = None, *, ranked: bool = False
) -> list[tuple[str, int | str]]:
    """(label, count) pairs as the dashboard may show them (bot/vocabulary/small_cells.py):
    1-4 as "< 5"; when the pairs add up to a `total` shown beside them, a lone "< 5" takes the
    next smallest count with it ("x"). `ranked`: biggest first, the hidden ones last in label
    order, so that the order tells nothing of the hidden counts."""
    values = [n for _label, n in pairs]
    cells = range(len(values))
    if total is None:
        marked = suppress_row(values, cells)
    else:
        marked = suppress_row([*values, total], cells, len(values))[:-1]
    shown = [(label, value) for (label, _n), value in zip(pairs, marked, strict=True)]
    if ranked:
        shown.sort(
            key=lambda pair: (0, -pair[1], "") if isinstance(pair[1], int) else (1, 0, pair[0])
        )
    return shown


SEX_ROWS = (("f", C_("Femmes")), ("m", C_("Hommes")), (None, C_("Non dit")))
AGE_COLUMNS = (*((key, label) for key, label in AGE_BANDS), (None, C_("Non dit")))


def sex_age_table(cross: dict[tuple[str | None, str | None], int]) -> dict[str, Any]:
    """Members by sex and age band, with totals; every cell of 1-4 shown "< 5"."""
    rows = []
    for sex, label in SEX_ROWS:
        cells = [cross.get((sex, band), 0) for band, _label in AGE_COLUMNS]
        rows.append(
            (label, [suppress_small_cells(n) for n in cells], suppress_small_cells(sum(cells)))
        )
    totals = [sum(cross.get((sex, band), 0) for sex, _l in SEX_ROWS) for band, _l in AGE_COLUMNS]
    return {
        "columns": [label for _key, label in AGE_COLUMNS],
        "rows": rows,
        "totals": [suppress_small_cells(n) for n in totals],
    }


def delivery(broadcast: dict[str, Any]) -> dict[str, Any]:
    totals = broadcast.get("totals") or {}
    made = sum(totals.values()) or broadcast.get("recipients") or 0
    reached = sum(totals.get(key, 0) for key in DELIVERED)
    failed = sum(totals.get(key, 0) for key in ("failed", "undelivered"))
    rate = round(100 * reached / made) if made else None
    return {**broadcast, "made": made, "reached": reached, "failed": failed, "rate": rate}


@page("viewer")
async def dashboard(request: web.Request, who: Who) -> web.StreamResponse:
    database = request.config_dict[DATABASE]
    data = await figures(database, datetime.now(UTC))
    latest = [delivery(b) for b in await service.list_broadcasts(database, 5)]
    rated = [
        (f"#{b['id']} {b['title'] or ''}".strip(), b["rate"] or 0) for b in latest if b["made"]
    ]
    context = {
        "data": data,
        "broadcasts": latest,
        "charts": {
            "regions": charts.bars(C_("Membres par région"), data["regions"], horizontal=True),
            "channels": charts.bars(C_("Membres par canal"), data["channels"]),
            "languages": charts.bars(C_("Membres par langue"), data["languages"]),
            "months": charts.line(C_("Inscriptions par mois"), data["months"]),
            "delivery": charts.percent_bars(C_("Taux de remise des dernières diffusions"), rated)
            if rated
            else None,
        },
        "since": (datetime.now(UTC) - timedelta(days=30 * MONTHS)).date(),
        "translations": await _translations(request),
    }
    return aiohttp_jinja2.render_template("dashboard.html", request, context)


async def _translations(request: web.Request) -> list[dict[str, Any]]:
    """Per language, the member-facing texts (catalog, campaigns, polls): translated and
    reviewed, as `benkadi i18n status` counts them (the console's own texts left out), with
    the texts saved in Traductions. The files are read off the event loop."""
    directory = request.config_dict[SETTINGS].campaigns_directory
    rows = await asyncio.to_thread(coverage.status, directory)
    database = request.config_dict[DATABASE]
    edited = {
        language: await translation_store.entries(database, language)
        for language in translation_store.TRANSLATED
    }
    tile: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.domain == "console":
            continue
        if row.domain == "benkadi" and row.language in edited:
            texts = edited[row.language]
            row = coverage.Coverage(
                row.language, row.domain, row.total,
                sum(bool(e.msgstr) for e in texts), sum(bool(e.msgstr) and not e.reviewed for e in texts),
            )  # fmt: skip
        language = tile.setdefault(
            row.language, {"language": row.language, "total": 0, "translated": 0, "reviewed": 0}
        )
        language["total"] += row.total
        language["translated"] += row.translated
        language["reviewed"] += row.reviewed
    return list(tile.values())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", dashboard, name="dashboard")
