"""A campaign as data: its messages, the rule that puts each on a day of the year, and what a
message becomes on its day (a slot, then an occurrence with its texts written out). Pure.

The file format that makes these is in calendar.py; the dates in schedule.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from broadcasts.model import Audience, Draft, WhatsAppPlan


@dataclass(frozen=True, order=True)
class MonthDay:
    month: int
    day: int

    def in_year(self, year: int) -> date:
        return date(year, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


def span(first: MonthDay, last: MonthDay, year: int) -> tuple[date, date]:
    """A range's first and last days when it starts in `year` (it may end the next year)."""
    return first.in_year(year), last.in_year(year if last >= first else year + 1)


def holds_leap_day(first: MonthDay, last: MonthDay) -> bool:
    """Whether a range from `first` to `last` holds 29 February in some year."""
    for year in (2003, 2004):  # starting the year before a leap year, and in one
        start, end = span(first, last, year)
        if any(
            start <= date(leap, 2, 29) <= end for leap in {start.year, end.year} if leap % 4 == 0
        ):
            return True
    return False


@dataclass(frozen=True)
class Message:
    key: str
    title: str | None
    rule: str  # "date", "offset" or "range"
    first: MonthDay | None  # the day ("date"), or a range's first day
    last: MonthDay | None  # a range's last day
    offset: int | None  # days from the campaign's date ("offset")
    texts: tuple[dict[str, str], ...]  # language → template; one per day of a range, or one
    send_time: time
    audience: Audience

    @property
    def days(self) -> int:
        """How many messages a year: one, or one per day of the range."""
        if self.rule != "range":
            return 1
        assert self.first and self.last
        start, end = span(self.first, self.last, 2001)  # ranges never hold 29 February
        return (end - start).days + 1

    def key_for(self, number: int) -> str:
        """The stored key of the message of day `number` (from 1) of a range."""
        return self.key if self.rule != "range" else f"{self.key}-{number:02d}"

    def template(self, number: int) -> dict[str, str]:
        return self.texts[number - 1] if len(self.texts) > 1 else self.texts[0]


@dataclass(frozen=True)
class YearEdits:
    """A campaign-year as edited in the console, over its file (broadcasts.campaigns.edits):
    the year's theme, messages moved to another day, messages added, texts rewritten."""

    theme: Mapping[str, str] | None = None  # language → theme; None: the file's
    moved: Mapping[str, date] = field(default_factory=dict)  # slot key → its day this year
    added: tuple[Message, ...] = ()  # rule "date", only in this year
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # key → written texts
    revision: int = 0  # the year's revision, for the "modifié entre-temps" check

    def added_keys(self) -> frozenset[str]:
        return frozenset(message.key for message in self.added)


NO_EDITS = YearEdits()


@dataclass(frozen=True, eq=False)  # hashed by identity: cached schedules per loaded file
class Campaign:
    name: str
    title: str
    description: str
    file: str
    date: MonthDay | None
    send_time: time
    audience: Audience
    sms_gsm_safe: bool
    themes: dict[int, dict[str, str]]  # year → language → theme
    messages: tuple[Message, ...]
    review_pending: frozenset[str] = frozenset()  # languages no native speaker has reviewed yet
    whatsapp: WhatsAppPlan | None = None  # [whatsapp]: the templates outside the 24 h window
    fallback: bool = True  # a channel that cannot carry a message: the member's next one
    edits: Mapping[int, YearEdits] = field(default_factory=dict)  # year → the console's

    def edits_of(self, year: int) -> YearEdits:
        return self.edits.get(year, NO_EDITS)

    def year_theme(self, year: int) -> Mapping[str, str] | None:
        """The year's theme per language: the console's, else the file's."""
        edited = self.edits_of(year).theme
        return edited if edited is not None else (self.themes.get(year) or None)

    def theme(self, year: int, language: str) -> str | None:
        """The year's theme in `language`, else in French, else None."""
        themes = self.year_theme(year) or {}
        return themes.get(language) or themes.get("fr")


@dataclass(frozen=True)
class Slot:
    """When one message of one campaign-year is due: from send_at to the end of its day."""

    campaign: Campaign
    message: Message
    number: int  # day of the range (from 1), or 1
    key: str
    year: int
    day: date
    send_at: datetime  # aware, UTC
    until: datetime  # midnight in Bamako after `day`: a message not sent on its day is not sent

    @property
    def ident(self) -> tuple[str, str, int]:
        return (self.campaign.name, self.key, self.year)


@dataclass(frozen=True)
class Occurrence:
    """A slot with its texts written out: what becomes a broadcast."""

    slot: Slot
    texts: dict[str, str]
    title: str

    @property
    def campaign(self) -> Campaign:
        return self.slot.campaign

    @property
    def key(self) -> str:
        return self.slot.key

    @property
    def year(self) -> int:
        return self.slot.year

    @property
    def send_at(self) -> datetime:
        return self.slot.send_at

    @property
    def ident(self) -> tuple[str, str, int]:
        return self.slot.ident

    def draft(self) -> Draft:
        return Draft(
            texts=dict(self.texts),
            audience=self.slot.message.audience,
            send_at=self.slot.send_at,
            sms_gsm_safe=self.slot.campaign.sms_gsm_safe,
            title=self.title,
            whatsapp=self.slot.campaign.whatsapp,
            fallback=self.slot.campaign.fallback,
        )
