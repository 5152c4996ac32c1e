"""Every tick: what is due becomes outbox rows, through the one launch (broadcasts/launch.py):
the campaign calendars' messages, poll reminders, and scheduled broadcasts; then broadcasts
with nothing left to send are marked sent.

It runs beside the dispatcher (in whichever process sends). Several schedulers at once are
safe: each launch is claimed first in its own transaction (a scheduled broadcast by a
conditional UPDATE, a campaign message by a unique row per year, a poll reminder by its poll's
reminded_at), and a claim someone else got is left to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta

from bot import invitations
from broadcasts import recurring
from broadcasts import service as broadcasts
from broadcasts.campaigns.runner import CampaignRunner
from broadcasts.launch import SCHEDULER
from broadcasts.polls import editing as poll_editing
from broadcasts.polls import service as poll_service
from gateway.channels.base import Channel, enabled
from storage import retention
from storage.database import Database
from storage.suppression import SuppressionKey
from storage.types import utcnow

log = logging.getLogger(__name__)
PURGE_LOOK_EVERY = timedelta(hours=1)
PURGE_FIRST_LOOK = timedelta(minutes=10)


class Scheduler:
    def __init__(
        self,
        database: Database,
        enabled_channels: Collection[str] | Mapping[str, Channel],
        wake: Callable[[], None],
        *,
        interval: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        campaigns: CampaignRunner | None = None,
        retention_schedule: retention.Schedule | None = None,
        media_dir: str | None = None,
        invitation_reminder: timedelta | None = None,
        data_holder: str | None = None,
        erasure_key: SuppressionKey | None = None,
    ) -> None:
        self.database, self.wake = database, wake
        self._channels = enabled_channels
        self.interval, self.clock, self.campaigns = interval, clock, campaigns
        self.retention_schedule, self.media_dir = retention_schedule, media_dir
        self.invitation_reminder, self.data_holder = invitation_reminder, data_holder
        self.erasure_key = erasure_key  # reminders never go to an erased person's number
        # The daily purge: looked for at most hourly, the first time a while after the start
        # (a service starting has webhooks and broadcasts to catch up on first).
        self._purge_checked: datetime = clock() - PURGE_LOOK_EVERY + PURGE_FIRST_LOOK
        self._stopped = asyncio.Event()

    @property
    def enabled_channels(self) -> tuple[str, ...]:
        """The channels that can carry a message now (SMS once it has a route: a phone added
        while running counts from then on)."""
        if isinstance(self._channels, Mapping):
            return tuple(enabled(self._channels))
        return tuple(self._channels)

    async def tick(self) -> list[int]:
        """Fan out what is due, campaigns' messages included; mark sent what has nothing left
        to send. Returns the fanned-out ids."""
        now = self.clock()
        made: list[int] = []
        if self.campaigns is not None:
            try:
                made = await self.campaigns.run_due(now, self.enabled_channels)
            except Exception:  # a calendar's trouble must not hold up the other broadcasts
                log.exception("campaign calendars: tick failed; trying again")
        try:  # polls scheduled in the console open (invite) on their date
            made += await poll_editing.open_due(
                self.database,
                now,
                enabled_channels=self.enabled_channels,
                quiet_hours=self.campaigns.quiet_hours if self.campaigns else None,
            )
        except Exception:
            log.exception("scheduled polls: tick failed; trying again")
        try:
            made += await poll_service.send_reminders(
                self.database,
                now,
                enabled_channels=self.enabled_channels,
                quiet_hours=self.campaigns.quiet_hours if self.campaigns else None,
            )
        except Exception:  # likewise for poll reminders
            log.exception("poll reminders: tick failed; trying again")
        try:  # recurring messages (the monthly report reminder), each occurrence once
            made += await recurring.run_due(
                self.database,
                now,
                enabled_channels=self.enabled_channels,
                quiet_hours=self.campaigns.quiet_hours if self.campaigns else None,
            )
        except Exception:
            log.exception("recurring messages: tick failed; trying again")
        try:
            await self._remind_invitations(now)
        except Exception:  # likewise for the directory's invitation reminders
            log.exception("invitation reminders: tick failed; trying again")
        started = await broadcasts.run_due(
            self.database, now, enabled_channels=self.enabled_channels
        )
        if started:
            log.info("scheduled broadcasts %s are going out", started)
        if started or made:
            self.wake()
        await broadcasts.finish_completed(self.database, now)
        await self._purge(now)
        return made + started

    async def _purge(self, now: datetime) -> None:
        """The retention schedule, applied once a day (storage/retention.py)."""
        if self.retention_schedule is None:
            return
        if now - self._purge_checked < PURGE_LOOK_EVERY:
            return
        self._purge_checked = now
        try:
            await retention.purge_if_due(
                self.database, self.retention_schedule, now, SCHEDULER, self.media_dir
            )
        except Exception:  # retention waits for the next look; sending does not
            log.exception("retention purge failed; trying again later")

    async def _remind_invitations(self, now: datetime) -> None:
        """The directory's one reminder, never in the SMS quiet hours; a read first, so that
        no tick takes the write lock for nothing."""
        quiet = self.campaigns.quiet_hours if self.campaigns else None
        after = self.invitation_reminder
        if after is None or (quiet is not None and quiet.contains(now)):
            return
        if not await invitations.reminders_due(self.database, now, after):
            return
        async with self.database.transaction() as connection:
            reminded = await invitations.remind(
                connection, now, after, self.data_holder, self.erasure_key
            )
        if reminded:
            log.info("invitation reminders: %d queued", len(reminded))
            self.wake()

    async def run(self) -> None:
        while not self._stopped.is_set():
            try:
                await self.tick()
            except Exception:  # a database hiccup must not stop the calendar
                log.exception("scheduler tick failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self.interval)

    def stop(self) -> None:
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()
