"""The membership roster as exportable tables: members (one row each) and organisations.

Filtered like a broadcast audience (storage.audience.member_filters, plus "has an address on
one of these channels"), read in keyset pages of PAGE members so that 100,000 members stream
through storage.tabular without ever being in memory together. Phone numbers and Telegram ids
are masked for whoever may only read (viewers).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import String, and_, exists, func, select, type_coerce

from bot.vocabulary.channels import CHANNELS, traits
from bot.vocabulary.disclosure import NOTE as SMALL_CELL_NOTE
from bot.vocabulary.disclosure import suppress_small_cells
from bot.vocabulary.phones import mask_phone
from bot.vocabulary.reference import KIND_LABELS, LANGUAGE_LABELS, REGION_LABELS, THEME_LABELS
from broadcasts.model import Audience
from storage import audit
from storage.audience import member_filters
from storage.database import Database
from storage.models import Address, Member, Organisation
from storage.tabular import Table

PAGE = 1000
members, addresses, organisations = Member.__table__, Address.__table__, Organisation.__table__

MEMBER_HEADER = (
    "N°", "Nom", "Organisation", "Type d'organisation", "Région", "Cercle / commune", "Thèmes",
    "Langue", "SMS", "WhatsApp", "Telegram", "Consentement", "Désinscrit (canaux)",
    "Bloqué (canaux)", "Inscription", "Sexe", "Tranche d'âge", "Rôle", "Annuaire",
)  # fmt: skip
SEX_WORDS = {"f": "F", "m": "H"}
# A directory import's person: invited (no answer yet), joined (said OUI), refused (STOP).
DIRECTORY_WORDS = {"invited": "invité·e", "joined": "a rejoint", "refused": "a refusé"}


def directory_status(consent_at: Any, imported_at: Any, refused_at: Any) -> str | None:
    """invited / joined / refused for an imported person; None for one who registered."""
    if imported_at is None:
        return None
    if consent_at is not None:
        return "joined"
    return "refused" if refused_at is not None else "invited"


ORGANISATION_HEADER = ("N°", "Organisation", "Type", "Membres")


def mask_address(channel: str, address: str) -> str:
    """+22376123456 → +223 76 •• •• 56; a Telegram id keeps its last two digits only."""
    if traits(channel).phone_number:
        return mask_phone(address)
    return "•" * max(len(address) - 2, 0) + address[-2:]


def roster_conditions(audience: Audience, dialect: str) -> list[Any]:
    """The broadcast audience's member filters; channels mean "has an address there"."""
    conditions = member_filters(audience, dialect)
    if audience.channels:
        conditions.append(
            exists(
                select(1).where(
                    addresses.c.member_id == members.c.id,
                    addresses.c.channel.in_(audience.channels),
                )
            )
        )
    return conditions


async def count_members(database: Database, audience: Audience) -> int:
    dialect = database.engine.dialect.name
    query = select(func.count()).select_from(members).where(*roster_conditions(audience, dialect))
    async with database.sessions() as session:
        return int((await session.execute(query)).scalar_one())


def _theme_labels(raw: str | list | None) -> str:
    """The themes column as stored: JSON text on SQLite (decoded once per combination, of
    which members share a few hundred at most), a list already on PostgreSQL."""
    if raw is None or isinstance(raw, str):
        return _labels_of_json(raw)
    return "; ".join(THEME_LABELS.get(theme, theme) for theme in raw)


@functools.lru_cache(maxsize=4096)
def _labels_of_json(raw: str | None) -> str:
    return _theme_labels(json.loads(raw) if raw else [])


def _member_row(row: Any, found: Sequence[Any], masked: bool) -> list[Any]:
    """found: the member's addresses as (channel, address, opted_out_at, blocked_at)."""
    shown: dict[str, list[str]] = {channel: [] for channel in CHANNELS}
    opted_out: set[str] = set()
    blocked: set[str] = set()
    for channel, address, opted_out_at, blocked_at in found:
        shown.setdefault(channel, []).append(mask_address(channel, address) if masked else address)
        if opted_out_at is not None:
            opted_out.add(channel)
        if blocked_at is not None:
            blocked.add(channel)
    sms, whatsapp, telegram = ("; ".join(shown[channel]) for channel in CHANNELS)
    opted, blocked_on = "; ".join(sorted(opted_out)), "; ".join(sorted(blocked))
    return [
        row[0],  # id
        row[1],  # name
        row[2],  # organisation
        KIND_LABELS.get(row[3], row[3]),  # the label, as the console shows it
        REGION_LABELS.get(row[4], row[4]),
        row[5],  # cercle
        _theme_labels(row[6]),
        LANGUAGE_LABELS.get(row[7], row[7]),
        sms,
        whatsapp,
        telegram,
        row[8],  # consent_at
        opted,
        blocked_on,
        row[9],  # registered_at
        SEX_WORDS.get(row[10]),
        row[11],  # age band
        row[12],  # role
        DIRECTORY_WORDS.get(directory_status(row[8], row[13], row[14]) or ""),
    ]


