"""Retention: what is kept how long, and the purge that applies it (daily, by the scheduler;
`benkadi privacy purge`).

What goes, past each period of the schedule:
- messages: the text of members' messages and of the replies to them (the rows stay, empty);
- deliveries: a broadcast's outbox rows, counted first into broadcast_delivery_counts so its
  totals stay what they were (broadcasts/service.py adds the two);
- report_text: an activity report's free text, photo and reporter; its figures, place,
  activity and organisation stay, so every total of the reports is unchanged;
- poll_text: the free text of poll answers (a text question's answer, an "other"); the answer
  row stays, so every count of a poll is unchanged;
- departed: members whose every address said STOP (or blocked us, or stopped existing), or who
  never consented, are erased as OUBLIER erases them; addresses of people who wrote but never
  registered are deleted. An address that said STOP keeps only its number and the date, with
  no member: an objection must outlive the purge (a new directory import must not invite it);
- erased: the erasure suppression list (storage/suppression.py: a keyed hash of each address
  of whoever erased themselves, and the day). Kept for ever by default: the protection it gives
  (never imported, invited or sent a link code again) is needed as long as the coordination
  imports directories; a deployment may set a period (`erased=3650`).

Every step works in small batches, one short transaction each, so that webhooks waiting for
SQLite's one writer get their turn in between. Photo files are removed after the commit; on
SQLite the WAL is emptied after the purge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, exists, func, literal, not_, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.phones import without_numbers
from storage import audit, provider_media
from storage import members as member_store
from storage.database import Database
from storage.models import (
    Address,
    BroadcastDeliveryCount,
    Conversation,
    ErasureSuppression,
    InboundMessage,
    Member,
    OutboxMessage,
    PollResponse,
    Report,
)
from storage.outbox.states import OutboxStatus

addresses, members, inbound = Address.__table__, Member.__table__, InboundMessage.__table__
outbox, reports, delivery_counts = (
    OutboxMessage.__table__,
    Report.__table__,
    BroadcastDeliveryCount.__table__,
)
conversations, responses = Conversation.__table__, PollResponse.__table__
suppressions = ErasureSuppression.__table__
log = logging.getLogger(__name__)

BATCH = 500  # rows per transaction: a few milliseconds of SQLite's write lock
# A departed member is erased as OUBLIER erases (about twenty statements each): fewer per
# transaction, so that one batch holds the writer about as long as the others.
MEMBER_BATCH = 25
PURGE_ACTION = "privacy.purge"
PURGE_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    """How long each kind of data is kept; None keeps it for ever."""

    messages: timedelta | None = timedelta(days=90)
    deliveries: timedelta | None = timedelta(days=365)
    report_text: timedelta | None = timedelta(days=730)
    poll_text: timedelta | None = timedelta(days=365)
    departed: timedelta | None = timedelta(days=180)
    erased: timedelta | None = None  # the erasure suppression list: kept (see above)

    def days(self) -> dict[str, int | None]:
        """Each period in days (None: kept), as the register and the CLI show them."""
        return {
            f.name: (None if (value := getattr(self, f.name)) is None else value.days)
            for f in fields(self)
        }


def parse_schedule(raw: str | None) -> Schedule:
    """ "messages=90, deliveries=365, report_text=730, poll_text=365, departed=180,
    erased=forever" (days, or "forever");
    a kind left out keeps its default. Raises ValueError naming what will not do."""
    periods: dict[str, timedelta | None] = {}
    names = {f.name for f in fields(Schedule)}
    for part in (raw or "").replace(";", ",").split(","):
        if not part.strip():
            continue
        name, _, value = (piece.strip().lower() for piece in part.partition("="))
        if name not in names:
            raise ValueError(f"knows {', '.join(sorted(names))}, not {name!r}")
        if value == "forever":
            periods[name] = None
        elif value.isdigit() and int(value) > 0:
            periods[name] = timedelta(days=int(value))
        else:
            raise ValueError(f"{name} must be a number of days or forever, not {value!r}")
    return Schedule(**periods)


# What a purge counts, in the order it runs.
KINDS = (
    "conversations",
    "message_bodies",
    "reply_bodies",
    "delivery_rows",
    "report_texts",
    "poll_texts",
    "departed_members",
    "stranger_addresses",
    "erasure_suppressions",
)


def _cutoff(now: datetime, period: timedelta | None) -> datetime | None:
    return None if period is None else now - period


# --- what each kind selects ----------------------------------------------------------------
def _conversations(cut: datetime) -> tuple[Any, Any]:
    # An unfinished dialogue's answers so far (a report draft, a registration).
    return conversations.c.address_id, conversations.c.updated_at < cut


def _message_bodies(cut: datetime) -> tuple[Any, Any]:
    return inbound.c.id, and_(inbound.c.body.is_not(None), inbound.c.received_at < cut)


def _reply_bodies(cut: datetime) -> tuple[Any, Any]:
    return outbox.c.id, and_(
        outbox.c.broadcast_id.is_(None),
        outbox.c.status != OutboxStatus.QUEUED,
        outbox.c.created_at < cut,
        or_(outbox.c.body != "", outbox.c.choices.is_not(None)),
    )


def _delivery_rows(cut: datetime) -> tuple[Any, Any]:
    return outbox.c.id, and_(
        outbox.c.broadcast_id.is_not(None),
        outbox.c.status != OutboxStatus.QUEUED,
        outbox.c.created_at < cut,
    )


def _report_texts(cut: datetime) -> tuple[Any, Any]:
    return reports.c.id, and_(reports.c.text_purged_at.is_(None), reports.c.submitted_at < cut)


def _poll_texts(cut: datetime) -> tuple[Any, Any]:
    return responses.c.id, and_(responses.c.text.is_not(None), responses.c.answered_at < cut)


def _departed_members(cut: datetime) -> tuple[Any, Any]:
    theirs = addresses.c.member_id == members.c.id
    reachable = exists().where(
        theirs,
        or_(addresses.c.opted_out_at.is_(None), addresses.c.opted_out_at >= cut),
        or_(addresses.c.blocked_at.is_(None), addresses.c.blocked_at >= cut),
        or_(addresses.c.invalid_at.is_(None), addresses.c.invalid_at >= cut),
    )
    never_consented = members.c.consent_at.is_(None)
    return members.c.id, and_(
        members.c.erased_at.is_(None),
        members.c.updated_at < cut,
        or_(never_consented, not_(reachable)),
    )


def _stranger_addresses(cut: datetime) -> tuple[Any, Any]:
    recent = exists().where(inbound.c.address_id == addresses.c.id, inbound.c.received_at >= cut)
    return addresses.c.id, and_(
        addresses.c.member_id.is_(None),
        addresses.c.opted_out_at.is_(None),  # a STOP is kept: the number is never written to
        addresses.c.created_at < cut,
        not_(recent),
    )


def _erasure_suppressions(cut: datetime) -> tuple[Any, Any]:
    return suppressions.c.id, suppressions.c.erased_on < cut.date()


SELECTORS: dict[str, tuple[str, Callable[[datetime], tuple[Any, Any]]]] = {
    "conversations": ("messages", _conversations),
    "message_bodies": ("messages", _message_bodies),
    "reply_bodies": ("messages", _reply_bodies),
    "delivery_rows": ("deliveries", _delivery_rows),
    "report_texts": ("report_text", _report_texts),
    "poll_texts": ("poll_text", _poll_texts),
    "departed_members": ("departed", _departed_members),
    "stranger_addresses": ("departed", _stranger_addresses),
    "erasure_suppressions": ("erased", _erasure_suppressions),
}


# --- applying one batch --------------------------------------------------------------------
async def _apply(
    connection: AsyncConnection, kind: str, ids: list[int], now: datetime, files: list[str]
) -> None:
    if kind == "conversations":
        await connection.execute(delete(conversations).where(conversations.c.address_id.in_(ids)))
    elif kind == "message_bodies":
        await connection.execute(update(inbound).where(inbound.c.id.in_(ids)).values(body=None))
    elif kind == "reply_bodies":
        await connection.execute(
            update(outbox).where(outbox.c.id.in_(ids)).values(body="", choices=None)
        )
    elif kind == "delivery_rows":
        await _count_then_delete(connection, ids, now)
    elif kind == "report_texts":
        files += [
            path
            for path in await connection.scalars(
                select(reports.c.media_path).where(
                    reports.c.id.in_(ids), reports.c.media_path.is_not(None)
                )
            )
            if path
        ]
        held = await connection.execute(
            select(reports.c.media_kind, reports.c.media_ref).where(
                reports.c.id.in_(ids), reports.c.media_path.is_(None)
            )
        )  # a photo Twilio still holds (not fetched yet) is deleted there too
        await provider_media.to_delete(connection, [tuple(row) for row in held], now)
        await connection.execute(
            update(reports)
            .where(reports.c.id.in_(ids))
            .values(
                description="",
                member_id=None,
                media_kind=None,
                media_ref=None,
                media_path=None,
                media_error=None,
                media_next_attempt_at=None,
                text_purged_at=now,
            )
        )
    elif kind == "poll_texts":
        await connection.execute(update(responses).where(responses.c.id.in_(ids)).values(text=None))
    elif kind == "departed_members":
        departed_addresses: list[int] = []
        for member_id in ids:
            erased = await member_store.erase_member(connection, member_id, now)
            departed_addresses += erased.address_ids
            files += erased.photos  # removed once the batch commits, like report photos
        await _keep_only_stops(connection, departed_addresses)  # the batch's, in one go
    elif kind == "stranger_addresses":
        # The replies they got name their number (the rows stay: counts of messages); the
        # rows lose it with the address, as an erased member's do.
        await connection.execute(
            update(outbox)
            .where(outbox.c.address_id.in_(ids))
            .values(body="", recipient="", choices=None)
        )
        await connection.execute(
            update(inbound).where(inbound.c.address_id.in_(ids)).values(body=None)
        )
        await member_store.delete_addresses(connection, ids)
    elif kind == "erasure_suppressions":
        await connection.execute(delete(suppressions).where(suppressions.c.id.in_(ids)))


async def _keep_only_stops(connection: AsyncConnection, address_ids: list[int]) -> None:
    """A departed member's addresses go, except those that said STOP: the number and the date
    stay, nobody's (member_id NULL), so that a directory imported again does not invite them
    again (the right to object outlives the data; storage/directory.py keeps a number's STOP)."""
    stopped = and_(addresses.c.id.in_(address_ids), addresses.c.opted_out_at.is_not(None))
    await connection.execute(
        update(addresses).where(stopped).values(member_id=None, language=None, last_inbound_at=None)
    )
    await member_store.delete_addresses(
        connection,
        list(
            await connection.scalars(
                select(addresses.c.id).where(
                    addresses.c.id.in_(address_ids), addresses.c.opted_out_at.is_(None)
                )
            )
        ),
    )


async def _count_then_delete(connection: AsyncConnection, ids: list[int], now: datetime) -> None:
    """The rows' counts go into broadcast_delivery_counts in the transaction that deletes them."""
    key = (
        outbox.c.broadcast_id,
        outbox.c.channel,
        outbox.c.status,
        outbox.c.error_code,
        outbox.c.error_message,
    )
    grouped = await connection.execute(
        select(*key, func.count()).where(outbox.c.id.in_(ids)).group_by(*key)
    )
    merged: dict[tuple[Any, ...], int] = {}
    for broadcast_id, channel, status, code, message, n in grouped:
        # A number a provider named in its error (rows stored before the channels hid it) does
        # not outlive the row in its counts.
        message = None if message is None else without_numbers(message)
        key_of = (broadcast_id, channel, status, code, message)
        merged[key_of] = merged.get(key_of, 0) + n
    counted = [
        {
            "broadcast_id": broadcast_id,
            "channel": channel,
            "status": status,
            "error_code": code,
            "error_message": message,
            "rows": n,
            "purged_at": now,
        }
        for (broadcast_id, channel, status, code, message), n in merged.items()
    ]
    if counted:
        await connection.execute(delivery_counts.insert(), counted)
    await connection.execute(delete(outbox).where(outbox.c.id.in_(ids)))


# --- the purge -----------------------------------------------------------------------------
async def plan(database: Database, schedule: Schedule, now: datetime) -> dict[str, int]:
    """What a purge now would remove, per kind (nothing is changed)."""
    found: dict[str, int] = {}
    async with database.sessions() as session:
        for kind in KINDS:
            period_name, selector = SELECTORS[kind]
            cut = _cutoff(now, getattr(schedule, period_name))
            if cut is None:
                found[kind] = 0
                continue
            column, where = selector(cut)
            found[kind] = int(await session.scalar(select(func.count(column)).where(where)) or 0)
    return found


async def purge(
    database: Database,
    schedule: Schedule,
    now: datetime,
    actor: str,
    *,
    batch: int = BATCH,
    media_dir: str | Path | None = None,
) -> dict[str, int]:
    """Apply the schedule: batch after batch, each in its own short transaction; one audit entry
    with what went. Returns the counts per kind (and the photo files removed)."""
    done = dict.fromkeys(KINDS, 0)
    files: list[str] = []
    for kind in KINDS:
        period_name, selector = SELECTORS[kind]
        cut = _cutoff(now, getattr(schedule, period_name))
        if cut is None:
            continue
        column, where = selector(cut)
        size = min(batch, MEMBER_BATCH) if kind == "departed_members" else batch
        while True:
            async with database.transaction() as connection:
                ids = list(await connection.scalars(select(column).where(where).limit(size)))
                if ids:
                    await _apply(connection, kind, ids, now, files)
            done[kind] += len(ids)
            await asyncio.sleep(0)  # whoever waits for the writer goes before our next batch
            if len(ids) < size:
                break
    done["photo_files"] = remove_files(files, media_dir)
    async with database.transaction() as connection:
        # At `now`, not the wall clock: the next daily purge is counted from this entry.
        await connection.execute(
            audit.audit_log.insert().values(
                at=now,
                actor=actor,
                action=PURGE_ACTION,
                details={"removed": done, "schedule_days": schedule.days()},
            )
        )
    await _checkpoint(database)
    log.info("retention purge: %s", done)
    return done


def remove_files(paths: list[str], media_dir: str | Path | None = None) -> int:
    """Delete photo files; only inside the media directory when one is given. Returns how many
    were removed (a file already gone counts as removed)."""
    root = Path(media_dir).resolve() if media_dir is not None else None
    removed = 0
    for raw in paths:
        path = Path(raw).resolve()
        if root is not None and not path.is_relative_to(root):
            log.warning("retention: a photo outside the media directory was left")
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        removed += 1
    return removed


async def _checkpoint(database: Database) -> None:
    """On SQLite, the WAL copied into the file and emptied: the pages that held the purged
    text leave the WAL too (the file's own are overwritten: secure_delete, storage/database)."""
    if not database.is_sqlite:
        return
    try:
        await database.checkpoint()
    except Exception:  # busy readers: the next checkpoint copies what they held back
        log.warning("retention: the WAL checkpoint did not complete")


async def last_purge(database: Database) -> datetime | None:
    """When the latest purge ran (its audit entry)."""
    log_table = audit.audit_log
    async with database.sessions() as session:
        return await session.scalar(
            select(func.max(log_table.c.at)).where(log_table.c.action == PURGE_ACTION)
        )


async def purge_if_due(
    database: Database,
    schedule: Schedule,
    now: datetime,
    actor: str,
    media_dir: str | Path | None = None,
) -> dict[str, int] | None:
    """The scheduler's daily purge: runs when the last was a day ago or more (or never)."""
    last = await last_purge(database)
    if last is not None and now - last < PURGE_EVERY:
        return None
    return await purge(database, schedule, now, actor, media_dir=media_dir)


def delivery_tally(broadcast_ids: list[int]) -> Any:
    """The outbox rows of these broadcasts, held or purged, as one subquery of (broadcast_id,
    channel, status, error_code, error_message, rows): what totals must sum, not count."""
    held = select(
        outbox.c.broadcast_id,
        outbox.c.channel,
        outbox.c.status,
        outbox.c.error_code,
        outbox.c.error_message,
        literal(1).label("rows"),
    ).where(outbox.c.broadcast_id.in_(broadcast_ids))
    counted = select(
        delivery_counts.c.broadcast_id,
        delivery_counts.c.channel,
        delivery_counts.c.status,
        delivery_counts.c.error_code,
        delivery_counts.c.error_message,
        delivery_counts.c.rows,
    ).where(delivery_counts.c.broadcast_id.in_(broadcast_ids))
    return union_all(held, counted).subquery("tally")
