"""A directory import, planned then applied: which rows create a person, which are merged
into one already known (the same E.164 number or Telegram username: never two members for
one number), and which are refused — all shown by a dry run before anything is written.

Imported people have not consented: they are stored with `imported_at` and no `consent_at`,
so no broadcast reaches them until they answer OUI to their invitation (bot/invitations.py).
A merge fills only what is empty: what a member said of themselves is never overwritten.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.channels import PHONE_CHANNELS
from bot.vocabulary.text import fold
from storage import members as member_store
from storage import suppression
from storage.directory_file import Entry, ParsedFile, Problem
from storage.models import Address, Member, Organisation
from storage.suppression import SuppressionKey

members, addresses, organisations = Member.__table__, Address.__table__, Organisation.__table__
CHUNK = 500
FOCAL_WORDS = ("point focal", "focal point", "focal")
# Said of every line of a person who erased themselves (OUBLIER): nothing of the line is shown
# back, not even which number matched (storage/suppression.py).
ERASED = "personne effacée à sa demande : pas réimportée"
TELEGRAM_ONLY = (
    "Telegram username only: no invitation can be sent (a Telegram bot cannot write first); "
    "imported, they join by opening the bot themselves"
)


@dataclass
class Person:
    """The rows of the file that are one person, and the member they already are, if any."""

    entries: list[Entry]
    member_id: int | None = None

    @property
    def first(self) -> Entry:
        return self.entries[0]

    def keys(self) -> set[str]:
        found: set[str] = set()
        for entry in self.entries:
            found.update(entry.phones)
            if entry.telegram:
                found.add("@" + entry.telegram)
        return found


@dataclass
class Plan:
    people: list[Person]
    problems: list[Problem]
    rows: int
    refused_lines: list[int] = field(default_factory=list)
    new_organisations: list[str] = field(default_factory=list)
    erased_lines: list[int] = field(default_factory=list)  # refused: they erased themselves
    telegram_only_lines: list[int] = field(default_factory=list)  # imported, not invitable
    unmatched_erasures: int = 0  # list entries made under another key: no longer matched

    @property
    def created(self) -> list[Person]:
        return [person for person in self.people if person.member_id is None]

    @property
    def merged(self) -> list[Person]:
        return [person for person in self.people if person.member_id is not None]

    def summary(self) -> dict[str, Any]:
        """The dry run's answer (and the import's): counts, then every line's fate."""
        created: list[dict[str, Any]] = []
        merged: list[dict[str, Any]] = []
        for person in self.people:
            first = person.first
            if person.member_id is None:
                created.append({"line": first.line, "name": first.name})
            else:
                merged.append(
                    {"line": first.line, "name": first.name, "into_member": person.member_id}
                )
            for entry in person.entries[1:]:  # later rows of the same person
                merged.append({"line": entry.line, "name": entry.name, "into_line": first.line})
        merged.sort(key=lambda item: int(item["line"]))
        return {
            "rows": self.rows,
            "created": len(created),
            "merged": len(merged),
            "refused": len(self.refused_lines),
            "erased": len(self.erased_lines),
            "telegram_only": len(self.telegram_only_lines),
            "organisations_created": len(self.new_organisations),
            "people": {
                "created": created,
                "merged": merged,
                "refused": self.refused_lines,
                "erased": self.erased_lines,
                "telegram_only": self.telegram_only_lines,
            },
            "organisations": self.new_organisations,
            "problems": [problem.as_json() for problem in self.problems],
        } | ({"unmatched_erasures": self.unmatched_erasures} if self.unmatched_erasures else {})


@functools.lru_cache(maxsize=8192)
def organisation_key(name: str) -> str:
    """Folded, and without dots, dashes or spaces between letters: "A.F.E.M." = "AFEM"."""
    return "".join(ch for ch in fold(name) if ch.isalnum())


async def organisation_index(connection: AsyncConnection) -> dict[str, int]:
    """Every organisation by its folded name, its compact key and its merged names' keys."""
    found: dict[str, int] = {}
    query = select(organisations.c.id, organisations.c.name_key, organisations.c.aliases)
    for row in await connection.execute(query):
        for key in (row.name_key, *(row.aliases or ())):
            found.setdefault(key, row.id)
            found.setdefault(organisation_key(key), row.id)
    return found


