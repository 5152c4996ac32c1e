"""Campaign calendars: the advocacy year as data, one TOML file per campaign. Pure.

A campaign file (see broadcasts/campaigns/data/ and the README) names the campaign, its audience
(the same filters as a broadcast), its local send time, a theme per year, and its messages.
Each message falls on a day of every year in one of three ways:

    date = "03-08"                                  the same day every year
    offset = -7                                     days from the campaign's `date`
    range = { first = "11-25", last = "12-10" }     one message a day, first to last

A message's `texts` give one text per language (French required: members whose language has
no text get it). A range message gives either `texts` (the same each day) or one `[[messages.days]]`
table of texts per day, in order.

Texts may use {theme}, {year}, and in a range {day} (1, 2, …) and {days} (how many). A line
holding {theme} is left out in a year whose theme is not given, so the rest of the message
still reads well. Every text must fit in MAX_SEGMENTS SMS as it will be sent over SMS (the
GSM-friendly spelling when it is shorter), with each declared theme and without one.

Errors name the file, the line and the field: tomllib gives no line numbers for the data it
returns, so `key_lines` maps every table, array element and key of the file to its line.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import string
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bot.vocabulary.errors import FieldError
from bot.vocabulary.i18n import LANGUAGES
from bot.vocabulary.sms_text import GSM7_PART, UCS2_PART, cheapest_sms_text, sms_size
from broadcasts.model import BAMAKO, TWILIO_BODY_LIMIT, Audience, Draft, DraftError, parse_audience

CAMPAIGNS_DIR = Path(__file__).parent / "data"  # the calendars shipped with Benkadi
MAX_SEGMENTS = 2  # every text, as it goes out over SMS, in at most this many SMS
NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_NAME = 60
MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
HOUR_MINUTE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
FIRST_YEAR, LAST_YEAR = 2000, 2100
DEFAULT_SEND_TIME = time(9, 0)
MAX_RANGE_DAYS = 62
PLACEHOLDERS = ("theme", "year")
RANGE_PLACEHOLDERS = ("day", "days")

CAMPAIGN_KEYS = (
    "name", "title", "description", "date", "send_time", "audience", "sms_gsm_safe", "years",
    "messages",
)  # fmt: skip
MESSAGE_KEYS = ("key", "title", "date", "offset", "range", "send_time", "audience", "texts", "days")
YEAR_KEYS = ("theme",)

Path_ = tuple[str | int, ...]  # a place in the parsed TOML: ("messages", 0, "texts", "bm")


class CampaignError(FieldError):
    """A campaign file is wrong: where (file, line), which field, and what."""

    def __init__(self, file: str, line: int | None, field_name: str, message: str) -> None:
        super().__init__(field_name, message, source=file, line=line or None)
        self.file = file

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


# --- where things are in the file ------------------------------------------------------------
class _Scanner:
    """Walks TOML text that tomllib already accepted and records the line of every table
    header, key, inline-table key and array element, under the path tomllib's data has."""

    def __init__(self, text: str) -> None:
        self.text, self.i, self.line = text, 0, 1
        self.lines: dict[Path_, int] = {}
        self.arrays: dict[Path_, int] = {}  # an array of tables → the index of its last table

    def peek(self, ahead: int = 0) -> str:
        index = self.i + ahead
        return self.text[index] if index < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.peek() == "\n":
                self.line += 1
            self.i += 1

    def skip_blank(self, newlines: bool) -> None:
        """Spaces, tabs, comments, and newlines too when `newlines`."""
        while self.i < len(self.text):
            char = self.peek()
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                while self.i < len(self.text) and self.peek() != "\n":
                    self.advance()
            else:
                return

    def record(self, path: Path_) -> None:
        self.lines.setdefault(path, self.line)

    def key(self) -> list[str]:
        """A dotted key: bare, "basic" or 'literal' parts."""
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            char = self.peek()
            if char == '"':
                start = self.i + 1
                self.advance()
                while self.peek() not in ('"', ""):
                    self.advance(2 if self.peek() == "\\" else 1)
                parts.append(tomllib.loads(f"k = {self.text[start - 1 : self.i + 1]}")["k"])
                self.advance()
            elif char == "'":
                start = self.i + 1
                self.advance()
                while self.peek() not in ("'", ""):
                    self.advance()
                parts.append(self.text[start : self.i])
                self.advance()
            else:
                start = self.i
                while self.peek() and (self.peek().isalnum() or self.peek() in "_-"):
                    self.advance()
                parts.append(self.text[start : self.i])
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    def resolve(self, keys: list[str]) -> Path_:
        """The concrete path of a dotted key: through the last table of each array of tables."""
        path: Path_ = ()
        for part in keys:
            path = (*path, part)
            if path in self.arrays:
                path = (*path, self.arrays[path])
        return path

    def string(self) -> None:
        quote = self.peek()
        if self.text.startswith(quote * 3, self.i):
            self.advance(3)
            while self.i < len(self.text):
                if quote == '"' and self.peek() == "\\":
                    self.advance(2)
                elif self.text.startswith(quote * 3, self.i):
                    self.advance(3)
                    while self.peek() == quote:  # up to two quotes may end the content
                        self.advance()
                    return
                else:
                    self.advance()
            return
        self.advance()
        while self.peek() not in (quote, "\n", ""):
            self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
        self.advance()

    def value(self, path: Path_) -> None:
        char = self.peek()
        if char in ('"', "'"):
            self.string()
        elif char == "[":
            self.advance()
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() in ("]", ""):
                    self.advance()
                    return
                self.record((*path, index))
                self.value((*path, index))
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.advance()
                index += 1
        elif char == "{":
            self.advance()
            while True:
                self.skip_blank(newlines=False)
                if self.peek() in ("}", ""):
                    self.advance()
                    return
                inner = (*path, *self.key())
                self.record(inner)
                self.advance()  # =
                self.skip_blank(newlines=False)
                self.value(inner)
                self.skip_blank(newlines=False)
                if self.peek() == ",":
                    self.advance()
        else:  # number, boolean, date or time
            while self.peek() not in (",", "]", "}", "\n", "#", ""):
                self.advance()

    def scan(self) -> dict[Path_, int]:
        table: Path_ = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text):
                return self.lines
            if self.peek() == "[":
                array = self.peek(1) == "["
                self.advance(2 if array else 1)
                keys = self.key()
                if array:
                    parent = self.resolve(keys[:-1])
                    where = (*parent, keys[-1])
                    self.arrays[where] = self.arrays.get(where, -1) + 1
                    table = (*where, self.arrays[where])
                    self.record(where)
                else:
                    table = self.resolve(keys)
                self.record(table)
                while self.peek() not in ("\n", ""):
                    self.advance()
                continue
            keys = self.key()
            for depth in range(1, len(keys) + 1):  # texts.fr = … defines texts here too
                self.record((*table, *keys[:depth]))
            self.advance()  # =
            self.skip_blank(newlines=False)
            self.value((*table, *keys))


