"""A campaign message's texts: templates with {theme}, {year}, {day} and {days} filled in, and
whether what SMS will send fits the budget of MAX_SEGMENTS SMS. Pure.

A line holding {theme} is left out in a year whose theme is not given, so the rest of the
message still reads well.
"""

from __future__ import annotations

from bot.vocabulary.sms_text import GSM7_PART, UCS2_PART, cheapest_sms_text, sms_size
from broadcasts.file_parser import placeholders_of
from broadcasts.model import TWILIO_BODY_LIMIT

MAX_SEGMENTS = 2  # every text, as it goes out over SMS, in at most this many SMS
PLACEHOLDERS = ("theme", "year")
RANGE_PLACEHOLDERS = ("day", "days")  # a range's day (1, 2, …) and how many days it has


def render(template: str, *, theme: str | None, year: int, day: int = 1, days: int = 1) -> str:
    """The text a member reads: placeholders filled; without a theme, its lines left out."""
    lines = template.strip().splitlines()
    if theme is None:
        lines = [line for line in lines if "theme" not in placeholders_of(line)]
    text = "\n".join(line.rstrip() for line in lines).strip()
    return text.format(theme=theme or "", year=year, day=day, days=days)


def sms_body(text: str, gsm_safe: bool) -> str:
    """The text as it goes out over SMS."""
    return cheapest_sms_text(text) if gsm_safe else text


def too_long(text: str, gsm_safe: bool, *, with_theme: int | None = None) -> str | None:
    """Why `text`, as SMS sends it, does not fit MAX_SEGMENTS SMS; None when it fits.
    `with_theme` names the year whose theme the text holds, for the message."""
    body = sms_body(text, gsm_safe)
    size = sms_size(body)
    if size.segments <= MAX_SEGMENTS and len(body) <= TWILIO_BODY_LIMIT:
        return None
    themed = f" with the {with_theme} theme" if with_theme is not None else ""
    limit = (GSM7_PART if size.encoding == "GSM-7" else UCS2_PART) * MAX_SEGMENTS
    return (
        f"is {size.segments} SMS{themed}: {size.units} {size.encoding} characters as sent; "
        f"at most {MAX_SEGMENTS} SMS ({limit} characters)"
    )
