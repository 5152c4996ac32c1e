"""The audience of a broadcast as SQL: who is reached, on which address, and who is left out.

Built as Core statements so that fan-out and preview run in the database, for any number of
members, without loading them into Python.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql

from bot.vocabulary.channels import PREFERENCE
from broadcasts.model import BAMAKO, Audience
from storage.models import Address, Member, Organisation

members, addresses, organisations = Member.__table__, Address.__table__, Organisation.__table__

# Most preferred first: Telegram costs nothing, WhatsApp little, SMS the most.
# One reason per excluded member; the order in which they are considered.
# Imported from the directory and not joined: "invited" (no answer yet) or "refused" (STOP).
EXCLUSION_REASONS = (
    "refused",
    "invited",
    "no_consent",
    "opted_out",
    "blocked",
    "invalid",
    "no_channel",
)


def allowed_channels(audience: Audience, enabled_channels: Collection[str]) -> tuple[str, ...]:
    """The channels this broadcast may use: enabled, and asked for (all when none asked for)."""
    return tuple(
        channel
        for channel in PREFERENCE
        if channel in enabled_channels and (not audience.channels or channel in audience.channels)
    )


def start_of_day(day: date) -> datetime:
    """Midnight in Mali on that day, in UTC."""
    return datetime.combine(day, time(), BAMAKO).astimezone(UTC)


def has_any_theme(themes: Collection[str], dialect: str) -> ColumnElement[bool]:
    """members.themes (a JSON list) shares at least one element with `themes`."""
    if dialect == "postgresql":
        # ?| on jsonb: true for an array holding any of the strings; false, not an error, for
        # a JSON null or scalar (json_array_elements_text would raise on those).
        wanted = postgresql.array([literal(theme, Text) for theme in themes])
        return cast(members.c.themes, postgresql.JSONB).has_any(wanted)
    element = func.json_each(members.c.themes).table_valued("value")
    return exists(select(1).select_from(element).where(element.c.value.in_(list(themes))))


def member_filters(audience: Audience, dialect: str) -> list[ColumnElement[bool]]:
    """Members the audience designates, consent or not: not erased, every filter given."""
    conditions: list[ColumnElement[bool]] = [members.c.erased_at.is_(None)]
    if audience.regions:
        conditions.append(members.c.region.in_(audience.regions))
    if audience.themes:
        conditions.append(has_any_theme(audience.themes, dialect))
    if audience.languages:
        conditions.append(members.c.language.in_(audience.languages))
    if audience.organisation_kinds or audience.organisations:
        # A subquery rather than a join: no join at all for the usual audience without it.
        chosen = select(organisations.c.id)
        if audience.organisation_kinds:
            chosen = chosen.where(organisations.c.kind.in_(audience.organisation_kinds))
        if audience.organisations:
            chosen = chosen.where(organisations.c.name.in_(audience.organisations))
        conditions.append(members.c.organisation_id.in_(chosen))
    if audience.sexes:
        conditions.append(members.c.sex.in_(audience.sexes))
    if audience.age_bands:
        conditions.append(members.c.age_band.in_(audience.age_bands))
    if audience.registered_since:
        conditions.append(members.c.registered_at >= start_of_day(audience.registered_since))
    return conditions


def usable() -> ColumnElement[bool]:
    """An address that may get a broadcast: not opted out, blocked or invalid."""
    return and_(
        addresses.c.opted_out_at.is_(None),
        addresses.c.blocked_at.is_(None),
        addresses.c.invalid_at.is_(None),
    )


def ranked_addresses(
    audience: Audience, enabled_channels: Collection[str], dialect: str
) -> Subquery:
    """Every usable address of every reachable member, with `choice` = 1 on the one to use.

    Columns: member_id, language, address_id, channel, recipient, choice.
    """
    channels = allowed_channels(audience, enabled_channels)
    preference = {channel: index for index, channel in enumerate(channels)}
    rank = case(preference, value=addresses.c.channel) if preference else literal(0)
    choice = (
        func.row_number()
        .over(partition_by=addresses.c.member_id, order_by=(rank, addresses.c.id))
        .label("choice")
    )
    return (
        select(
            members.c.id.label("member_id"),
            members.c.language,
            addresses.c.id.label("address_id"),
            addresses.c.channel,
            addresses.c.address.label("recipient"),
            choice,
        )
        .select_from(members.join(addresses, addresses.c.member_id == members.c.id))
        .where(
            *member_filters(audience, dialect),
            members.c.consent_at.is_not(None),
            addresses.c.channel.in_(channels),
            usable(),
        )
        .subquery("ranked")
    )


def reachable(audience: Audience, enabled_channels: Collection[str], dialect: str) -> Select:
    """One row per member reached: member_id, language, address_id, channel, recipient."""
    ranked = ranked_addresses(audience, enabled_channels, dialect)
    return select(
        ranked.c.member_id,
        ranked.c.language,
        ranked.c.address_id,
        ranked.c.channel,
        ranked.c.recipient,
    ).where(ranked.c.choice == 1)


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    # Never NULL here: the outer join gives every member's group at least one row.
    return func.sum(case((condition, 1), else_=0))


def exclusions(audience: Audience, enabled_channels: Collection[str], dialect: str) -> Select:
    """One row per member the filters designate but nobody can reach: member_id, reason.

    Without consent: "refused" or "invited" if imported (see EXCLUSION_REASONS), else
    "no_consent". Else, among their addresses on the allowed channels: none at
    all is "no_channel"; when every one is opted out, blocked or invalid, the most common of
    these marks (ties in the order opted_out, blocked, invalid).
    """
    channels = allowed_channels(audience, enabled_channels)
    on_channel = and_(addresses.c.member_id == members.c.id, addresses.c.channel.in_(channels))
    total = func.count(addresses.c.id)
    opted = _count_where(addresses.c.opted_out_at.is_not(None))
    blocked = _count_where(addresses.c.blocked_at.is_not(None))
    invalid = _count_where(addresses.c.invalid_at.is_not(None))
    usable_count = _count_where(and_(addresses.c.id.is_not(None), usable()))
    # consent_at is functionally dependent on members.id: both databases accept it ungrouped
    # inside an aggregate, and min() keeps the statement standard.
    no_consent = func.min(members.c.consent_at).is_(None)
    reason = case(
        (and_(no_consent, func.min(members.c.refused_at).is_not(None)), "refused"),
        (and_(no_consent, func.min(members.c.imported_at).is_not(None)), "invited"),
        (no_consent, "no_consent"),
        (total == 0, "no_channel"),
        (and_(opted >= blocked, opted >= invalid), "opted_out"),
        (blocked >= invalid, "blocked"),
        else_="invalid",
    )
    return (
        select(members.c.id.label("member_id"), reason.label("reason"))
        .select_from(members.outerjoin(addresses, on_channel))
        .where(*member_filters(audience, dialect))
        .group_by(members.c.id)
        .having(or_(no_consent, usable_count == 0))
    )
