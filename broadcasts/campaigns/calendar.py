"""The campaign file format: one TOML file per campaign, parsed and checked. Pure.

A campaign file (see broadcasts/campaigns/data/ and the README) names the campaign, its audience
(the same filters as a broadcast), its local send time, a theme per year, and its messages.
Each message falls on a day of every year in one of three ways:

    date = "03-08"                                  the same day every year
    offset = -7                                     days from the campaign's `date`
    range = { first = "11-25", last = "12-10" }     one message a day, first to last

A message's `texts` give one text per language (French required: members whose language has
no text get it). A range message gives either `texts` (the same each day) or one `[[messages.days]]`
table of texts per day, in order.

Texts may use {theme}, {year}, and in a range {day} (1, 2, …) and {days} (how many); see
texts.py. Every text must fit in MAX_SEGMENTS SMS as it will be sent over SMS (the
GSM-friendly spelling when it is shorter), with each declared theme and without one.

Errors name the file, the line and the field (broadcasts/file_parser.py, shared with polls).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import date, time
from typing import Any

from broadcasts.campaigns.model import Campaign, Message, MonthDay, holds_leap_day
from broadcasts.campaigns.texts import PLACEHOLDERS, RANGE_PLACEHOLDERS, render, too_long
from broadcasts.file_parser import MAX_NAME, NAME, FileError, FileParser
from broadcasts.model import Audience
from broadcasts.quiet_hours import HOUR_MINUTE
from broadcasts.toml_lines import Path_

MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
FIRST_YEAR, LAST_YEAR = 2000, 2100
DEFAULT_SEND_TIME = time(9, 0)
MAX_RANGE_DAYS = 62
MAX_KEY = MAX_NAME - 3  # a range's day adds "-01"

CAMPAIGN_KEYS = (
    "name", "title", "description", "date", "send_time", "audience", "sms_gsm_safe", "years",
    "review", "messages", "whatsapp", "fallback",
)  # fmt: skip
MESSAGE_KEYS = ("key", "title", "date", "offset", "range", "send_time", "audience", "texts", "days")
YEAR_KEYS = ("theme",)


class CampaignError(FileError):
    """A campaign file is wrong: where (file, line), which field, and what."""


class CampaignParser(FileParser):
    error = CampaignError

    def month_day(self, value: Any, path: Path_) -> MonthDay:
        match = MONTH_DAY.match(value) if isinstance(value, str) else None
        if not match:
            raise self.fail(path, 'must be a day of the year as "MM-DD", e.g. "11-25"')
        month, day = int(match[1]), int(match[2])
        if (month, day) == (2, 29):
            raise self.fail(path, "29 February is not in every year: choose another day")
        try:
            date(2001, month, day)
        except ValueError:
            raise self.fail(path, f"there is no day {value}") from None
        return MonthDay(month, day)

    def send_time(self, value: Any, path: Path_, default: time) -> time:
        if value is None:
            return default
        if isinstance(value, time) and value.tzinfo is None:
            return value.replace(second=0, microsecond=0)
        match = HOUR_MINUTE.match(value) if isinstance(value, str) else None
        if not match:
            raise self.fail(path, 'must be a time of day in Bamako as "HH:MM", e.g. "09:00"')
        return time(int(match[1]), int(match[2]))

    def themes(self, value: Any) -> dict[int, dict[str, str]]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(("years",), 'must be tables like [years.2026] theme = "…"')
        themes: dict[int, dict[str, str]] = {}
        for key, year_data in value.items():
            path: Path_ = ("years", key)
            if not (key.isdigit() and FIRST_YEAR <= int(key) <= LAST_YEAR):
                raise self.fail(path, f"must be a year, {FIRST_YEAR}-{LAST_YEAR}")
            if not isinstance(year_data, Mapping):
                raise self.fail(path, 'must be a table: [years.2026] theme = "…"')
            self.unknown_keys(year_data, YEAR_KEYS, path)
            themes[int(key)] = self.language_texts(  # a text alone is for every language
                year_data.get("theme"), (*path, "theme"), one_line=True, french=False
            )
        return themes

    def texts(self, value: Any, path: Path_, *, in_range: bool) -> dict[str, str]:
        allowed = PLACEHOLDERS + (RANGE_PLACEHOLDERS if in_range else ())
        return self.language_texts(value, path, plain=False, placeholders=allowed)

    def check_sizes(
        self, campaign: Campaign, texts: dict[str, str], path: Path_, day: int, days: int
    ) -> None:
        """Each text, with each declared theme and without one, fits in MAX_SEGMENTS SMS."""
        years = sorted(campaign.themes) or [FIRST_YEAR]
        for language, template in texts.items():
            variants = [(years[0], None)] + [
                (year, campaign.theme(year, language)) for year in sorted(campaign.themes)
            ]
            for year, theme in variants:
                text = render(template, theme=theme, year=year, day=day, days=days)
                if not text:
                    raise self.fail((*path, language), "is empty once its {theme} line is left out")
                problem = too_long(text, campaign.sms_gsm_safe, with_theme=year if theme else None)
                if problem:
                    raise self.fail((*path, language), problem)

    def message(self, data: Any, index: int, campaign: Campaign) -> Message:
        path: Path_ = ("messages", index)
        if not isinstance(data, Mapping):
            raise self.fail(path, "must be a [[messages]] table")
        self.unknown_keys(data, MESSAGE_KEYS, path)
        key = self.text(data, "key", path, required=True)
        if not NAME.match(key) or len(key) > MAX_KEY:
            raise self.fail(
                (*path, "key"),
                f'must be lower-case letters, digits and dashes (at most {MAX_KEY}), e.g. "rappel"',
            )
        title = self.text(data, "title", path, required=False) or None
        rules = [rule for rule in ("date", "offset", "range") if rule in data]
        if len(rules) != 1:
            raise self.fail(path, "needs exactly one of date, offset or range")
        rule = rules[0]
        first = last = offset = None
        if rule == "date":
            first = self.month_day(data["date"], (*path, "date"))
        elif rule == "offset":
            offset = data["offset"]
            if isinstance(offset, bool) or not isinstance(offset, int) or abs(offset) > 180:
                raise self.fail((*path, "offset"), "must be a number of days, -180 to 180")
            if campaign.date is None:
                raise self.fail(
                    (*path, "offset"),
                    'counts from the campaign\'s date: add date = "MM-DD" at the top of the file',
                )
        else:
            bounds = data["range"]
            if not isinstance(bounds, Mapping) or set(bounds) != {"first", "last"}:
                raise self.fail((*path, "range"), 'must be { first = "MM-DD", last = "MM-DD" }')
            first = self.month_day(bounds["first"], (*path, "range", "first"))
            last = self.month_day(bounds["last"], (*path, "range", "last"))
        send_time = self.send_time(data.get("send_time"), (*path, "send_time"), campaign.send_time)
        audience = self.audience(data.get("audience"), (*path, "audience"), campaign.audience)
        days = Message(key, title, rule, first, last, offset, (), send_time, audience).days
        if rule == "range":
            assert first is not None and last is not None
            if holds_leap_day(first, last):
                raise self.fail((*path, "range"), "a range may not hold 29 February")
            if days > MAX_RANGE_DAYS:
                raise self.fail((*path, "range"), f"is {days} days; at most {MAX_RANGE_DAYS}")
        if "days" in data and "texts" in data:
            raise self.fail((*path, "days"), "give texts (the same every day) or days, not both")
        if "days" in data:
            if rule != "range":
                raise self.fail((*path, "days"), "one text per day is for a range: use texts")
            tables = data["days"]
            if not isinstance(tables, list) or not tables:
                raise self.fail((*path, "days"), "must be [[messages.days]] tables of texts")
            if len(tables) != days:
                raise self.fail(
                    (*path, "days"),
                    f"has {len(tables)} days of texts; the range {first} to {last} has {days}",
                )
            texts = tuple(
                self.texts(table, (*path, "days", n), in_range=True)
                for n, table in enumerate(tables)
            )
            for n, table in enumerate(texts):
                self.check_sizes(campaign, table, (*path, "days", n), n + 1, days)
        elif "texts" in data:
            texts = (self.texts(data["texts"], (*path, "texts"), in_range=rule == "range"),)
            for n in range(1, days + 1):
                self.check_sizes(campaign, texts[0], (*path, "texts"), n, days)
        else:
            raise self.fail(path, 'needs texts (a table: fr = "…", bm = "…")')
        return Message(key, title, rule, first, last, offset, texts, send_time, audience)

    def campaign(self, text: str, stem: str | None) -> Campaign:
        data = self.load(text)
        self.unknown_keys(data, CAMPAIGN_KEYS, ())
        name = self.name(data, "name", stem, example="16-jours")
        title = self.text(data, "title", (), required=True)
        if len(title) > 120:
            raise self.fail(("title",), "must be at most 120 characters")
        description = self.text(data, "description", (), required=False)
        anchor = self.month_day(data["date"], ("date",)) if "date" in data else None
        campaign = Campaign(
            name=name,
            title=title,
            description=description,
            file=self.file,
            date=anchor,
            send_time=self.send_time(data.get("send_time"), ("send_time",), DEFAULT_SEND_TIME),
            audience=self.audience(data.get("audience"), ("audience",), Audience()),
            sms_gsm_safe=self.flag(data, "sms_gsm_safe", default=True),
            themes=self.themes(data.get("years")),
            messages=(),
            review_pending=self.review(data.get("review")),
            whatsapp=self.whatsapp(data.get("whatsapp"), ("whatsapp",)),
            fallback=self.flag(data, "fallback", default=True),
        )
        tables = data.get("messages")
        if not isinstance(tables, list) or not tables:
            raise self.fail(("messages",), "a campaign needs at least one [[messages]] table")
        messages = tuple(self.message(table, n, campaign) for n, table in enumerate(tables))
        seen: dict[str, int] = {}
        for n, made in enumerate(messages):
            for number in range(1, made.days + 1):
                key = made.key_for(number)
                if key in seen:
                    raise self.fail(
                        ("messages", n, "key"),
                        f"{key!r} is already the key of messages[{seen[key] + 1}]",
                    )
                seen[key] = n
        return dataclasses.replace(campaign, messages=messages)


def parse_campaign(text: str, file: str, stem: str | None = None) -> Campaign:
    """A campaign from its file's text, or CampaignError naming file, line and field.

    `file` is how errors name the file; `stem`, when given, is the file's name without .toml,
    which the campaign's name must be (two files can never name one campaign).
    """
    return CampaignParser(file).campaign(text, stem)
