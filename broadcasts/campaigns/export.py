"""A campaign back to a file in the shipped format (broadcasts/campaigns/calendar.py), with one
year as edited in the database: its theme, its texts, its moved and added messages. Pure.

Loading the file gives the same year: `schedule.occurrences(parse_campaign(to_toml(c, y)), y)`
has the same messages, days, times, audiences, titles and texts as `occurrences(c, y)`
(tests/campaigns/test_campaign_year_edits.py). What the format says per year only, the theme,
is kept for every year the file names. The file format has no per-year dates: a message moved
for the year is written on its new day (`date = "MM-DD"`), and a range with a moved day is
written one message per day; texts rewritten for the year are written as they are (their
braces doubled: they are texts, not templates).

Written with tomli-w (a maintained TOML writer), texts as multi-line strings as in the
shipped files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import tomli_w

from broadcasts.campaigns import schedule
from broadcasts.campaigns.model import Campaign, Message, MonthDay
from broadcasts.model import Audience

_RANGE_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(day|days)\}")


def _written(text: str) -> str:
    """A text typed in the console as a template that renders to itself."""
    return text.replace("{", "{{").replace("}", "}}")


def _fill_range(template: str, day: int, days: int) -> str:
    """{day} and {days} filled in (a range's day written as a message of its own)."""
    values = {"day": str(day), "days": str(days)}
    return _RANGE_PLACEHOLDER.sub(
        lambda match: values[match[1]] if match[1] else match[0], template
    )


def _audience(audience: Audience) -> dict[str, Any]:
    return {key: value for key, value in audience.to_json().items() if value}


def _hhmm(value: Any) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def _common(campaign: Campaign, message: Message, data: dict[str, Any]) -> dict[str, Any]:
    if message.send_time != campaign.send_time:
        data["send_time"] = _hhmm(message.send_time)
    if message.audience != campaign.audience:
        data["audience"] = _audience(message.audience)
    return data


def _texts(template: Mapping[str, str], edited: Mapping[str, str] | None) -> dict[str, str]:
    texts = dict(template)
    for language, text in (edited or {}).items():
        texts[language] = _written(text)
    return {language: texts[language] for language in sorted(texts, key=_language_order)}


def _language_order(language: str) -> tuple[int, str]:
    return (0 if language == "fr" else 1, language)


def _messages(campaign: Campaign, year: int) -> list[dict[str, Any]]:
    edits = campaign.edits_of(year)
    days = {slot.key: slot.day for slot in schedule.schedule(campaign, year)}
    written: list[dict[str, Any]] = []
    for message in campaign.messages:
        keys = [message.key_for(n) for n in range(1, message.days + 1)]
        head: dict[str, Any] = {"key": message.key}
        if message.title:
            head["title"] = message.title
        if message.rule == "range" and any(key in edits.moved for key in keys):
            assert message.first is not None
            for number, key in enumerate(keys, start=1):  # one message a day
                day = days[key]
                template = {
                    language: _fill_range(text, number, message.days)
                    for language, text in message.template(number).items()
                }
                one: dict[str, Any] = {
                    "key": key,
                    "title": f"{message.title or message.key} {number}/{message.days}",
                    "date": str(MonthDay(day.month, day.day)),
                    "texts": _texts(template, edits.texts.get(key)),
                }
                written.append(_common(campaign, message, one))
            continue
        data: dict[str, Any] = dict(head)
        if message.rule == "range":
            assert message.first is not None and message.last is not None
            data["range"] = {"first": str(message.first), "last": str(message.last)}
            per_day = [
                _texts(message.template(n), edits.texts.get(key)) for n, key in enumerate(keys, 1)
            ]
            if len(message.texts) > 1 or any(key in edits.texts for key in keys):
                data["days"] = per_day
            else:
                data["texts"] = per_day[0]
        elif message.key in edits.moved:
            day = days[message.key]
            data["date"] = str(MonthDay(day.month, day.day))
        elif message.rule == "date":
            data["date"] = str(message.first)
        else:
            data["offset"] = message.offset
        if message.rule != "range":
            data["texts"] = _texts(message.template(1), edits.texts.get(message.key))
        written.append(_common(campaign, message, data))
    for added in edits.added:  # texts already written (braces doubled): as they are
        data = {"key": added.key}
        if added.title:
            data["title"] = added.title
        day = days[added.key]
        data["date"] = str(MonthDay(day.month, day.day))
        data["texts"] = _texts(added.template(1), edits.texts.get(added.key))
        written.append(_common(campaign, added, data))
    return written


def file_data(campaign: Campaign, year: int) -> dict[str, Any]:
    """The file's tables, in the order of the shipped files."""
    data: dict[str, Any] = {"name": campaign.name, "title": campaign.title}
    if campaign.description:
        data["description"] = campaign.description
    if campaign.date is not None:
        data["date"] = str(campaign.date)
    data["send_time"] = _hhmm(campaign.send_time)
    if not campaign.sms_gsm_safe:
        data["sms_gsm_safe"] = False
    if not campaign.fallback:
        data["fallback"] = False
    audience = _audience(campaign.audience)
    if audience:
        data["audience"] = audience
    themes = {y: dict(t) for y, t in campaign.themes.items() if t}
    edited = campaign.year_theme(year)
    if edited:
        themes[year] = dict(edited)
    else:
        themes.pop(year, None)
    if themes:
        data["years"] = {
            str(y): {"theme": dict(sorted(t.items(), key=lambda item: _language_order(item[0])))}
            for y, t in sorted(themes.items())
        }
    if campaign.review_pending:
        data["review"] = {"pending": sorted(campaign.review_pending)}
    if campaign.whatsapp is not None:
        data["whatsapp"] = campaign.whatsapp.to_json()
    data["messages"] = _messages(campaign, year)
    return data


def to_toml(campaign: Campaign, year: int) -> str:
    """The campaign as a file, `year` as edited; the file's name is `{campaign.name}.toml`."""
    header = (
        f"# Campaign {campaign.name}, with {year} as edited in the Benkadi console (exported).\n"
        '# How this file works: see "Campaign calendars" in README.md. Every text must fit in\n'
        "# 2 SMS; {year} is the year and {theme} the year's theme; a line holding {theme} is\n"
        "# left out in a year without one.\n\n"
    )
    return header + tomli_w.dumps(file_data(campaign, year), multiline_strings=True)