def _group(entries: Sequence[Entry], problems: list[Problem]) -> tuple[list[Person], list[int]]:
    """People of the file: rows sharing a number or a Telegram username are one person. A row
    whose numbers name two different people is refused (said, not guessed)."""
    people: list[Person] = []
    owner: dict[str, int] = {}
    refused: list[int] = []
    for entry in entries:
        keys = set(entry.phones) | ({"@" + entry.telegram} if entry.telegram else set())
        found = sorted({owner[key] for key in keys if key in owner})
        if len(found) > 1:
            lines = " and ".join(str(people[index].first.line) for index in found)
            message = f"its numbers belong to two different people (lines {lines}): refused"
            problems.append(Problem(entry.line, "telephone", message, refused=True))
            refused.append(entry.line)
            continue
        if found:
            index = found[0]
            people[index].entries.append(entry)
        else:
            index = len(people)
            people.append(Person([entry]))
        for key in keys:
            owner[key] = index
    return people, refused


async def _known_members(connection: AsyncConnection, keys: set[str]) -> dict[str, int]:
    """Key (E.164 number or "@username") → the member who has it, for the keys known."""
    phones = sorted(key for key in keys if not key.startswith("@"))
    names = sorted(key[1:] for key in keys if key.startswith("@"))
    found: dict[str, int] = {}
    for start in range(0, len(phones), CHUNK):
        query = select(addresses.c.address, addresses.c.member_id).where(
            addresses.c.channel.in_(PHONE_CHANNELS),
            addresses.c.address.in_(phones[start : start + CHUNK]),
            addresses.c.member_id.is_not(None),
        )
        for address, member_id in await connection.execute(query):
            found.setdefault(address, member_id)
    for start in range(0, len(names), CHUNK):
        query = select(members.c.telegram_username, members.c.id).where(
            members.c.telegram_username.in_(names[start : start + CHUNK]),
            members.c.erased_at.is_(None),
        )
        for username, member_id in await connection.execute(query):
            found.setdefault("@" + username, member_id)
    return found


def _suppression_entries(keys: set[str]) -> dict[tuple[str, str], str]:
    """A person's keys as the suppression list names them: (kind, value) → key."""
    return {
        ((suppression.USERNAME, key[1:]) if key.startswith("@") else (suppression.PHONE, key)): key
        for key in keys
    }


async def _erased_people(
    connection: AsyncConnection, key: SuppressionKey, people: list[Person], keys: set[str]
) -> set[int]:
    """The indexes of the people one of whose numbers or usernames erased themselves."""
    entries = _suppression_entries(keys)
    found = await suppression.suppressed(connection, key, entries)
    hit = {entries[entry] for entry in found}
    return {index for index, person in enumerate(people) if person.keys() & hit}


async def plan(
    connection: AsyncConnection, parsed: ParsedFile, erasure_key: SuppressionKey
) -> Plan:
    """What the import would do, reading only: the dry run, and the first half of the import.

    A person one of whose numbers (or Telegram username) is on the erasure suppression list is
    left out whole, every line of theirs named, nothing of them written: they asked to be
    forgotten, and only they can come back (storage/suppression.py)."""
    problems = list(parsed.problems)
    people, refused = _group(parsed.entries, problems)
    refused += sorted({p.line for p in parsed.problems if p.refused})
    all_keys = set().union(*(person.keys() for person in people)) if people else set()
    erased_people = await _erased_people(connection, erasure_key, people, all_keys)
    said = [
        Problem(entry.line, "telephone" if entry.phones else "telegram", ERASED, refused=True)
        for number in sorted(erased_people)
        for entry in people[number].entries
    ]
    erased_lines = [problem.line for problem in said]
    hidden = set(erased_lines)  # nothing else of such a line is said
    problems = [p for p in problems if p.line not in hidden] + said
    refused += erased_lines
    people = [person for number, person in enumerate(people) if number not in erased_people]
    all_keys = set().union(*(person.keys() for person in people)) if people else set()
    known = await _known_members(connection, all_keys)
    kept: list[Person] = []
    for person in people:
        ids = sorted({known[key] for key in person.keys() if key in known})
        if len(ids) > 1:
            message = "its numbers belong to two members already: merge them first; refused"
            for entry in person.entries:
                problems.append(Problem(entry.line, "telephone", message, refused=True))
                refused.append(entry.line)
            continue
        person.member_id = ids[0] if ids else None
        kept.append(person)
    index = await organisation_index(connection)
    new_organisations: dict[str, str] = {}
    for person in kept:
        entry = _merged_entry(person.entries)  # a person's first organisation is theirs
        if entry.organisation:
            key = organisation_key(entry.organisation)
            if fold(entry.organisation) not in index and key not in index:
                new_organisations.setdefault(key, entry.organisation)
    telegram_only: list[int] = []
    for person in kept:
        if person.member_id is None and not _merged_entry(person.entries).phones:
            telegram_only.append(person.first.line)
            problems.append(
                Problem(person.first.line, "telegram", TELEGRAM_ONLY, False, "not_invited")
            )
    problems.sort(key=lambda problem: (problem.line, problem.field))
    return Plan(
        kept,
        problems,
        parsed.rows,
        sorted(set(refused)),
        list(new_organisations.values()),
        sorted(erased_lines),
        telegram_only,
        await suppression.other_keys(connection, erasure_key),
    )


