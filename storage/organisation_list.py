"""The coordination's list of member organisations: the choices offered at registration, and
the kinds a broadcast can target.

The secretariat keeps it as a CSV file (`nom,type`, UTF-8, `,` or `;`), imported with
`benkadi organisations import`; a file with bad lines is refused, each named as
FILE:LINE: FIELD: message, and nothing is stored. Organisations members type in themselves stay, unlisted, until a file or
`benkadi organisations add` lists them (and gives their kind).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.errors import FieldError, FieldErrors
from bot.vocabulary.reference import ORGANISATION_KINDS
from bot.vocabulary.text import fold
from storage.models import Member, Organisation
from storage.upsert import insert_ignore

organisations, members = Organisation.__table__, Member.__table__
MAX_NAME = 200
NAME_HEADERS = ("nom", "name", "organisation")
KIND_HEADERS = ("type", "kind")
MAX_WRONG = 50  # bad lines named at once; a file that has more is likely not this list at all
# A kind may be written as its key ("ong_nationale") or its French label ("ONG nationale").
_KIND_BY_WORD = {fold(word): key for key, label in ORGANISATION_KINDS for word in (key, label)}


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str | None


def kind_key(text: str) -> str | None:
    """ "ONG nationale", "ong_nationale", "Ong Nationale." → "ong_nationale"; None if unknown."""
    return _KIND_BY_WORD.get(fold(text.replace("_", " "))) or _KIND_BY_WORD.get(fold(text))


def kinds_help() -> str:
    return ", ".join(key for key, _label in ORGANISATION_KINDS)


def parse_entry(
    name: str,
    kind: str | None,
    source: str | None = None,
    line: int | None = None,
    fields: tuple[str, str] = ("nom", "type"),
) -> Entry:
    """One organisation; a FieldError placed at `source`:`line` if given, naming the field as
    the caller's input does (`fields`: the file's columns "nom", "type"; "name", "kind" for
    the CLI's options and the API's keys)."""
    name_field, kind_field = fields
    name = " ".join(name.split())
    if not name:
        raise FieldError(name_field, "is empty", source=source, line=line)
    if len(name) > MAX_NAME:
        raise FieldError(
            name_field, f"is longer than {MAX_NAME} characters", source=source, line=line
        )
    key = None
    if kind and kind.strip():
        key = kind_key(kind)
        if key is None:
            message = f"unknown kind {kind.strip()!r} (one of: {kinds_help()})"
            raise FieldError(kind_field, message, source=source, line=line)
    return Entry(name, key)


def decode_csv(raw: bytes, filename: str) -> tuple[str, str]:
    """(the text, its encoding): UTF-8, else Windows-1252 — what Excel's plain "CSV" is on a
    French Windows. A file that is neither (UTF-16, a spreadsheet) is refused, saying how to
    save it."""
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" not in raw:
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    message = 'cannot read it as text: in Excel, save it as "CSV UTF-8 (comma delimited)"'
    raise FieldErrors([FieldError("file", message, source=filename)])


def parse_csv(text: str, filename: str) -> list[Entry]:
    """The whole file, or FieldErrors naming every bad line (the first MAX_WRONG) and any
    unknown column: nothing half-read."""
    text = text.removeprefix("\ufeff")  # Excel writes a BOM
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO(text), dialect)
    header = [fold(cell) for cell in next(rows, [])]
    name_at = next((header.index(h) for h in NAME_HEADERS if h in header), None)
    if name_at is None:
        missing = FieldError("nom", "no `nom` column in the header", source=filename, line=1)
        raise FieldErrors([missing])
    kind_at = next((header.index(h) for h in KIND_HEADERS if h in header), None)
    entries: dict[str, Entry] = {}
    wrong: list[FieldError] = []
    unknown = [
        cell for cell in header if cell and cell not in NAME_HEADERS and cell not in KIND_HEADERS
    ]
    if unknown:  # a column that would be dropped unsaid (a town, a phone number…)
        names = ", ".join(repr(cell) for cell in unknown)
        message = f"unknown column {names}: the columns are nom and type"
        wrong.append(FieldError("header", message, source=filename, line=1))
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            if name_at >= len(row):
                raise FieldError("nom", "missing", source=filename, line=line)
            kind = row[kind_at] if kind_at is not None and kind_at < len(row) else None
            entry = parse_entry(row[name_at], kind, filename, line)
        except FieldError as error:
            wrong.append(error)
            if len(wrong) == MAX_WRONG:
                break
        else:
            entries[fold(entry.name)] = entry  # the same organisation twice: the last line wins
    if wrong:
        raise FieldErrors(wrong)
    return list(entries.values())


async def list_entries(connection: AsyncConnection, entries: Sequence[Entry]) -> int:
    """List these organisations (added if new, kind set when given); returns how many."""
    for entry in entries:
        key = fold(entry.name)
        await connection.execute(
            insert_ignore(connection, organisations, ["name_key"]).values(
                name=entry.name, name_key=key
            )
        )
        values: dict[str, Any] = {"listed": True, "name": entry.name}
        if entry.kind:
            values["kind"] = entry.kind
        await connection.execute(
            update(organisations).where(organisations.c.name_key == key).values(values)
        )
    return len(entries)


async def unlist_others(connection: AsyncConnection, entries: Sequence[Entry]) -> int:
    """Take off the list every organisation the file does not name (members keep theirs)."""
    keep = [fold(entry.name) for entry in entries]
    result = await connection.execute(
        update(organisations)
        .where(organisations.c.listed.is_(True), organisations.c.name_key.not_in(keep))
        .values(listed=False)
    )
    return result.rowcount or 0


async def set_listed(connection: AsyncConnection, name: str, listed: bool) -> bool:
    result = await connection.execute(
        update(organisations).where(organisations.c.name_key == fold(name)).values(listed=listed)
    )
    return bool(result.rowcount)


async def with_member_counts(connection: AsyncConnection) -> list[dict[str, Any]]:
    """Every organisation, listed first, with how many members name it (erased ones do not)."""
    counts = (
        select(members.c.organisation_id, func.count().label("members"))
        .where(members.c.erased_at.is_(None))
        .group_by(members.c.organisation_id)
        .subquery()
    )
    query = (
        select(
            organisations.c.id,
            organisations.c.name,
            organisations.c.kind,
            organisations.c.listed,
            func.coalesce(counts.c.members, 0).label("members"),
        )
        .outerjoin(counts, counts.c.organisation_id == organisations.c.id)
        .order_by(organisations.c.listed.desc(), organisations.c.name)
    )
    return [row._asdict() for row in await connection.execute(query)]
