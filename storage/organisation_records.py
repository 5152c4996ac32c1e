"""Organisations as records: kind, region, cercle, themes, whether active, a focal point for
reporting, their contact people with roles; and merging the duplicates typed-in names make
("AFEM" and "A.F.E.M."): members and reports move to the one kept, which remembers the other
name so that a later import or registration spelling it so finds it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.errors import FieldError, NotFound
from bot.vocabulary.reference import REGION_LABELS, THEME_LABELS
from bot.vocabulary.text import fold
from storage.directory import organisation_key
from storage.models import Member, Organisation, Report
from storage.organisation_list import kind_key, kinds_help

organisations, members, reports = Organisation.__table__, Member.__table__, Report.__table__
EDITABLE = ("kind", "region", "cercle", "themes", "active", "listed", "focal_member_id")


async def find(connection: AsyncConnection, name_or_id: str | int) -> Any:
    """The organisation of that id, name (any spelling) or merged name; NotFound otherwise."""
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        row = (
            await connection.execute(
                select(organisations).where(organisations.c.id == int(name_or_id))
            )
        ).first()
    else:
        key = fold(str(name_or_id))
        row = (
            await connection.execute(select(organisations).where(organisations.c.name_key == key))
        ).first()
        if row is None:
            compact = organisation_key(str(name_or_id))
            for candidate in await connection.execute(select(organisations)):
                keys = {candidate.name_key, *(candidate.aliases or ())}
                if compact in {organisation_key(k) for k in keys}:
                    row = candidate
                    break
    if row is None:
        raise NotFound(f"no organisation {name_or_id!r}", field="organisation")
    return row


async def record(connection: AsyncConnection, name_or_id: str | int) -> dict[str, Any]:
    """One organisation with its contact people (name, role, whether focal point)."""
    row = await find(connection, name_or_id)
    people = await connection.execute(
        select(members.c.id, members.c.name, members.c.role, members.c.consent_at)
        .where(members.c.organisation_id == row.id, members.c.erased_at.is_(None))
        .order_by(members.c.name)
    )
    contacts = [
        {
            "member_id": person.id,
            "name": person.name,
            "role": person.role,
            "focal_point": person.id == row.focal_member_id,
            "joined": person.consent_at is not None,
        }
        for person in people
    ]
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "region": row.region,
        "cercle": row.cercle,
        "themes": list(row.themes or []),
        "active": row.active,
        "listed": row.listed,
        "focal_member_id": row.focal_member_id,
        "also_named": list(row.aliases or []),
        "contacts": contacts,
    }


def clean_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Validated column values from the API's or the CLI's fields; FieldError naming one."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise FieldError(
            sorted(unknown)[0], f"cannot be changed (these can: {', '.join(EDITABLE)})"
        )
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "kind":
            values[name] = kind_key(str(value)) if value else None
            if value and values[name] is None:
                raise FieldError("kind", f"unknown kind {value!r} (one of: {kinds_help()})")
        elif name == "region":
            if value and value not in REGION_LABELS:
                raise FieldError("region", f"unknown region {value!r}")
            values[name] = value or None
        elif name == "themes":
            themes = value if isinstance(value, list) else [v for v in str(value).split(",") if v]
            wrong = [theme for theme in themes if theme not in THEME_LABELS]
            if wrong:
                raise FieldError("themes", f"unknown theme {wrong[0]!r}")
            values[name] = themes
        elif name in ("active", "listed"):
            if not isinstance(value, bool):
                raise FieldError(name, "must be true or false")
            values[name] = value
        elif name == "focal_member_id":
            if value is not None and not isinstance(value, int):
                raise FieldError(name, "must be a member's id or null")
            values[name] = value
        else:  # cercle
            values[name] = " ".join(str(value).split())[:200] or None
    return values


async def change(
    connection: AsyncConnection, name_or_id: str | int, changes: dict[str, Any]
) -> int:
    row = await find(connection, name_or_id)
    values = clean_changes(changes)
    focal = values.get("focal_member_id")
    if focal is not None:
        owner = await connection.scalar(
            select(members.c.organisation_id).where(
                members.c.id == focal, members.c.erased_at.is_(None)
            )
        )
        if owner != row.id:
            raise FieldError("focal_member_id", "is not a member of this organisation")
    if values:
        await connection.execute(
            update(organisations).where(organisations.c.id == row.id).values(values)
        )
    return int(row.id)


async def merge(
    connection: AsyncConnection, keep: str | int, duplicates: Sequence[str | int]
) -> dict[str, Any]:
    """Fold the duplicates into `keep`: their members and reports, their empty-here fields,
    their names (kept as aliases); the duplicates' records go."""
    kept = await find(connection, keep)
    moved_members = moved_reports = 0
    aliases = list(kept.aliases or [])
    fill: dict[str, Any] = {}
    merged_names = []
    for name in duplicates:
        other = await find(connection, name)
        if other.id == kept.id:
            raise FieldError("duplicates", f"{name!r} is the organisation kept")
        merged_names.append(other.name)
        result = await connection.execute(
            update(members)
            .where(members.c.organisation_id == other.id)
            .values(organisation_id=kept.id)
        )
        moved_members += result.rowcount or 0
        result = await connection.execute(
            update(reports)
            .where(reports.c.organisation_id == other.id)
            .values(organisation_id=kept.id)
        )
        moved_reports += result.rowcount or 0
        for key in (other.name_key, *(other.aliases or ())):
            if key not in aliases and key != kept.name_key:
                aliases.append(key)
        for column in ("kind", "region", "cercle", "focal_member_id"):
            if getattr(kept, column) is None and getattr(other, column) is not None:
                fill.setdefault(column, getattr(other, column))
        if not kept.themes and other.themes:
            fill.setdefault("themes", list(other.themes))
        if other.listed and not kept.listed:
            fill["listed"] = True
        await connection.execute(delete(organisations).where(organisations.c.id == other.id))
    await connection.execute(
        update(organisations).where(organisations.c.id == kept.id).values(aliases=aliases, **fill)
    )
    return {
        "kept": kept.name,
        "merged": merged_names,
        "members_moved": moved_members,
        "reports_moved": moved_reports,
    }


async def likely_duplicates(connection: AsyncConnection) -> list[list[str]]:
    """Groups of organisations whose names are the same letters ("AFEM", "A.F.E.M.")."""
    groups: dict[str, list[str]] = {}
    query = select(organisations.c.name).order_by(
        func.length(organisations.c.name), organisations.c.name
    )
    for (name,) in await connection.execute(query):
        groups.setdefault(organisation_key(name), []).append(name)
    return [names for names in groups.values() if len(names) > 1]
