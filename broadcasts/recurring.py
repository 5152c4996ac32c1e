"""Recurring messages: "every month on the 25th at 09:00" (Bamako time), each occurrence an
ordinary broadcast, its audience computed from the data when it falls due.

Shipped: the monthly report reminder, to the members of organisations with no activity report
for the month (storage.recurring.without_report), in their language (the catalog's texts), and
skipped in a month where nobody qualifies. Off until the secretariat switches it on (console
"Messages récurrents", or `benkadi`'s API); switching it off cancels what is to come.

Once per occurrence: the occurrence's row is claimed in the transaction that makes its
broadcast (storage.recurring.claim), so restarts, a second scheduler or a crash half-way never
send it twice. An occurrence missed while the service was down goes out when it is back, if
within CATCH_UP; an older one is not sent late.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.vocabulary.errors import FieldError, NotFound
from bot.vocabulary.i18n import LANGUAGES, N_, in_language
from broadcasts.launch import SCHEDULER, Delivery, iso, launch
from broadcasts.model import BAMAKO, Audience, Draft
from broadcasts.quiet_hours import QuietHours
from storage import audit
from storage import recurring as rows
from storage.database import Database

log = logging.getLogger(__name__)
CATCH_UP = timedelta(days=1)
REPORT_REMINDER = N_(
    "Rappel Benkadi : votre organisation n'a pas encore envoyé de rapport d'activité ce mois-ci. "
    "Envoyez RAPPORT pour le faire en quelques questions."
)


@dataclass(frozen=True)
class Monthly:
    """Every month on `day` at `time` (Bamako); a month shorter than `day` uses its last day."""

    key: str
    title: str
    day: int
    time: str  # "HH:MM"
    message: str  # a msgid of the benkadi catalog

    def at(self, year: int, month: int) -> datetime:
        hour, minute = (int(part) for part in self.time.split(":"))
        day = min(self.day, calendar.monthrange(year, month)[1])
        return datetime(year, month, day, hour, minute, tzinfo=BAMAKO)

    def latest(self, now: datetime) -> datetime:
        """The last occurrence at or before `now`."""
        local = now.astimezone(BAMAKO)
        this = self.at(local.year, local.month)
        if this <= now:
            return this
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        return self.at(year, month)

    def following(self, now: datetime) -> datetime:
        local = now.astimezone(BAMAKO)
        this = self.at(local.year, local.month)
        if this > now:
            return this
        year, month = (local.year, local.month + 1) if local.month < 12 else (local.year + 1, 1)
        return self.at(year, month)

    def texts(self) -> dict[str, str]:
        """The message in each language the catalog (or the console) has it in."""
        french = in_language("fr", self.message)
        texts = {"fr": french}
        for language in LANGUAGES:
            text = in_language(language, self.message)
            if language != "fr" and text and text != french:
                texts[language] = text
        return texts


MONTHLY_REPORT = Monthly(
    "rapport-mensuel", "Rappel du rapport mensuel", day=25, time="09:00", message=REPORT_REMINDER
)
SCHEDULES = {MONTHLY_REPORT.key: MONTHLY_REPORT}


def checked(day: Any, time: Any) -> tuple[int, str]:
    """A day and time the secretariat typed, or FieldError: a schedule that would never fire."""
    try:
        number = int(str(day))
    except ValueError:
        number = 0
    if not 1 <= number <= 31:
        raise FieldError("day", "must be a day of the month, 1 to 31, or it never fires")
    text = str(time).strip()
    try:
        hour, minute = (int(part) for part in text.split(":"))
    except ValueError:
        hour = minute = -1
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise FieldError("time", "must be a time of day, HH:MM")
    return number, f"{hour:02d}:{minute:02d}"


def effective(schedule: Monthly, row: Any) -> Monthly:
    """The shipped schedule with the day and time the secretariat set."""
    if row is None:
        return schedule
    return replace(schedule, day=row.day or schedule.day, time=row.time or schedule.time)


async def run_due(
    database: Database,
    now: datetime,
    *,
    enabled_channels: Collection[str],
    quiet_hours: QuietHours | None = None,
) -> list[int]:
    """Send every switched-on schedule's due occurrence, once. Returns the broadcasts made."""
    made = []
    for schedule in SCHEDULES.values():
        async with database.sessions() as session:  # a read: no write lock taken every tick
            row = await rows.state(await session.connection(), schedule.key)
        if row is None or not row.enabled:
            continue
        current = effective(schedule, row)
        occurs = current.latest(now)
        if now - occurs > CATCH_UP or (row.changed_at and occurs < row.changed_at):
            continue  # too old to send late, or from before it was switched on
        if await _done(database, schedule.key, occurs):
            continue
        async with database.transaction() as connection:
            if not await rows.claim(connection, schedule.key, occurs, now):
                continue  # sent (or skipped) already
            broadcast_id = await _occurrence(
                connection, current, occurs, now, enabled_channels, quiet_hours
            )
        if broadcast_id is not None:
            made.append(broadcast_id)
    return made


