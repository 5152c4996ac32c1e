"""Campaigns as the HTTP API and the CLI show them: every campaign's year and next message,
one campaign's year in full (who each message reaches, its texts with their SMS size, what
became of it), and switching a campaign on or off for a year (audited).

The entry points also load campaign files through this module (load_directory, source_for …,
from files.py): one name to import for everything they do with campaigns.

Returned dicts are JSON-able: datetimes as ISO 8601 strings in UTC.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from bot.vocabulary.errors import FieldError
from broadcasts import preview as preview_core
from broadcasts.campaigns import schedule
from broadcasts.campaigns.calendar import FIRST_YEAR, LAST_YEAR
from broadcasts.campaigns.files import (
    CAMPAIGNS_DIR,
    Calendar,
    CampaignNotFound,
    campaign_files,
    load_directory,
    load_file,
    source_for,
)
from broadcasts.campaigns.model import Campaign, Slot
from broadcasts.campaigns.stored import with_edits
from broadcasts.launch import iso
from broadcasts.model import BAMAKO, Audience
from broadcasts.quiet_hours import QuietHours
from broadcasts.sms import sms_forms
from storage import audit
from storage import campaigns as campaign_rows
from storage.database import Database
from storage.types import utcnow

__all__ = [  # what the API and the CLI use, files.py's included
    "CAMPAIGNS_DIR",
    "Calendar",
    "CampaignFieldError",
    "CampaignNotFound",
    "campaign_files",
    "check_year",
    "list_campaigns",
    "load_directory",
    "load_file",
    "local_year",
    "set_enabled",
    "show",
    "source_for",
]


class CampaignFieldError(FieldError):
    """An input that will not do (a year out of range); `field` names it."""


def check_year(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CampaignFieldError("year", "must be a year, e.g. 2026")
    if not FIRST_YEAR <= value <= LAST_YEAR:
        raise CampaignFieldError("year", f"must be {FIRST_YEAR}-{LAST_YEAR}")
    return value


def local_year(moment: datetime) -> int:
    return moment.astimezone(BAMAKO).year


def _local(moment: datetime) -> str:
    """ "2026-11-25 09:00" in Bamako time (which is UTC all year)."""
    return moment.astimezone(BAMAKO).strftime("%Y-%m-%d %H:%M")


async def set_enabled(
    database: Database, cal: Calendar, name: str, year: Any, enabled: bool, actor: str
) -> dict[str, Any]:
    """Switch a campaign on or off for a year; audited. A message already made stays made."""
    campaign = cal.get(name)
    year = check_year(year)
    now = utcnow()
    async with database.transaction() as connection:
        was = await campaign_rows.set_enabled(connection, campaign.name, year, enabled, actor, now)
        await audit.record(
            connection,
            actor,
            "campaign.enable" if enabled else "campaign.disable",
            f"campaign:{campaign.name}",
            {"year": year, "was": was},
        )
    return {"campaign": campaign.name, "year": year, "enabled": enabled, "was": was}


def _next_slot(campaign: Campaign, now: datetime) -> Slot | None:
    """The first message not yet past its day, this campaign-year or the next."""
    for year in schedule.years_around(now):
        for slot in schedule.schedule(campaign, year):
            if slot.until > now:
                return slot
    return None


def _span(campaign: Campaign, year: int) -> tuple[str, str]:
    slots = schedule.schedule(campaign, year)
    return slots[0].day.isoformat(), slots[-1].day.isoformat()


async def list_campaigns(
    database: Database, cal: Calendar, now: datetime, year: Any = None
) -> dict[str, Any]:
    """Every campaign: the year's state and dates (this year unless given), its next message
    from now; and the files left out for an error."""
    year = local_year(now) if year is None else check_year(year)
    async with database.sessions() as session:
        connection = await session.connection()
        years = {year, *schedule.years_around(now)}
        edited = await with_edits(connection, list(cal.campaigns.values()), years)
        campaigns_now = {campaign.name: campaign for campaign in edited}
        nexts = {name: _next_slot(campaign, now) for name, campaign in campaigns_now.items()}
        pairs = {(name, year) for name in cal.campaigns} | {
            (name, slot.year) for name, slot in nexts.items() if slot
        }
        states = await campaign_rows.enabled_years(connection, pairs)
        made = await campaign_rows.made(connection, list(cal.campaigns), {y for _, y in pairs})
    campaigns = []
    for name, campaign in sorted(campaigns_now.items()):
        slots = schedule.schedule(campaign, year)
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
                        "send_at": iso(upcoming.send_at),
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


def _status(slot: Slot, made: bool, now: datetime) -> str:
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
    reach: dict[Audience, dict[str, Any]] = {}
    async with database.sessions() as session:
        connection = await session.connection()
        [campaign] = await with_edits(connection, [campaign], [year])
        items = schedule.occurrences(campaign, year)
        state = (await campaign_rows.enabled_years(connection, {(campaign.name, year)})).get(
            (campaign.name, year), False
        )
        made = await campaign_rows.made(connection, [campaign.name], [year])
        statuses = await campaign_rows.broadcast_states(
            connection, [bid for bid in made.values() if bid is not None]
        )
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
                "send_at": iso(slot.send_at),
                "local_time": _local(slot.send_at),
                "status": _status(slot, item.ident in made, now),
                "added": slot.key in campaign.edits_of(year).added_keys(),
                "moved": slot.key in campaign.edits_of(year).moved,
                "broadcast": (
                    {"id": broadcast_id, **statuses.get(broadcast_id, {})}
                    if broadcast_id is not None
                    else None
                ),
                "sms_held_until": iso(held),
                "audience": {
                    "filters": slot.message.audience.to_json(),
                    **reach[slot.message.audience],
                },
                "texts": {
                    language: {
                        "text": text,
                        "sms": sms_forms(text, campaign.sms_gsm_safe),
                        "awaiting_review": language in campaign.review_pending,
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
        "revision": campaign.edits_of(year).revision,
        "theme": dict(campaign.year_theme(year) or {}) or None,
        "sms_gsm_safe": campaign.sms_gsm_safe,
        "quiet_hours": str(quiet_hours) if quiet_hours else None,
        "channels": sorted(enabled_channels),
        "messages": messages,
    }