async def member_rows(
    database: Database, audience: Audience, masked: bool
) -> AsyncIterator[Sequence[Any]]:
    """Every matching member, by id, PAGE at a time (two queries a page)."""
    conditions = roster_conditions(audience, database.engine.dialect.name)
    columns = (
        members.c.id, members.c.name, organisations.c.name.label("organisation"),
        organisations.c.kind, members.c.region, members.c.cercle,
        type_coerce(members.c.themes, String).label("themes"),
        members.c.language, members.c.consent_at, members.c.registered_at,
        members.c.sex, members.c.age_band, members.c.role, members.c.imported_at,
        members.c.refused_at,
    )  # fmt: skip
    joined = members.outerjoin(organisations, organisations.c.id == members.c.organisation_id)

    async def fetch(after: int) -> tuple[list[Any], list[Any]]:
        page_query = (
            select(*columns)
            .select_from(joined)
            .where(*conditions, members.c.id > after)
            .order_by(members.c.id)
            .limit(PAGE)
        )
        async with database.sessions() as session:
            page = list((await session.execute(page_query)).all())
            if not page:
                return [], []
            found = (
                await session.execute(
                    select(
                        addresses.c.member_id,
                        addresses.c.channel,
                        addresses.c.address,
                        addresses.c.opted_out_at,
                        addresses.c.blocked_at,
                    )
                    .where(addresses.c.member_id.in_([row[0] for row in page]))
                    .order_by(addresses.c.member_id, addresses.c.id)
                )
            ).all()
        return page, list(found)

    # The next page is read while this one is written: the database works in its own thread.
    upcoming = asyncio.ensure_future(fetch(0))
    try:
        while True:
            page, found = await upcoming
            if not page:
                return
            upcoming = asyncio.ensure_future(fetch(page[-1][0]))
            by_member: dict[int, list[Any]] = {}
            for member_id, *address in found:
                by_member.setdefault(member_id, []).append(address)
            for row in page:
                yield _member_row(row, by_member.get(row[0], ()), masked)
    finally:
        if not upcoming.done():
            upcoming.cancel()


async def organisation_rows(database: Database, audience: Audience) -> AsyncIterator[Sequence[Any]]:
    """Every organisation with its number of matching members (few rows: one query)."""
    conditions = roster_conditions(audience, database.engine.dialect.name)
    filtered = bool(conditions[1:])  # beyond "not erased"
    on = and_(members.c.organisation_id == organisations.c.id, *conditions)
    count = func.count(members.c.id)
    query = (
        select(organisations.c.id, organisations.c.name, organisations.c.kind, count)
        .select_from(organisations.outerjoin(members, on))
        .group_by(organisations.c.id, organisations.c.name, organisations.c.kind)
        .order_by(organisations.c.name)
    )
    if filtered:
        query = query.having(count > 0)
    async with database.sessions() as session:
        rows = (await session.execute(query)).all()
    for row in rows:
        yield [row.id, row.name, KIND_LABELS.get(row.kind, row.kind), row[3]]


BREAKDOWN_HEADER = ("Répartition", "Groupe", "Sexe", "Tranche d'âge", "Membres")


async def breakdown_rows(database: Database, audience: Audience) -> AsyncIterator[Sequence[Any]]:
    """Matching members by sex and age band within each region, kind of organisation,
    language and channel (one row per group, sex and band); a breakdown, so 1-4 is "< 5".
    The last row says so."""
    conditions = roster_conditions(audience, database.engine.dialect.name)
    sex = func.coalesce(members.c.sex, "-")
    band = func.coalesce(members.c.age_band, "-")
    joined = members.outerjoin(organisations, organisations.c.id == members.c.organisation_id)
    dimensions: list[tuple[str, Any, Any]] = [
        ("Région", func.coalesce(members.c.region, "-"), joined),
        ("Type d'organisation", func.coalesce(organisations.c.kind, "-"), joined),
        ("Langue", members.c.language, joined),
        (
            "Canal",
            addresses.c.channel,
            joined.join(
                addresses,
                and_(addresses.c.member_id == members.c.id, addresses.c.opted_out_at.is_(None)),
            ),
        ),
    ]
    labels = {"Région": REGION_LABELS, "Langue": LANGUAGE_LABELS}
    async with database.sessions() as session:
        for name, group, source in dimensions:
            count = func.count(func.distinct(members.c.id))
            query = (
                select(group, sex, band, count)
                .select_from(source)
                .where(*conditions)
                .group_by(group, sex, band)
                .order_by(group, sex, band)
            )
            for value, sex_value, band_value, n in (await session.execute(query)).all():
                shown = labels.get(name, {}).get(value, value)
                yield [name, shown, SEX_WORDS.get(sex_value, sex_value), band_value,
                       suppress_small_cells(int(n))]  # fmt: skip
    yield ["*", SMALL_CELL_NOTE, None, None, None]


def roster_tables(
    database: Database, audience: Audience, masked: bool, table: str = "members"
) -> list[Table]:
    """The tables of a roster export; CSV takes the first, so `table` says which comes first."""
    tables = {
        "members": Table("Membres", MEMBER_HEADER, member_rows(database, audience, masked)),
        "organisations": Table(
            "Organisations", ORGANISATION_HEADER, organisation_rows(database, audience)
        ),
        "breakdown": Table("Répartition", BREAKDOWN_HEADER, breakdown_rows(database, audience)),
    }
    order = [table, *(name for name in tables if name != table)]
    return [tables[name] for name in order]


async def record_export(
    database: Database, actor: str, format_: str, audience: Audience, masked: bool, table: str
) -> None:
    """Every export is in the audit log, before the first byte leaves."""
    async with database.transaction() as connection:
        await audit.record(
            connection,
            actor,
            "export.roster",
            "members",
            {"format": format_, "table": table, "masked": masked, "audience": audience.to_json()},
        )