def key_lines(text: str) -> dict[Path_, int]:
    """Every table, key and array element of valid TOML text → the line it starts on."""
    return _Scanner(text).scan()


def line_of(lines: Mapping[Path_, int], path: Path_) -> int | None:
    """The line of `path`, or of the nearest enclosing thing that has one."""
    for depth in range(len(path), 0, -1):
        if path[:depth] in lines:
            return lines[path[:depth]]
    return None


def field_name(path: Path_) -> str:
    """("messages", 2, "texts", "bm") → "messages[3].texts.bm" (tables counted from 1)."""
    name = ""
    for part in path:
        name += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name


# --- the model -------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class MonthDay:
    month: int
    day: int

    def in_year(self, year: int) -> date:
        return date(year, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


def _span(first: MonthDay, last: MonthDay, year: int) -> tuple[date, date]:
    """A range's first and last days when it starts in `year` (it may end the next year)."""
    return first.in_year(year), last.in_year(year if last >= first else year + 1)


def _holds_leap_day(first: MonthDay, last: MonthDay) -> bool:
    for year in (2003, 2004):  # starting the year before a leap year, and in one
        start, end = _span(first, last, year)
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
        start, end = _span(self.first, self.last, 2001)  # ranges never hold 29 February
        return (end - start).days + 1

    def key_for(self, number: int) -> str:
        """The stored key of the message of day `number` (from 1) of a range."""
        return self.key if self.rule != "range" else f"{self.key}-{number:02d}"

    def template(self, number: int) -> dict[str, str]:
        return self.texts[number - 1] if len(self.texts) > 1 else self.texts[0]


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

    def theme(self, year: int, language: str) -> str | None:
        """The year's theme in `language`, else in French, else None."""
        themes = self.themes.get(year) or {}
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
        )


# --- texts -----------------------------------------------------------------------------------
def _fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def render(template: str, *, theme: str | None, year: int, day: int = 1, days: int = 1) -> str:
    """The text a member reads: placeholders filled; without a theme, its lines left out."""
    lines = template.strip().splitlines()
    if theme is None:
        lines = [line for line in lines if "theme" not in _fields(line)]
    text = "\n".join(line.rstrip() for line in lines).strip()
    return text.format(theme=theme or "", year=year, day=day, days=days)


