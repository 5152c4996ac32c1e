"""Campaign messages become broadcasts: each due message once, only in a year the secretariat
has enabled, with its SMS held through quiet hours.

Once only: the message claims its row (storage.campaigns.claim) in the transaction that makes
the broadcast (broadcasts.launch) and links the two, so a restart, a second scheduler or a
crash half-way never makes a second broadcast of one message in one year.

Off until enabled and approved: a campaign runs in a year only when that year is switched on
and its texts approved (storage.campaign_texts: who and when, in the audit log; an edit of a
text withdraws it), so nothing goes out, and no SMS is paid for, before someone has looked at
the year's theme and texts. Texts edited in the console for the year replace the file's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from broadcasts.campaigns import schedule
from broadcasts.campaigns.files import Calendar, CalendarSource
from broadcasts.campaigns.model import Campaign, Occurrence
from broadcasts.campaigns.stored import with_edits
from broadcasts.launch import SCHEDULER, Delivery, launch
from broadcasts.quiet_hours import QuietHours
from storage import campaign_texts
from storage import campaigns as campaign_rows
from storage.database import Database

log = logging.getLogger(__name__)

FILE_CHECK = 5.0  # seconds between looks at the campaign files for a change
Ident = campaign_rows.Ident


async def create_broadcast(
    database: Database,
    occurrence: Occurrence,
    now: datetime,
    *,
    enabled_channels: Collection[str],
    quiet_hours: QuietHours | None,
) -> int | None:
    """Make the occurrence a broadcast and fan it out, in one transaction; None when it is
    already made (by anyone, ever) or its campaign is not enabled for its year."""
    name, key, year = occurrence.ident
    delivery = Delivery(enabled_channels, now, quiet_hours=quiet_hours)
    async with database.transaction() as connection:
        if not await campaign_rows.is_enabled(connection, name, year):
            return None
        if await campaign_texts.approval(connection, name, year) is None:
            return None  # its texts for the year are not approved (yet, or since an edit)
        # The year as the database holds it now (the runner's copy may be seconds old): a
        # message moved to another day, or removed, is not sent on its old one.
        base = replace(occurrence.campaign, edits={})
        [fresh] = await with_edits(connection, [base], [year])
        slot = next((s for s in schedule.schedule(fresh, year) if s.key == key), None)
        if slot is None or not slot.send_at <= now < slot.until:
            return None
        occurrence = schedule.occurrence(slot)  # the year's edited texts over the file's
        claim_id = await campaign_rows.claim(connection, occurrence.ident, now)
        if claim_id is None:
            return None  # made already: by another process, or before a restart
        about = {"campaign": name, "message": key, "year": year}
        launched = await launch(connection, occurrence.draft(), SCHEDULER, delivery, about=about)
        await campaign_rows.link(connection, claim_id, launched.broadcast_id)
    log.info("campaign %s: %s %s is broadcast %s", name, key, year, launched.broadcast_id)
    return launched.broadcast_id


async def run_due(
    database: Database,
    campaigns: Iterable[Campaign],
    now: datetime,
    *,
    enabled_channels: Collection[str],
    quiet_hours: QuietHours | None,
    done: set[Ident] | None = None,
) -> list[int]:
    """Make a broadcast of every message whose time has come today, once; returns their ids.

    `done` remembers, between calls of one scheduler, what exists already (a cache only: the
    database decides). Most ticks of the year find nothing due and ask the database nothing.
    """
    done = set() if done is None else done
    due = [item for item in schedule.due(campaigns, now) if item.ident not in done]
    if not due:
        return []
    async with database.sessions() as session:
        connection = await session.connection()
        made = await campaign_rows.made(
            connection, {i.ident[0] for i in due}, {i.year for i in due}
        )
        enabled = await campaign_rows.enabled_years(connection, {(i.ident[0], i.year) for i in due})
    created = []
    for item in due:
        if item.ident in made:
            done.add(item.ident)
            continue
        if not enabled.get((item.ident[0], item.year)):
            continue  # may still be enabled later today
        broadcast_id = await create_broadcast(
            database, item, now, enabled_channels=enabled_channels, quiet_hours=quiet_hours
        )
        if broadcast_id is not None:
            created.append(broadcast_id)
            done.add(item.ident)
    return created


class CampaignRunner:
    """What the scheduler calls every tick: the directory's campaigns, due messages made.

    Cheap on the ticks where nothing can happen, which is nearly all of them: the files are
    looked at (stat) every `file_check` seconds and parsed off the event loop when one
    changed, and the years' edits in the database (a theme, a day moved, a message added) are
    read with them (two small queries); once nothing is left waiting today, nothing more is
    done until the next message's time, or until an edit (a new revision) changes the
    schedule. A message due but not enabled is looked at again every tick (it may be enabled).
    """

    def __init__(
        self,
        database: Database,
        directory: Path,
        *,
        quiet_hours: QuietHours | None,
        file_check: float = FILE_CHECK,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database, self.quiet_hours = database, quiet_hours
        self.file_check, self._monotonic = file_check, monotonic
        self.source = CalendarSource(directory)
        self.source.load()  # read at start-up, before the service takes requests
        self._files_checked = monotonic()
        self._calendar = self.source.current
        self._idle_until: datetime | None = None  # nothing can be due before this
        self._done: set[Ident] = set()
        self._edited: list[Campaign] | None = None  # the calendar with the database's edits
        self._edits_signature: object = None

    async def _look_at_files(self) -> Calendar:
        if self._monotonic() - self._files_checked >= self.file_check:
            self._files_checked = self._monotonic()
            self._edited = None  # the database's edits looked at again with the files
            if self.source.changed():  # parsing takes tens of milliseconds: off the loop
                await asyncio.to_thread(self.source.load)
        if self.source.current is not self._calendar:
            self._calendar, self._idle_until, self._edited = self.source.current, None, None
        return self._calendar

    async def _campaigns(self, now: datetime) -> list[Campaign]:
        """The calendar's campaigns with the years' edits (dates moved, messages added, themes)
        from the database, read again every `file_check` seconds; an edit wakes the runner."""
        calendar = await self._look_at_files()
        if self._edited is None:
            years = list(schedule.years_around(now))
            async with self.database.sessions() as session:
                connection = await session.connection()
                edited = await with_edits(connection, list(calendar.campaigns.values()), years)
            signature = tuple(
                (campaign.name, year, edits.revision)
                for campaign in edited
                for year, edits in sorted(campaign.edits.items())
            )
            if signature != self._edits_signature:
                self._edits_signature, self._idle_until = signature, None
            self._edited = edited
        return self._edited

    async def run_due(self, now: datetime, enabled_channels: Collection[str]) -> list[int]:
        campaigns = await self._campaigns(now)
        if self._idle_until is not None and now < self._idle_until:
            return []
        created = await run_due(
            self.database,
            campaigns,
            now,
            enabled_channels=enabled_channels,
            quiet_hours=self.quiet_hours,
            done=self._done,
        )
        waiting = any(s.ident not in self._done for s in schedule.due_slots(campaigns, now))
        self._idle_until = None if waiting else schedule.next_send_at(campaigns, now)
        return created