# --- applying ------------------------------------------------------------------------------
def _merged_entry(entries: Iterable[Entry]) -> Entry:
    """The rows of one person as one: the first value given wins; phones and themes add up."""
    rows = list(entries)
    first = rows[0]
    merged = Entry(line=first.line, name=first.name)
    for entry in rows:
        for name in ("telegram", "organisation", "kind", "region", "cercle", "language",
                     "sex", "age_band", "role", "email"):  # fmt: skip
            if getattr(merged, name) is None and getattr(entry, name) is not None:
                setattr(merged, name, getattr(entry, name))
        merged.phones += [number for number in entry.phones if number not in merged.phones]
        merged.themes += [theme for theme in entry.themes if theme not in merged.themes]
    return merged


async def _organisation_ids(
    connection: AsyncConnection, people: Sequence[tuple[Person, Entry]], now: datetime
) -> dict[str, int]:
    """Organisation key → id, creating those not known; fills their empty fields."""
    index = await organisation_index(connection)
    wanted: dict[str, Entry] = {}
    for _person, entry in people:
        if entry.organisation:
            wanted.setdefault(organisation_key(entry.organisation), entry)
    ids: dict[str, int] = {}
    new: list[dict[str, Any]] = []
    for key, entry in wanted.items():
        assert entry.organisation is not None
        found = index.get(fold(entry.organisation)) or index.get(key)
        if found is None:
            new.append({"name": entry.organisation, "name_key": fold(entry.organisation)})
        else:
            ids[key] = found
    if new:  # one statement for all the new ones (names already checked against every alias)
        made = await connection.execute(
            organisations.insert().returning(
                organisations.c.id, organisations.c.name, sort_by_parameter_order=True
            ),
            [{**values, "created_at": now} for values in new],
        )
        for organisation_id, name in made:
            ids[organisation_key(name)] = organisation_id
    rows = await connection.execute(
        select(organisations).where(organisations.c.id.in_(list(set(ids.values()))))
    )
    by_id = {row.id: row for row in rows}
    for key, entry in wanted.items():
        row = by_id[ids[key]]
        values: dict[str, Any] = {}
        for column, value in (("kind", entry.kind), ("region", entry.region),
                              ("cercle", entry.cercle)):  # fmt: skip
            if getattr(row, column) is None and value is not None:
                values[column] = value
        if not row.themes and entry.themes:
            values["themes"] = list(entry.themes)
        if values:
            await connection.execute(
                update(organisations).where(organisations.c.id == row.id).values(values)
            )
    return ids


def _member_values(entry: Entry, organisation_id: int | None) -> dict[str, Any]:
    return {
        "name": entry.name,
        "organisation_id": organisation_id,
        "region": entry.region,
        "cercle": entry.cercle,
        "themes": list(entry.themes),
        "language": entry.language or "fr",
        "sex": entry.sex,
        "age_band": entry.age_band,
        "role": entry.role,
        "email": entry.email,
        "telegram_username": entry.telegram,
    }