def sms_body(text: str, gsm_safe: bool) -> str:
    """The text as it goes out over SMS."""
    return cheapest_sms_text(text) if gsm_safe else text


# --- parsing ---------------------------------------------------------------------------------
@dataclass
class _Parser:
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def fail(self, path: Path_, message: str) -> CampaignError:
        return CampaignError(self.file, line_of(self.lines, path), field_name(path), message)

    def unknown_keys(self, data: Mapping[str, Any], known: Iterable[str], path: Path_) -> None:
        for key in data:
            if key not in known:
                raise self.fail((*path, key), f"unknown key (known: {', '.join(known)})")

    def text(self, data: Mapping[str, Any], key: str, path: Path_, *, required: bool) -> str:
        value = data.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail((*path, key), "must be some text")
        return value.strip()

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

    def audience(self, value: Any, path: Path_, default: Audience) -> Audience:
        if value is None:
            return default
        if not isinstance(value, Mapping):
            raise self.fail(path, "must be a table of filters, like a broadcast's audience")
        try:
            return parse_audience(value, known_organisations=None)
        except DraftError as error:
            inner = tuple(error.field.split(".")[1:])  # "audience.regions" → ("regions",)
            raise self.fail((*path, *inner), error.message) from None

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
            theme = year_data.get("theme")
            if isinstance(theme, str):
                theme, paths = {"fr": theme}, {"fr": (*path, "theme")}  # for every language
            elif isinstance(theme, Mapping):
                paths = {language: (*path, "theme", language) for language in theme}
            else:
                raise self.fail((*path, "theme"), 'must be text, or { fr = "…", bm = "…" }')
            by_language: dict[str, str] = {}
            for language, text in theme.items():
                where = paths[language]
                if language not in LANGUAGES:
                    raise self.fail(where, f"unknown language (known: {', '.join(LANGUAGES)})")
                if not isinstance(text, str) or not text.strip() or "\n" in text.strip():
                    raise self.fail(where, "must be some text on one line")
                by_language[language] = text.strip()
            themes[int(key)] = by_language
        return themes

    def texts(self, value: Any, path: Path_, *, in_range: bool) -> dict[str, str]:
        if not isinstance(value, Mapping):
            raise self.fail(path, 'must be a table of texts: fr = "…", bm = "…"')
        allowed = PLACEHOLDERS + (RANGE_PLACEHOLDERS if in_range else ())
        texts: dict[str, str] = {}
        for language, text in value.items():
            where = (*path, language)
            if language not in LANGUAGES:
                raise self.fail(where, f"unknown language (known: {', '.join(LANGUAGES)})")
            if not isinstance(text, str) or not text.strip():
                raise self.fail(where, "must be some text")
            try:
                names = _fields(text)
            except ValueError as error:
                raise self.fail(where, f"{error} (write {{{{ and }}}} for braces)") from None
            for name in names:
                if name not in allowed:
                    known = ", ".join("{" + p + "}" for p in allowed)
                    raise self.fail(where, f"unknown placeholder {{{name}}} (known: {known})")
            texts[language] = text.strip()
        if "fr" not in texts:
            raise self.fail(
                path,
                "a French text (fr) is required: members without a text in their language get it",
            )
        return texts

    def check_sizes(
        self, campaign: Campaign, texts: dict[str, str], path: Path_, day: int, days: int
    ) -> None:
        """Each text, with each declared theme and without one, fits in MAX_SEGMENTS SMS."""
        years = sorted(campaign.themes) or [2000]
        for language, template in texts.items():
            variants = [(years[0], None)] + [
                (year, campaign.theme(year, language)) for year in sorted(campaign.themes)
            ]
            for year, theme in variants:
                text = render(template, theme=theme, year=year, day=day, days=days)
                if not text:
                    raise self.fail((*path, language), "is empty once its {theme} line is left out")
                body = sms_body(text, campaign.sms_gsm_safe)
                size = sms_size(body)
                if size.segments > MAX_SEGMENTS or len(body) > TWILIO_BODY_LIMIT:
                    with_theme = f" with the {year} theme" if theme else ""
                    limit = (GSM7_PART if size.encoding == "GSM-7" else UCS2_PART) * MAX_SEGMENTS
                    raise self.fail(
                        (*path, language),
                        f"is {size.segments} SMS{with_theme}: {size.units} {size.encoding} "
                        f"characters as sent; at most {MAX_SEGMENTS} SMS ({limit} characters)",
                    )

    def message(self, data: Any, index: int, campaign: Campaign) -> Message:
        path: Path_ = ("messages", index)
        if not isinstance(data, Mapping):
            raise self.fail(path, "must be a [[messages]] table")
        self.unknown_keys(data, MESSAGE_KEYS, path)
        key = self.text(data, "key", path, required=True)
        if not NAME.match(key) or len(key) > MAX_NAME - 3:
            raise self.fail(
                (*path, "key"),
                f"must be lower-case letters, digits and dashes (at most {MAX_NAME - 3}), "
                'e.g. "rappel"',
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
            span = data["range"]
            if not isinstance(span, Mapping) or set(span) != {"first", "last"}:
                raise self.fail((*path, "range"), 'must be { first = "MM-DD", last = "MM-DD" }')
            first = self.month_day(span["first"], (*path, "range", "first"))
            last = self.month_day(span["last"], (*path, "range", "last"))
        send_time = self.send_time(data.get("send_time"), (*path, "send_time"), campaign.send_time)
        audience = self.audience(data.get("audience"), (*path, "audience"), campaign.audience)
        days = Message(key, title, rule, first, last, offset, (), send_time, audience).days
        if rule == "range":
            if _holds_leap_day(first, last):
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
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            message = str(error)
            match = re.search(r"\(at line (\d+), column \d+\)$", message)
            line = int(match[1]) if match else None
            message = message[: match.start()].strip() if match else message
            raise CampaignError(self.file, line, "toml", message) from None
        self.lines = key_lines(text)
        self.unknown_keys(data, CAMPAIGN_KEYS, ())
        name = self.text(data, "name", (), required=True)
        if not NAME.match(name) or len(name) > MAX_NAME:
            raise self.fail(
                ("name",),
                f"must be lower-case letters, digits and dashes (at most {MAX_NAME}), "
                'e.g. "16-jours"',
            )
        if stem is not None and name != stem:
            raise self.fail(("name",), f"must be the file's name: {stem}.toml holds {name!r}")
        title = self.text(data, "title", (), required=True)
        if len(title) > 120:
            raise self.fail(("title",), "must be at most 120 characters")
        description = self.text(data, "description", (), required=False)
        anchor = self.month_day(data["date"], ("date",)) if "date" in data else None
        gsm_safe = data.get("sms_gsm_safe", True)
        if not isinstance(gsm_safe, bool):
            raise self.fail(("sms_gsm_safe",), "must be true or false")
        campaign = Campaign(
            name=name,
            title=title,
            description=description,
            file=self.file,
            date=anchor,
            send_time=self.send_time(data.get("send_time"), ("send_time",), DEFAULT_SEND_TIME),
            audience=self.audience(data.get("audience"), ("audience",), Audience()),
            sms_gsm_safe=gsm_safe,
            themes=self.themes(data.get("years")),
            messages=(),
        )
        tables = data.get("messages")
        if not isinstance(tables, list) or not tables:
            raise self.fail(("messages",), "a campaign needs at least one [[messages]] table")
        messages = tuple(self.message(table, n, campaign) for n, table in enumerate(tables))
        seen: dict[str, int] = {}
        for n, message in enumerate(messages):
            for number in range(1, message.days + 1):
                key = message.key_for(number)
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
    return _Parser(file).campaign(text, stem)


# --- dates -----------------------------------------------------------------------------------
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
    slots = []
    for message in campaign.messages:
        for number in range(1, message.days + 1):
            day = _day_of(campaign, message, year, number)
            slots.append(
                Slot(
                    campaign=campaign,
                    message=message,
                    number=number,
                    key=message.key_for(number),
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


# --- quiet hours -----------------------------------------------------------------------------
@dataclass(frozen=True)
class QuietHours:
    """A daily window, in Bamako time, without SMS: e.g. 21:00-08:00 (across midnight)."""

    start: time
    end: time

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(BAMAKO).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def hold_until(self, moment: datetime) -> datetime | None:
        """The end of the quiet period `moment` is in (UTC), or None outside quiet hours."""
        if not self.contains(moment):
            return None
        local = moment.astimezone(BAMAKO)
        end = datetime.combine(local.date(), self.end, BAMAKO)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet_hours(value: str | None) -> QuietHours | None:
    """ "21:00-08:00" (Bamako time); "off" or nothing for none. ValueError otherwise."""
    value = (value or "").strip().lower()
    if value in ("", "off", "none"):
        return None
    start, sep, end = value.partition("-")
    bounds = [HOUR_MINUTE.match(part.strip()) for part in (start, end)]
    if not sep or not all(bounds):
        raise ValueError('must be "HH:MM-HH:MM" in Bamako time, e.g. "21:00-08:00", or "off"')
    first, last = (time(int(m[1]), int(m[2])) for m in bounds if m)
    if first == last:
        raise ValueError("start and end are the same time")
    return QuietHours(first, last)
