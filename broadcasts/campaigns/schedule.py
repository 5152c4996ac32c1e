"""When campaign messages go out: each message's day in a campaign-year, its send time in
Bamako, and which messages are due at a moment. Pure.

A message is due from its send time to the end of its day (midnight in Bamako): a message not
sent on its day is not sent. A campaign's year is the year of its date (or of a range's first
day); an offset may put a message in the year before or after it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from broadcasts.campaigns.model import Campaign, Message, Occurrence, Slot
from broadcasts.campaigns.texts import render
from broadcasts.model import BAMAKO


def _day_of(campaign: Campaign, message: Message, year: int, number: int) -> date:
    if message.rule == "offset":
        assert campaign.date is not None and message.offset is not None
        return campaign.date.in_year(year) + timedelta(days=message.offset)
    assert message.first is not None
    return message.first.in_year(year) + timedelta(days=number - 1)


def local_moment(day: date, at: time) -> datetime:
    """That day and time in Bamako, in UTC."""
    return datetime.combine(day, at, BAMAKO).astimezone(UTC)


@functools.lru_cache(maxsize=2048)
def schedule(campaign: Campaign, year: int) -> tuple[Slot, ...]:
    """Every message of the campaign's `year`, in the order they go out.

    A campaign's year is the year of its date (or of a range's first day); an offset may put
    a message in the year before or after it.
    """
    edits = campaign.edits_of(year)
    slots = []
    for message in (*campaign.messages, *edits.added):
        for number in range(1, message.days + 1):
            key = message.key_for(number)
            day = edits.moved.get(key) or _day_of(campaign, message, year, number)
            slots.append(
                Slot(
                    campaign=campaign,
                    message=message,
                    number=number,
                    key=key,
                    year=year,
                    day=day,
                    send_at=local_moment(day, message.send_time),
                    until=local_moment(day + timedelta(days=1), time()),
                )
            )
    return tuple(sorted(slots, key=lambda slot: (slot.send_at, slot.key)))


def occurrence(slot: Slot) -> Occurrence:
    campaign, message = slot.campaign, slot.message
    days = message.days
    template = message.template(slot.number)
    texts = {
        language: render(
            text,
            theme=campaign.theme(slot.year, language),
            year=slot.year,
            day=slot.number,
            days=days,
        )
        for language, text in template.items()
    }
    label = message.title or message.key
    if message.rule == "range":
        label = f"{label} {slot.number}/{days}"
    title = f"{campaign.title} {slot.year} — {label}"
    edited = campaign.edits_of(slot.year).texts.get(slot.key)
    if edited:  # the console's texts for this year, over the file's
        texts = {**texts, **edited}
    return Occurrence(slot=slot, texts=texts, title=title[:200])


def occurrences(campaign: Campaign, year: int) -> list[Occurrence]:
    return [occurrence(slot) for slot in schedule(campaign, year)]


def years_around(moment: datetime) -> range:
    """The campaign-years that can have a message on the day of `moment`."""
    year = moment.astimezone(BAMAKO).year
    return range(year - 1, year + 2)


def due_slots(campaigns: Iterable[Campaign], now: datetime) -> Iterator[Slot]:
    """Slots whose time has come and whose day has not ended."""
    for campaign in campaigns:
        for year in years_around(now):
            for slot in schedule(campaign, year):
                if slot.send_at <= now < slot.until:
                    yield slot


def next_send_at(campaigns: Iterable[Campaign], now: datetime) -> datetime | None:
    """The first send time after `now`: before it, nothing new can be due."""
    later = [
        slot.send_at
        for campaign in campaigns
        for year in years_around(now)
        for slot in schedule(campaign, year)
        if slot.send_at > now
    ]
    return min(later, default=None)


def due(campaigns: Iterable[Campaign], now: datetime) -> list[Occurrence]:
    return [occurrence(slot) for slot in due_slots(campaigns, now)]
