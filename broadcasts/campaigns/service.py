"""Campaign calendars, the imperative shell: files read from a directory, each due message
made a broadcast once, enable/disable per year, and what the CLI and the API show.

Once only. A due message first claims its row in campaign_broadcasts, unique on (campaign,
message, year), with INSERT … ON CONFLICT DO NOTHING; only the transaction that inserted
creates the broadcast and fans it out, and all of it commits together. A restart, a second
scheduler, or a crash half-way (nothing committed: the next tick starts again) can never
make a second broadcast for the same message and year.

Off until enabled. A campaign runs in a year only when the secretariat has enabled that year
(campaign_years), so nothing goes out, and no SMS is paid for, before someone has looked at
the year's theme and texts.

Returned dicts are JSON-able: datetimes as ISO 8601 strings in UTC.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.errors import FieldError, NotFound
from broadcasts import preview as preview_core
from broadcasts.campaigns import calendar
from broadcasts.campaigns.calendar import (
    CAMPAIGNS_DIR,
    FIRST_YEAR,
    LAST_YEAR,
    Campaign,
    CampaignError,
    Occurrence,
    QuietHours,
)
from broadcasts.fanout import fan_out
from broadcasts.model import BAMAKO, Audience
from broadcasts.service import insert_broadcast
from broadcasts.sms import sms_forms
from storage import audit
from storage.audience import allowed_channels
from storage.database import Database
from storage.models import Broadcast, CampaignBroadcast, CampaignYear
from storage.types import utcnow
from storage.upsert import insert_ignore, upsert

log = logging.getLogger(__name__)

SCHEDULER = "scheduler"
FILE_CHECK = 5.0  # seconds between looks at the campaign files for a change
broadcasts = Broadcast.__table__
campaign_broadcasts, campaign_years = CampaignBroadcast.__table__, CampaignYear.__table__


__all__ = ["CAMPAIGNS_DIR", "CampaignNotFound", "CampaignRunner", "run_due"]


class CampaignNotFound(NotFound):
    """No valid campaign file has this name."""


class CampaignFieldError(FieldError):
    """An input that will not do (a year out of range); `field` names it."""


# --- the files -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calendar:
    """The campaigns of a directory that are valid, and the errors of those that are not."""

    directory: Path
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    errors: list[CampaignError] = field(default_factory=list)

    def get(self, name: str) -> Campaign:
        if name in self.campaigns:
            return self.campaigns[name]
        broken = [error for error in self.errors if Path(error.file).stem == name]
        if broken:
            raise CampaignNotFound(f"campaign {name!r} has an error: {broken[0]}")
        known = ", ".join(sorted(self.campaigns)) or "none"
        raise CampaignNotFound(f"no campaign {name!r} (known: {known})")


def load_file(path: Path, display: str | None = None) -> Campaign:
    """One campaign file, or CampaignError naming it (as `display`, else its path)."""
    name = display or str(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise CampaignError(name, None, "file", f"cannot read it: {reason}") from None
    return calendar.parse_campaign(text, name, stem=path.stem)


def campaign_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.toml"))


def load_directory(directory: Path) -> Calendar:
    campaigns, errors = {}, []
    for path in campaign_files(directory):
        try:
            campaign = load_file(path)
        except CampaignError as error:
            errors.append(error)
        else:
            campaigns[campaign.name] = campaign
    return Calendar(directory, campaigns, errors)


class CalendarSource:
    """A directory's campaigns, read again only when a file is added, removed or changed:
    the secretariat edits a file and the scheduler uses it within seconds; a broken file is
    logged once and left out (the others go on)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._signature: tuple | None = None
        self._calendar = Calendar(self.directory)

    def _stat(self) -> tuple:
        signature = []
        for path in campaign_files(self.directory):
            try:
                stat = path.stat()
            except OSError:
                continue
            signature.append((path.name, stat.st_mtime_ns, stat.st_size))
        return tuple(signature)

    @property
    def current(self) -> Calendar:
        """What the last load found."""
        return self._calendar

    def changed(self) -> bool:
        """Whether a file was added, removed or changed since the last load (cheap: stat)."""
        return self._stat() != self._signature

    def load(self) -> Calendar:
        signature = self._stat()
        if signature != self._signature:
            self._calendar = load_directory(self.directory)
            self._signature = signature
            for error in self._calendar.errors:
                log.error("campaign file left out: %s", error)
        return self._calendar


_sources: dict[Path, CalendarSource] = {}