async def _done(database: Database, key: str, occurs: datetime) -> bool:
    async with database.sessions() as session:
        return await rows.occurred(await session.connection(), key, occurs)


async def _occurrence(
    connection: Any,
    schedule: Monthly,
    occurs: datetime,
    now: datetime,
    enabled_channels: Collection[str],
    quiet_hours: QuietHours | None,
) -> int | None:
    month = occurs.astimezone(BAMAKO).strftime("%Y-%m")
    only = rows.without_report(month)
    details: dict[str, Any] = {"occurs_at": iso(occurs), "month": month}
    if not await rows.reachable_count(connection, only, enabled_channels):
        await audit.record(
            connection, SCHEDULER, "recurring.skip", rows.target(schedule.key), details
        )
        return None
    draft = Draft(
        texts=schedule.texts(),
        audience=Audience(),
        sms_gsm_safe=True,
        title=f"{schedule.title} {month}",
    )
    delivery = Delivery(enabled_channels, now, quiet_hours=quiet_hours, only_members=only)
    launched = await launch(
        connection, draft, SCHEDULER, delivery, about={"recurring": schedule.key, "month": month}
    )
    await rows.record(connection, schedule.key, occurs, launched.broadcast_id, launched.recipients)
    details |= {"broadcast": launched.broadcast_id, "recipients": launched.recipients}
    await audit.record(connection, SCHEDULER, "recurring.send", rows.target(schedule.key), details)
    return launched.broadcast_id


async def change(
    database: Database,
    key: str,
    actor: str,
    now: datetime,
    *,
    enabled: bool | None = None,
    day: Any = None,
    time: Any = None,
) -> None:
    if key not in SCHEDULES:
        raise NotFound(f"no recurring message {key}")
    checked_day, checked_time = (None, None) if day is None else checked(day, time)
    async with database.transaction() as connection:
        await rows.change(
            connection, key, actor, now, enabled=enabled, day=checked_day, time=checked_time
        )


async def overview(database: Database, now: datetime) -> list[dict[str, Any]]:
    """Each recurring message: its schedule, whether on, the next occurrence, its texts and
    its last occurrences (each a broadcast, or skipped: nobody qualified)."""
    out = []
    async with database.sessions() as session:
        connection = await session.connection()
        for key, shipped in SCHEDULES.items():
            row = await rows.state(connection, key)
            current = effective(shipped, row)
            history = await rows.history(connection, key)
            out.append(
                {
                    "key": key,
                    "title": current.title,
                    "day": current.day,
                    "time": current.time,
                    "enabled": bool(row and row.enabled),
                    "changed_by": row.changed_by if row else None,
                    "changed_at": iso(row.changed_at) if row else None,
                    "next": iso(current.following(now)),
                    "texts": current.texts(),
                    "occurrences": [
                        {
                            "occurs_at": iso(o.occurs_at),
                            "broadcast_id": o.broadcast_id,
                            "status": o.broadcast_status,  # an ordinary broadcast's
                            "recipients": o.recipients,
                            "skipped": o.broadcast_id is None,
                        }
                        for o in history
                    ],
                }
            )
    return out