async def apply(connection: AsyncConnection, plan: Plan, now: datetime) -> dict[str, list[int]]:
    """Write the plan in the caller's transaction; returns the created and merged member ids."""
    people = [(person, _merged_entry(person.entries)) for person in plan.people]
    organisation_ids = await _organisation_ids(connection, people, now)

    def organisation_of(entry: Entry) -> int | None:
        return (
            organisation_ids[organisation_key(entry.organisation)] if entry.organisation else None
        )

    created = [(person, entry) for person, entry in people if person.member_id is None]
    new_ids: list[int] = []
    for start in range(0, len(created), CHUNK):
        chunk = created[start : start + CHUNK]
        values = [
            {
                **_member_values(entry, organisation_of(entry)),
                "consent_at": None,
                "imported_at": now,
                "registered_at": now,
                "updated_at": now,
            }
            for _person, entry in chunk
        ]
        result = await connection.execute(
            members.insert().returning(members.c.id, sort_by_parameter_order=True), values
        )
        ids = list(result.scalars())
        for (person, _entry), member_id in zip(chunk, ids, strict=True):
            person.member_id = member_id
        new_ids += ids
    created_ids = set(new_ids)
    merged_ids = await _fill_merged(
        connection, [(p, e) for p, e in people if p.member_id not in created_ids], organisation_of
    )
    await _attach_phones(connection, people, now)
    await _focal_points(connection, people, organisation_of)
    return {"created": new_ids, "merged": merged_ids}


async def _fill_merged(connection: AsyncConnection, people, organisation_of) -> list[int]:
    """A known member gets what the file adds and they had left empty, nothing more."""
    ids = [person.member_id for person, _entry in people]
    current: dict[int, Any] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(members).where(members.c.id.in_(ids[start : start + CHUNK]))
        current.update({row.id: row for row in await connection.execute(query)})
    for person, entry in people:
        row = current[person.member_id]
        wanted = _member_values(entry, organisation_of(entry))
        values = {
            column: value
            for column, value in wanted.items()
            if value not in (None, [])
            and getattr(row, column) in (None, [])
            and column != "language"
        }
        if values:
            await member_store.update_member(connection, person.member_id, **values)
    return ids


async def _attach_phones(connection: AsyncConnection, people, now: datetime) -> None:
    """Every number of the file becomes the person's SMS address (created if new, attached if
    it was a stranger's: a number that said STOP before keeps its STOP)."""
    keys = sorted({("sms", number) for _person, entry in people for number in entry.phones})
    rows: dict[tuple[str, str], Any] = {}
    for start in range(0, len(keys), CHUNK):
        rows.update(await member_store.addresses_for(connection, keys[start : start + CHUNK]))
    changes = [
        {"address_id": rows[("sms", number)].id, "owner": person.member_id}
        for person, entry in people
        for number in entry.phones
        if rows[("sms", number)].member_id is None
    ]
    if changes:
        await connection.execute(
            update(addresses)
            .where(addresses.c.id == bindparam("address_id"))
            .values(member_id=bindparam("owner")),
            changes,
        )
    # The same number on WhatsApp, seen before without a member, is the same person.
    numbers = {number: person.member_id for person, entry in people for number in entry.phones}
    whatsapp = sorted(numbers)
    for start in range(0, len(whatsapp), CHUNK):
        query = select(addresses.c.id, addresses.c.address).where(
            addresses.c.channel == "whatsapp",
            addresses.c.address.in_(whatsapp[start : start + CHUNK]),
            addresses.c.member_id.is_(None),
        )
        siblings = [
            {"address_id": row.id, "owner": numbers[row.address]}
            for row in await connection.execute(query)
        ]
        if siblings:
            await connection.execute(
                update(addresses)
                .where(addresses.c.id == bindparam("address_id"))
                .values(member_id=bindparam("owner")),
                siblings,
            )


async def _focal_points(connection: AsyncConnection, people, organisation_of) -> None:
    """A person whose role says "point focal" becomes their organisation's focal point, if it
    has none yet."""
    chosen: dict[int, int] = {}
    for person, entry in people:
        organisation_id = organisation_of(entry)
        role = fold(entry.role or "")
        if organisation_id and any(word in role for word in FOCAL_WORDS):
            chosen.setdefault(organisation_id, person.member_id)
    for organisation_id, member_id in chosen.items():
        await connection.execute(
            update(organisations)
            .where(organisations.c.id == organisation_id, organisations.c.focal_member_id.is_(None))
            .values(focal_member_id=member_id)
        )