def source_for(directory: Path) -> CalendarSource:
    """One shared, cached source per directory (for the API and the CLI)."""
    directory = Path(directory).resolve()
    if directory not in _sources:
        _sources[directory] = CalendarSource(directory)
    return _sources[directory]


def check_year(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CampaignFieldError("year", "must be a year, e.g. 2026")
    if not FIRST_YEAR <= value <= LAST_YEAR:
        raise CampaignFieldError("year", f"must be {FIRST_YEAR}-{LAST_YEAR}")
    return value


def local_year(moment: datetime) -> int:
    return moment.astimezone(BAMAKO).year


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _local(moment: datetime) -> str:
    """ "2026-11-25 09:00" in Bamako time (which is UTC all year)."""
    return moment.astimezone(BAMAKO).strftime("%Y-%m-%d %H:%M")


# --- the scheduler ---------------------------------------------------------------------------
async def _enabled_years(
    connection: AsyncConnection, pairs: Collection[tuple[str, int]]
) -> dict[tuple[str, int], bool]:
    if not pairs:
        return {}
    names, years = {name for name, _ in pairs}, {year for _, year in pairs}
    rows = await connection.execute(
        select(campaign_years.c.campaign, campaign_years.c.year, campaign_years.c.enabled).where(
            campaign_years.c.campaign.in_(names), campaign_years.c.year.in_(years)
        )
    )
    return {(name, year): enabled for name, year, enabled in rows}


async def _created(
    connection: AsyncConnection, names: Collection[str], years: Collection[int]
) -> dict[tuple[str, str, int], int | None]:
    """(campaign, message, year) → broadcast id, for what was already made."""
    if not names:
        return {}
    rows = await connection.execute(
        select(
            campaign_broadcasts.c.campaign,
            campaign_broadcasts.c.message,
            campaign_broadcasts.c.year,
            campaign_broadcasts.c.broadcast_id,
        ).where(
            campaign_broadcasts.c.campaign.in_(list(names)),
            campaign_broadcasts.c.year.in_(list(years)),
        )
    )
    return {(name, key, year): broadcast_id for name, key, year, broadcast_id in rows}


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
    draft = occurrence.draft()
    hold = quiet_hours.hold_until(now) if quiet_hours else None
    async with database.transaction() as connection:
        enabled = await connection.scalar(
            select(campaign_years.c.enabled).where(
                campaign_years.c.campaign == name, campaign_years.c.year == year
            )
        )
        if not enabled:
            return None
        claim = await connection.execute(
            insert_ignore(connection, campaign_broadcasts, ["campaign", "message", "year"])
            .values(campaign=name, message=key, year=year, created_at=now)
            .returning(campaign_broadcasts.c.id)
        )
        claim_id = claim.scalar_one_or_none()
        if claim_id is None:
            return None  # made already: by another process, or before a restart
        broadcast_id = await insert_broadcast(
            connection,
            replace(draft, send_at=occurrence.send_at),
            status="sending",
            created_by=SCHEDULER,
            now=now,
            fanned_out_at=now,
        )
        target = f"broadcast:{broadcast_id}"
        await audit.record(
            connection,
            SCHEDULER,
            "broadcast.create",
            target,
            {
                "campaign": name,
                "message": key,
                "year": year,
                "title": draft.title,
                "send_at": _iso(occurrence.send_at),
                "languages": sorted(draft.texts),
                "audience": draft.audience.to_json(),
            },
        )
        queued = await fan_out(
            connection, broadcast_id, draft, enabled_channels, now, sms_not_before=hold
        )
        await connection.execute(
            update(broadcasts).where(broadcasts.c.id == broadcast_id).values(recipients=queued)
        )
        await connection.execute(
            update(campaign_broadcasts)
            .where(campaign_broadcasts.c.id == claim_id)
            .values(broadcast_id=broadcast_id)
        )
        await audit.record(
            connection,
            SCHEDULER,
            "broadcast.send",
            target,
            {
                "recipients": queued,
                "channels": list(allowed_channels(draft.audience, enabled_channels)),
                "was": "scheduled",
                "campaign": name,
                "sms_held_until": _iso(hold),
            },
        )
    log.info("campaign %s: %s %s is broadcast %s", name, key, year, broadcast_id)
    return broadcast_id


async def run_due(
    database: Database,
    campaigns: Iterable[Campaign],
    now: datetime,
    *,
    enabled_channels: Collection[str],
    quiet_hours: QuietHours | None,
    done: set[tuple[str, str, int]] | None = None,
) -> list[int]:
    """Make a broadcast of every message whose time has come today, once; returns their ids.

    `done` remembers, between calls of one scheduler, what exists already (a cache only: the
    database decides). Most ticks of the year find nothing due and ask the database nothing.
    """
    done = set() if done is None else done
    due = [item for item in calendar.due(campaigns, now) if item.ident not in done]
    if not due:
        return []
    async with database.sessions() as session:
        connection = await session.connection()
        made = await _created(connection, {i.ident[0] for i in due}, {i.year for i in due})
        enabled = await _enabled_years(connection, {(i.ident[0], i.year) for i in due})
    created = []
    for item in due:
        if item.ident in made:
            done.add(item.ident)
            continue
        if not enabled.get((item.ident[0], item.year)):
            continue  # may still be enabled later today
        broadcast_id = await create_broadcast(
            database,
            item,
            now,
            enabled_channels=enabled_channels,
            quiet_hours=quiet_hours,
        )
        if broadcast_id is not None:
            created.append(broadcast_id)
            done.add(item.ident)
    return created


class CampaignRunner:
    """What the scheduler calls every tick: the directory's campaigns, due messages made.

    Cheap on the ticks where nothing can happen, which is nearly all of them: the files are
    looked at (stat) every `file_check` seconds and parsed off the event loop when one
    changed; and once nothing is left waiting today, nothing is done until the next message's
    time. A message due but not enabled is looked at again every tick (it may be enabled).
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
        self._done: set[tuple[str, str, int]] = set()

    async def _look_at_files(self) -> Calendar:
        if self._monotonic() - self._files_checked >= self.file_check:
            self._files_checked = self._monotonic()
            if self.source.changed():  # parsing takes tens of milliseconds: off the loop
                await asyncio.to_thread(self.source.load)
        if self.source.current is not self._calendar:
            self._calendar, self._idle_until = self.source.current, None
        return self._calendar

    async def run_due(self, now: datetime, enabled_channels: Collection[str]) -> list[int]:
        campaigns = list((await self._look_at_files()).campaigns.values())
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
        waiting = any(s.ident not in self._done for s in calendar.due_slots(campaigns, now))
        self._idle_until = None if waiting else calendar.next_send_at(campaigns, now)
        return created


# --- enable / disable ------------------------------------------------------------------------
async def set_enabled(
    database: Database, cal: Calendar, name: str, year: Any, enabled: bool, actor: str
) -> dict[str, Any]:
    """Switch a campaign on or off for a year; audited. A message already made stays made."""
    campaign = cal.get(name)
    year = check_year(year)
    now = utcnow()
    async with database.transaction() as connection:
        was = await connection.scalar(
            select(campaign_years.c.enabled).where(
                campaign_years.c.campaign == campaign.name, campaign_years.c.year == year
            )
        )
        await connection.execute(
            upsert(
                connection,
                campaign_years,
                ("campaign", "year"),
                ("enabled", "changed_by", "changed_at"),
            ).values(
                campaign=campaign.name,
                year=year,
                enabled=enabled,
                changed_by=actor,
                changed_at=now,
            )
        )
        await audit.record(
            connection,
            actor,
            "campaign.enable" if enabled else "campaign.disable",
            f"campaign:{campaign.name}",
            {"year": year, "was": bool(was)},
        )
    return {"campaign": campaign.name, "year": year, "enabled": enabled, "was": bool(was)}


# --- what the CLI and the API show -----------------------------------------------------------
def _next_slot(campaign: Campaign, now: datetime) -> calendar.Slot | None:
    """The first message not yet past its day, this campaign-year or the next."""
    for year in calendar.years_around(now):
        for slot in calendar.schedule(campaign, year):
            if slot.until > now:
                return slot
    return None


def _span(campaign: Campaign, year: int) -> tuple[str, str]:
    slots = calendar.schedule(campaign, year)
    return slots[0].day.isoformat(), slots[-1].day.isoformat()


async def list_campaigns(
    database: Database, cal: Calendar, now: datetime, year: Any = None
) -> dict[str, Any]:
    """Every campaign: the year's state and dates (this year unless given), its next message
    from now; and the files left out for an error."""
    year = local_year(now) if year is None else check_year(year)
    nexts = {name: _next_slot(campaign, now) for name, campaign in cal.campaigns.items()}
    pairs = {(name, year) for name in cal.campaigns} | {
        (name, slot.year) for name, slot in nexts.items() if slot
    }
    async with database.sessions() as session:
        connection = await session.connection()
        states = await _enabled_years(connection, pairs)
        made = await _created(connection, list(cal.campaigns), {y for _, y in pairs})
    campaigns = []
    for name, campaign in sorted(cal.campaigns.items()):
        slots = calendar.schedule(campaign, year)
        first, last = _span(campaign, year)
        upcoming = nexts[name]
        campaigns.append(
            {
                "name": name,
                "title": campaign.title,
                "description": campaign.description,
                "file": campaign.file,
                "year": year,
                "enabled": states.get((name, year), False),
                "messages": len(slots),
                "first_day": first,
                "last_day": last,
                "made": sum(1 for key in made if key[0] == name and key[2] == year),
                "next": (
                    {
                        "message": upcoming.key,
                        "year": upcoming.year,
                        "day": upcoming.day.isoformat(),
                        "send_at": _iso(upcoming.send_at),
                        "local_time": _local(upcoming.send_at),
                        "enabled": states.get((name, upcoming.year), False),
                        "made": upcoming.ident in made,
                    }
                    if upcoming
                    else None
                ),
            }
        )
    return {
        "year": year,
        "directory": str(cal.directory),
        "campaigns": campaigns,
        "errors": [error.to_json() for error in cal.errors],
    }


def _reach(reached: list[tuple[str, str, int]]) -> dict[str, Any]:
    by_channel: dict[str, int] = {}
    by_language: dict[str, int] = {}
    for channel, language, n in reached:
        by_channel[channel] = by_channel.get(channel, 0) + n
        by_language[language] = by_language.get(language, 0) + n
    return {
        "recipients": sum(by_channel.values()),
        "by_channel": dict(sorted(by_channel.items())),
        "by_language": dict(sorted(by_language.items())),
    }


def _status(slot: calendar.Slot, made: bool, now: datetime) -> str:
    if made:
        return "made"
    if now < slot.send_at:
        return "upcoming"
    return "due" if now < slot.until else "past"


async def show(
    database: Database,
    cal: Calendar,
    name: str,
    year: Any,
    *,
    enabled_channels: Collection[str],
    quiet_hours: QuietHours | None,
    now: datetime,
) -> dict[str, Any]:
    """A campaign's year: every message with its day and time, who it reaches, its texts
    with their SMS size per language, and what became of it."""
    campaign = cal.get(name)
    year = check_year(year)
    items = calendar.occurrences(campaign, year)
    reach: dict[Audience, dict[str, Any]] = {}
    async with database.sessions() as session:
        connection = await session.connection()
        state = (await _enabled_years(connection, {(campaign.name, year)})).get(
            (campaign.name, year), False
        )
        made = await _created(connection, [campaign.name], [year])
        statuses = {}
        ids = [bid for bid in made.values() if bid is not None]
        if ids:
            rows = await connection.execute(
                select(broadcasts.c.id, broadcasts.c.status, broadcasts.c.recipients).where(
                    broadcasts.c.id.in_(ids)
                )
            )
            statuses = {
                row.id: {"status": row.status, "recipients": row.recipients} for row in rows
            }
        for item in items:
            audience = item.slot.message.audience
            if audience not in reach:
                reached, _excluded = await preview_core.counts(
                    connection, item.draft(), enabled_channels
                )
                reach[audience] = _reach(reached)
    messages = []
    for item in items:
        slot = item.slot
        broadcast_id = made.get(item.ident)
        held = quiet_hours.hold_until(slot.send_at) if quiet_hours else None
        messages.append(
            {
                "message": slot.key,
                "title": item.title,
                "day": slot.day.isoformat(),
                "send_at": _iso(slot.send_at),
                "local_time": _local(slot.send_at),
                "status": _status(slot, item.ident in made, now),
                "broadcast": (
                    {"id": broadcast_id, **statuses.get(broadcast_id, {})}
                    if broadcast_id is not None
                    else None
                ),
                "sms_held_until": _iso(held),
                "audience": {
                    "filters": slot.message.audience.to_json(),
                    **reach[slot.message.audience],
                },
                "texts": {
                    language: {
                        "text": text,
                        "sms": sms_forms(text, campaign.sms_gsm_safe),
                    }
                    for language, text in item.texts.items()
                },
            }
        )
    return {
        "name": campaign.name,
        "title": campaign.title,
        "description": campaign.description,
        "file": campaign.file,
        "year": year,
        "enabled": state,
        "theme": campaign.themes.get(year) or None,
        "sms_gsm_safe": campaign.sms_gsm_safe,
        "quiet_hours": str(quiet_hours) if quiet_hours else None,
        "channels": sorted(enabled_channels),
        "messages": messages,
    }
