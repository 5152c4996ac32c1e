"""A campaign-year as the console edits it: what the secretariat types checked (a theme, a day
to move a message to, a message to add), and the database's rows made the campaign's year
(Campaign.edits) that the schedule, the page and the export read. Pure.

Refusals are YearFieldError: the field, an English message for the API and the CLI, and a
`kind` (with its values) that the console says in French.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import date, time
from typing import Any

from bot.vocabulary.errors import FieldError, FieldErrors
from bot.vocabulary.i18n import LANGUAGES
from broadcasts.campaigns import schedule
from broadcasts.campaigns.calendar import DEFAULT_SEND_TIME, MAX_KEY
from broadcasts.campaigns.model import Campaign, Message, MonthDay, YearEdits
from broadcasts.campaigns.texts import MAX_SEGMENTS, too_long
from broadcasts.file_parser import NAME
from broadcasts.model import Audience, DraftError, parse_audience
from broadcasts.quiet_hours import HOUR_MINUTE

# A file's placeholders: an edited text is sent as typed (the page shows it filled in), so one
# left in would reach members as "{theme}".
PLACEHOLDER = re.compile(r"\{(?:theme|year|day|days)\}")
MAX_THEME = 120  # characters of a theme, in any language (one line)
MAX_TITLE = 120


class YearFieldError(FieldError):
    """A field of a campaign-year edit that will not do; `kind` says which rule it broke."""

    def __init__(self, field: str, message: str, kind: str, **values: Any) -> None:
        super().__init__(field, message)
        self.kind, self.values = kind, values


def _texts(value: Any, gsm_safe: bool, prefix: str = "texts") -> tuple[dict[str, str], list]:
    """Language → text (empty ones left out: the French text goes instead) and the errors."""
    errors: list[FieldError] = []
    kept: dict[str, str] = {}
    if not isinstance(value, Mapping):
        return {}, [YearFieldError(prefix, 'must be { "fr": "…", "bm": "…" }', "shape")]
    for language, text in value.items():
        field = f"{prefix}.{language}"
        if language not in LANGUAGES:
            errors.append(YearFieldError(field, "unknown language", "language"))
        elif not isinstance(text, str):
            errors.append(YearFieldError(field, "must be text", "shape"))
        elif text.strip():
            why = too_long(text.strip(), gsm_safe)
            left = PLACEHOLDER.search(text)
            if left:  # an edited text goes as typed: a member would read "{theme}"
                errors.append(
                    YearFieldError(
                        field,
                        f"{left.group(0)} is not filled in an edited text (it goes as typed): "
                        "write the year or the theme out",
                        "placeholder",
                        name=left.group(0),
                    )
                )
            elif why:
                errors.append(YearFieldError(field, why, "too_long", segments=MAX_SEGMENTS))
            kept[language] = text.strip()
    if "fr" not in kept and not any(e.field == f"{prefix}.fr" for e in errors):
        errors.append(YearFieldError(f"{prefix}.fr", "the French text is required", "french"))
    return kept, errors


def checked_texts(value: Any, gsm_safe: bool) -> dict[str, str]:
    """A message's texts: language → text, French required, each within MAX_SEGMENTS SMS;
    or every bad field at once."""
    kept, errors = _texts(value, gsm_safe)
    if errors:
        raise FieldErrors(errors)
    return kept


def checked_theme(campaign: Campaign, year: int, value: Any) -> dict[str, str] | None:
    """The year's theme (None: every language left empty, the file's theme again), French
    required when any is given, on one line; every text of the year must still fit in
    MAX_SEGMENTS SMS with it (the first that does not is named)."""
    if not isinstance(value, Mapping):
        raise YearFieldError("theme", 'must be { "fr": "…", "bm": "…" }', "shape")
    errors: list[FieldError] = []
    theme: dict[str, str] = {}
    for language, text in value.items():
        field = f"theme.{language}"
        if language not in LANGUAGES:
            errors.append(YearFieldError(field, "unknown language", "language"))
        elif not isinstance(text, str):
            errors.append(YearFieldError(field, "must be text", "shape"))
        elif "\n" in text.strip() or len(text.strip()) > MAX_THEME:
            errors.append(
                YearFieldError(field, f"one line, at most {MAX_THEME} characters", "theme_line",
                               most=MAX_THEME)
            )  # fmt: skip
        elif text.strip():
            theme[language] = " ".join(text.split())
    if theme and "fr" not in theme and not errors:
        errors.append(YearFieldError("theme.fr", "the French theme is required", "french_theme"))
    if errors:
        raise FieldErrors(errors)
    if not theme:
        return None
    trial = with_year(campaign, year, dataclasses.replace(campaign.edits_of(year), theme=theme))
    for occurrence in schedule.occurrences(trial, year):
        for language, text in occurrence.texts.items():
            if too_long(text, campaign.sms_gsm_safe):
                field = f"theme.{language}" if language in theme else "theme.fr"
                raise FieldErrors([
                    YearFieldError(
                        field,
                        f"makes the {language} text of {occurrence.key} longer than "
                        f"{MAX_SEGMENTS} SMS",
                        "theme_too_long", key=occurrence.key, segments=MAX_SEGMENTS,
                    )
                ])  # fmt: skip
    return theme


def checked_day(value: Any, year: int, today: date, field: str = "day") -> date:
    """A day of `year` (not 29 February: the file format has none), from `today` on."""
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        raise YearFieldError(field, "must be a date, YYYY-MM-DD", "day", year=year) from None
    if day.year != year or (day.month, day.day) == (2, 29):
        raise YearFieldError(
            field, f"must be a day of {year} (not 29 February)", "day_year", year=year
        )
    if day < today:
        raise YearFieldError(
            field, f"must be today ({today}) or later", "day_past", today=today.isoformat()
        )
    return day


def _send_time(value: Any, default: time) -> time:
    if value in (None, ""):
        return default
    match = HOUR_MINUTE.match(str(value).strip())
    if not match:
        raise YearFieldError("send_time", 'must be a time in Bamako, "HH:MM"', "send_time")
    return time(int(match[1]), int(match[2]))


def checked_message(
    campaign: Campaign, year: int, payload: Mapping[str, Any], today: date
) -> tuple[str, date, dict[str, Any]]:
    """A message to add to the year: (key, day, definition), or every bad field at once.

    payload: key, title (optional), day (YYYY-MM-DD), send_time ("HH:MM", default the
    campaign's), audience (a broadcast's filters; default the campaign's), texts.
    """
    errors: list[FieldError] = []
    key = str(payload.get("key") or "").strip()
    taken = {slot.key for slot in schedule.schedule(campaign, year)}
    if not NAME.match(key) or len(key) > MAX_KEY:
        errors.append(YearFieldError(
            "key", f"lower-case letters, digits and dashes, at most {MAX_KEY}", "key",
            most=MAX_KEY,
        ))  # fmt: skip
    elif key in taken:
        errors.append(YearFieldError("key", f"{key!r} is already a message of {year}", "key_taken"))
    title = str(payload.get("title") or "").strip()
    if len(title) > MAX_TITLE:
        errors.append(YearFieldError("title", f"at most {MAX_TITLE} characters", "title",
                                     most=MAX_TITLE))  # fmt: skip
    day: date | None = None
    try:
        day = checked_day(payload.get("day"), year, today)
    except YearFieldError as error:
        errors.append(error)
    send_time = campaign.send_time
    try:
        send_time = _send_time(payload.get("send_time"), campaign.send_time)
    except YearFieldError as error:
        errors.append(error)
    audience = campaign.audience
    if payload.get("audience"):
        try:
            audience = parse_audience(payload["audience"], known_organisations=None)
        except DraftError as error:
            errors.append(YearFieldError(error.field or "audience", error.message, "audience"))
    texts, bad = _texts(payload.get("texts"), campaign.sms_gsm_safe)
    errors += bad
    if errors:
        raise FieldErrors(errors)
    assert day is not None
    definition = {"title": title or None, "send_time": send_time.strftime("%H:%M"),
                  "audience": audience.to_json(), "texts": texts}  # fmt: skip
    return key, day, definition


def added_message(key: str, day: date, definition: Mapping[str, Any]) -> Message:
    """A message added to one year, as the schedule reads it (a fixed day)."""
    hour, minute = (int(part) for part in str(definition.get("send_time", "09:00")).split(":"))
    texts = {language: text.replace("{", "{{").replace("}", "}}")  # written, not templates
             for language, text in dict(definition.get("texts") or {}).items()}  # fmt: skip
    return Message(
        key=key,
        title=definition.get("title") or None,
        rule="date",
        first=MonthDay(day.month, day.day),
        last=None,
        offset=None,
        texts=(texts,),
        send_time=time(hour, minute) if definition else DEFAULT_SEND_TIME,
        audience=Audience.from_json(definition.get("audience")),
    )


def year_edits(rows: Any) -> YearEdits:
    """The database's rows of one year (storage.campaign_edits.YearRows, its edited texts
    included; None: none), as the campaign's YearEdits."""
    added = tuple(
        added_message(key, day, definition)
        for key, (day, definition) in sorted((rows.added if rows else {}).items())
    )
    return YearEdits(
        theme=dict(rows.theme) if rows and rows.theme else None,
        moved=dict(rows.moved) if rows else {},
        added=added,
        texts={key: dict(value) for key, value in (rows.texts if rows else {}).items()},
        revision=rows.revision if rows else 0,
    )


def with_year(campaign: Campaign, year: int, edits: YearEdits) -> Campaign:
    """The campaign with `edits` as its `year` (a new object: its own cached schedule)."""
    return dataclasses.replace(campaign, edits={**campaign.edits, year: edits})
