"""Activity reports: stored on confirm, listed and filtered, validated, exported, photos fetched."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.disclosure import NOTE as SMALL_CELL_NOTE
from bot.vocabulary.errors import FieldError, NotFound
from bot.vocabulary.reference import ACTIVITY_LABELS, REGION_LABELS
from bot.vocabulary.small_cells import suppress_row
from bot.vocabulary.text import fold
from storage import audit, provider_media
from storage.database import Database
from storage.models import Member, Organisation, Report
from storage.tabular import Table
from storage.types import utcnow

reports, members, organisations = Report.__table__, Member.__table__, Organisation.__table__
PAGE = 1000
MEDIA_RETRY_BASE = timedelta(seconds=30)
MEDIA_RETRY_MAX = timedelta(hours=6)
FETCHED = ("telegram", "twilio")  # media kinds fetched into the media folder
STATUSES = ("submitted", "validated")
# The names of summary()'s columns, as the API's and the CLI's JSON give them.
SUMMARY_HEADER = ("region", "type", "month", "women", "men", "girls", "boys", "total")


@dataclass(frozen=True)
class ReportFilter:
    """What the secretariat narrows the reports to; None is "any"."""

    date_from: date | None = None
    date_to: date | None = None
    region: str | None = None
    activity: str | None = None
    organisation: str | None = None  # by name, whatever the spelling
    status: str | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.date_from:
            found.append(reports.c.activity_date >= self.date_from)
        if self.date_to:
            found.append(reports.c.activity_date <= self.date_to)
        if self.region:
            found.append(reports.c.region == self.region)
        if self.activity:
            found.append(reports.c.activity == self.activity)
        if self.organisation:
            found.append(organisations.c.name_key == fold(self.organisation))
        if self.status:
            found.append(reports.c.status == self.status)
        return found


# --- writing -------------------------------------------------------------------------------
async def insert_report(
    connection: AsyncConnection, member_id: int | None, data: dict[str, Any], now: datetime
) -> int:
    """The confirmed report, in the inbound message's transaction."""
    organisation_id = None
    if member_id is not None:
        organisation_id = await connection.scalar(
            select(members.c.organisation_id).where(members.c.id == member_id)
        )
    when = date.fromisoformat(data["date"])
    photo = data.get("photo")
    values = {
        "member_id": member_id,
        "organisation_id": organisation_id,
        "channel": data.get("channel") or "sms",
        "activity": data["activity"],
        "activity_date": when,
        "activity_month": when.strftime("%Y-%m"),
        "region": data.get("region"),
        "commune": data.get("commune"),
        "women": data["women"],
        "men": data["men"],
        "girls": data["girls"],
        "boys": data["boys"],
        "description": data["description"],
        "media_kind": data.get("media_kind") if photo else None,
        "media_ref": photo,
        "media_attempts": 0,
        # Telegram and Twilio photos are fetched (and cleaned) in the background.
        "media_next_attempt_at": now if photo and data.get("media_kind") in FETCHED else None,
        "status": "submitted",
        "submitted_at": now,
    }
    result = await connection.execute(reports.insert().values(values).returning(reports.c.id))
    return result.scalar_one()


async def validate(database: Database, report_id: int, actor: str, now: datetime) -> bool:
    """Mark a report validated; False if it already was. Audited with the change."""
    async with database.transaction() as connection:
        status = await connection.scalar(select(reports.c.status).where(reports.c.id == report_id))
        if status is None:
            raise NotFound(f"no report {report_id}", field="id")
        if status == "validated":
            return False
        await connection.execute(
            update(reports)
            .where(reports.c.id == report_id)
            .values(status="validated", validated_at=now, validated_by=actor)
        )
        await audit.record(connection, actor, "report.validate", f"report:{report_id}")
    return True


# --- reading -------------------------------------------------------------------------------
def _joined():
    return reports.outerjoin(members, members.c.id == reports.c.member_id).outerjoin(
        organisations, organisations.c.id == reports.c.organisation_id
    )


def _columns() -> list[Any]:
    return [
        reports,
        organisations.c.name.label("organisation"),
        members.c.name.label("member_name"),
    ]


def _as_dict(row: Row) -> dict[str, Any]:
    item = dict(row._mapping)
    counts = [item["women"], item["men"], item["girls"], item["boys"]]
    item["total"] = sum(counts)
    for key in ("media_attempts", "media_next_attempt_at", "media_error", "organisation_id"):
        item.pop(key, None)
    return item


async def list_reports(
    database: Database, where: ReportFilter, limit: int = 100, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Newest first; `before_id` pages on."""
    conditions = where.conditions()
    if before_id is not None:
        conditions.append(reports.c.id < before_id)
    query = (
        select(*_columns())
        .select_from(_joined())
        .where(and_(true(), *conditions))
        .order_by(reports.c.id.desc())
        .limit(limit)
    )
    async with database.sessions() as session:
        return [_as_dict(row) for row in await session.execute(query)]


async def get_report(database: Database, report_id: int) -> dict[str, Any]:
    query = select(*_columns()).select_from(_joined()).where(reports.c.id == report_id)
    async with database.sessions() as session:
        row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no report {report_id}", field="id")
    return _as_dict(row)


# --- exports -------------------------------------------------------------------------------
REPORT_HEADER = (
    "id", "date", "mois", "type", "région", "commune", "organisation", "membre", "canal",
    "femmes", "hommes", "filles", "garçons", "total", "description", "photo", "statut",
    "soumis le", "validé le", "validé par",
)  # fmt: skip
SUMMARY_HEADER = ("région", "type", "mois", "femmes", "hommes", "filles", "garçons", "total")
# The "partner" profile: what may be shared outside the coordination (no organisation, person,
# place below the region, day or free text; counts under 5 hidden).
PARTNER_HEADER = ("mois", "type", "région", "femmes", "hommes", "filles", "garçons", "total")
PROFILES = ("internal", "partner")


async def _report_rows(database: Database, where: ReportFilter) -> AsyncIterator[Sequence[Any]]:
    """Oldest first, in keyset pages: memory stays flat however many reports there are."""
    last = 0
    while True:
        query = (
            select(*_columns())
            .select_from(_joined())
            .where(and_(reports.c.id > last, *where.conditions()))
            .order_by(reports.c.id)
            .limit(PAGE)
        )
        async with database.sessions() as session:
            rows = (await session.execute(query)).all()
        for row in rows:
            r = row._mapping
            yield (
                r["id"], r["activity_date"], r["activity_month"],
                ACTIVITY_LABELS.get(r["activity"], r["activity"]),
                REGION_LABELS.get(r["region"] or "", r["region"]), r["commune"],
                r["organisation"], r["member_name"], r["channel"],
                r["women"], r["men"], r["girls"], r["boys"],
                r["women"] + r["men"] + r["girls"] + r["boys"],
                r["description"], r["media_path"] or r["media_ref"], r["status"],
                r["submitted_at"], r["validated_at"], r["validated_by"],
            )  # fmt: skip
        if len(rows) < PAGE:
            return
        last = rows[-1].id


async def summary(database: Database, where: ReportFilter) -> list[tuple[Any, ...]]:
    """Totals by region, type and month (a few hundred rows at most: one query)."""
    sums = [func.sum(reports.c[name]) for name in ("women", "men", "girls", "boys")]
    query = (
        select(reports.c.region, reports.c.activity, reports.c.activity_month, *sums)
        .select_from(_joined())
        .where(and_(true(), *where.conditions()))
        .group_by(reports.c.region, reports.c.activity, reports.c.activity_month)
        .order_by(reports.c.region, reports.c.activity, reports.c.activity_month)
    )
    async with database.sessions() as session:
        rows = (await session.execute(query)).all()
    result = []
    for region, activity, month, *counts in rows:
        numbers = [int(n or 0) for n in counts]
        result.append(
            (
                REGION_LABELS.get(region or "", region),
                ACTIVITY_LABELS.get(activity, activity),
                month,
                *numbers,
                sum(numbers),
            )
        )
    return result


REGION_MONTH_HEADER = ("region", "month", "women", "men", "girls", "boys", "total")  # JSON
REGION_MONTH_TITLES = ("région", "mois", "femmes", "hommes", "filles", "garçons", "total")


async def by_region_month(database: Database, where: ReportFilter) -> list[tuple[Any, ...]]:
    """Beneficiaries (women, men, girls, boys) by region and month, in one table; a breakdown,
    so counts of 1 to 4 people are "< 5" (bot/vocabulary/small_cells.py)."""
    sums = [func.sum(reports.c[name]) for name in ("women", "men", "girls", "boys")]
    query = (
        select(reports.c.region, reports.c.activity_month, *sums)
        .select_from(_joined())
        .where(and_(true(), *where.conditions()))
        .group_by(reports.c.region, reports.c.activity_month)
        .order_by(reports.c.region, reports.c.activity_month)
    )
    async with database.sessions() as session:
        rows = (await session.execute(query)).all()
    result: list[tuple[Any, ...]] = []
    for region, month, *counts in rows:
        numbers = [int(n or 0) for n in counts]
        row = (REGION_LABELS.get(region or "", region), month, *numbers, sum(numbers))
        result.append(suppress_row(row, cells=(2, 3, 4, 5), total=6))  # as the totals are
    return result


async def _region_month_rows(
    database: Database, where: ReportFilter
) -> AsyncIterator[Sequence[Any]]:
    rows = await by_region_month(database, where)
    for row in rows:
        yield row
    if rows:  # the export says so, on its last line
        yield ("*", SMALL_CELL_NOTE, None, None, None, None, None)


async def _summary_rows(database: Database, where: ReportFilter) -> AsyncIterator[Sequence[Any]]:
    """The totals as they leave the console: cells under 5 people hidden (small_cells)."""
    for row in await summary(database, where):
        yield suppress_row(row, cells=(3, 4, 5, 6), total=7)


async def _partner_rows(database: Database, where: ReportFilter) -> AsyncIterator[Sequence[Any]]:
    async for row in _report_rows(database, where):
        month, activity, region, *counts = row[2], row[3], row[4], *row[9:14]
        yield suppress_row((month, activity, region, *counts), cells=(3, 4, 5, 6), total=7)


def export_tables(
    database: Database, where: ReportFilter, kind: str, profile: str = "internal"
) -> list[Table]:
    """kind "reports": the reports then the totals (XLSX sheets; CSV keeps the first);
    kind "summary": the totals alone; kind "region_month": by region and month alone. Totals
    always hide cells under 5; profile "partner" gives each report without organisation,
    member, commune, day, text or photo."""
    totals = Table("totaux", SUMMARY_HEADER, _summary_rows(database, where))
    by_region = Table("region_mois", REGION_MONTH_TITLES, _region_month_rows(database, where))
    if kind == "summary":
        return [totals]
    if kind == "region_month":
        return [by_region]
    if profile == "partner":
        return [
            Table("rapports", PARTNER_HEADER, _partner_rows(database, where)),
            totals,
            by_region,
        ]
    return [Table("rapports", REPORT_HEADER, _report_rows(database, where)), totals, by_region]


# --- photos --------------------------------------------------------------------------------
async def due_media(
    connection: AsyncConnection, now: datetime, kinds: Sequence[str] = FETCHED, limit: int = 20
) -> list[Row]:
    """Photos to fetch now, of the kinds the caller can fetch."""
    query = (
        select(reports.c.id, reports.c.media_kind, reports.c.media_ref, reports.c.media_attempts)
        .where(
            reports.c.media_kind.in_(list(kinds)),
            reports.c.media_path.is_(None),
            reports.c.media_next_attempt_at <= now,
        )
        .order_by(reports.c.media_next_attempt_at)
        .limit(limit)
    )
    return list(await connection.execute(query))


def _still(report_id: int, ref: str | None):
    """The report, if it still has the photo that was fetched (an erasure or a purge in the
    meantime forgets it: the file just written is then not the report's)."""
    where = reports.c.id == report_id
    return and_(where, reports.c.media_ref == ref) if ref is not None else where


async def media_saved(
    connection: AsyncConnection,
    report_id: int,
    path: str,
    ref: str | None = None,
    kind: str | None = None,
    now: datetime | None = None,
) -> bool:
    """The cleaned photo is at `path`; the provider's copy (Twilio) is then to be deleted there.
    False if the report no longer has this photo (the caller removes the file)."""
    result = await connection.execute(
        update(reports)
        .where(_still(report_id, ref))
        .values(media_path=path, media_next_attempt_at=None, media_error=None)
    )
    await provider_media.to_delete(connection, [(kind, ref)], now or utcnow())
    return bool(result.rowcount)


async def media_failed(
    connection: AsyncConnection, report_id: int, attempts: int, error: str, now: datetime
) -> None:
    """Try again later, waiting longer each time (30 s, 1 min, 2 min… at most 6 h)."""
    wait = min(MEDIA_RETRY_BASE * 2 ** min(attempts, 20), MEDIA_RETRY_MAX)
    await connection.execute(
        update(reports)
        .where(reports.c.id == report_id)
        .values(media_attempts=attempts + 1, media_next_attempt_at=now + wait, media_error=error)
    )


async def media_refused(
    connection: AsyncConnection,
    report_id: int,
    error: str,
    ref: str | None = None,
    kind: str | None = None,
    now: datetime | None = None,
) -> None:
    """Not to be fetched again (not a picture, too large, gone): the reason stays on the report,
    and what the provider still holds is deleted there all the same. The report is kept."""
    await connection.execute(
        update(reports)
        .where(_still(report_id, ref))
        .values(media_next_attempt_at=None, media_error=error[:500])
    )
    await provider_media.to_delete(connection, [(kind, ref)], now or utcnow())


# --- filters from the outside (API query, CLI options) ---------------------------------------
def _day(name: str, raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FieldError(name, "must be a date, YYYY-MM-DD") from None


def filter_from(values: Mapping[str, str | None]) -> ReportFilter:
    """from, to, region, type, organisation, status: checked, named when wrong."""
    region = (values.get("region") or "").strip() or None
    if region is not None:
        region = fold(region)
        region = next((key for key, label in REGION_LABELS.items() if fold(label) == region),
                      region)  # fmt: skip
        if region not in REGION_LABELS:
            raise FieldError("region", f"unknown region; one of {', '.join(REGION_LABELS)}")
    activity = (values.get("type") or "").strip() or None
    if activity is not None and activity not in ACTIVITY_LABELS:
        raise FieldError("type", f"unknown type; one of {', '.join(ACTIVITY_LABELS)}")
    status = (values.get("status") or "").strip() or None
    if status is not None and status not in STATUSES:
        raise FieldError("status", f"one of {', '.join(STATUSES)}")
    where = ReportFilter(
        date_from=_day("from", values.get("from")),
        date_to=_day("to", values.get("to")),
        region=region,
        activity=activity,
        organisation=(values.get("organisation") or "").strip() or None,
        status=status,
    )
    if where.date_from and where.date_to and where.date_from > where.date_to:
        raise FieldError("to", "must not be before from")
    return where
