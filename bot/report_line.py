"""Reading an activity report's pieces: activity type, date, beneficiaries, and the one-line form.

Pure: no gettext, no database. Problems come back as codes (see PROBLEMS) that the report flow
turns into a sentence in the member's language.

One-line grammar (tokens separated by spaces, the keyword first):
    RAPPORT <type> <date> <region> [commune…] F<n> H<n> FI<n> G<n> <description…>
type, date and place may come in any order before the first count; F femmes, H hommes,
FI filles, G garçons (also "F:25", "F=25", "F 25", "F25,H10,FI5,G3" or with ";"). The counts are
the first run of them only (a letter seen twice ends it): everything after is the description,
even a word such as "F3" in it.
What is missing or wrong is asked afterwards by the guided questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bot.vocabulary.reference import (
    ACTIVITY_ALIASES,
    ACTIVITY_TYPES,
    REGION_ALIASES,
    REGIONS,
)
from bot.vocabulary.text import KEYWORDS, fold, match_choice

COUNT_FIELDS = ("women", "men", "girls", "boys")
COUNT_LETTERS = {"f": "women", "h": "men", "fi": "girls", "g": "boys"}
TODAY_WORDS = frozenset({"today", "aujourd'hui", "aujourdhui", "auj", "bi"})
YESTERDAY_WORDS = frozenset({"yesterday", "hier", "kunu"})
MAX_AGE = timedelta(days=365)

_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_COUNT = re.compile(r"^(fi|f|h|g)[:=]?(-?\d+)$")
_NUMBER = re.compile(r"-?\d+")
_SEPARATORS = re.compile(r"[,;]")
CONNECTORS = frozenset({"et", "and", "ni", "&"})  # "F25 H10 et FI5 G3"

# Problem codes, explained to the member by the flow.
PROBLEMS = (
    "date_unreadable",
    "date_future",
    "date_old",
    "activity_unknown",
    "counts_format",
    "counts_negative",
    "counts_too_many",
)


@dataclass(frozen=True)
class Problem:
    code: str


def line_rest(text: str) -> str | None:
    """The words after a leading report keyword ("RAPPORT formation 12/11 …"), if any."""
    first, _space, rest = text.strip().partition(" ")
    if fold(first.lstrip("/")) in KEYWORDS["report"] and rest.strip():
        return rest.strip()
    return None


def activity_of(text: str) -> str | None:
    folded = fold(text)
    if not folded or folded.isdigit():
        return None
    return match_choice(folded, ACTIVITY_TYPES, ACTIVITY_ALIASES)


def region_of(text: str) -> str | None:
    folded = fold(text)
    if not folded or folded.isdigit():
        return None
    return match_choice(folded, REGIONS, REGION_ALIASES)


def looks_like_date(text: str) -> bool:
    folded = fold(text)
    return folded in TODAY_WORDS or folded in YESTERDAY_WORDS or bool(_DATE.match(folded))


def parse_date(text: str, today: date) -> date | Problem:
    """today/hier/kunu, dd/mm (the latest such date not in the future), dd/mm/yyyy, dd.mm.yy."""
    folded = fold(text)
    if folded in TODAY_WORDS:
        return today
    if folded in YESTERDAY_WORDS:
        return today - timedelta(days=1)
    found = _DATE.match(folded.replace(" ", ""))
    if not found:
        return Problem("date_unreadable")
    day, month, year = int(found[1]), int(found[2]), found[3]
    try:
        if year is None:
            when = date(today.year, month, day)
            if when > today:
                when = date(today.year - 1, month, day)
        else:
            full = int(year) + (2000 if len(year) == 2 else 0)
            when = date(full, month, day)
    except ValueError:
        return Problem("date_unreadable")
    if when > today:
        return Problem("date_future")
    if today - when > MAX_AGE:
        return Problem("date_old")
    return when


def parse_counts(text: str, maximum: int) -> tuple[int, int, int, int] | Problem:
    """Four numbers, women men girls boys: "25 10 5 3", "25,10,5,3" or "F25 H10 FI5 G3"."""
    # Not fold(): it would strip the minus sign off "-1".
    tokens = text.casefold().replace(",", " ").replace(";", " ").split()
    if any(not _NUMBER.fullmatch(token) for token in tokens):  # lettered: F25 H10, F 25 H 10…
        run = count_run(tokens)
        if run is None or run[:2] != (0, len(tokens)) or set(run[2]) != set(COUNT_FIELDS):
            return Problem("counts_format")
        numbers = [run[2][name] for name in COUNT_FIELDS]
    else:
        if any(not _NUMBER.fullmatch(token) for token in tokens):
            return Problem("counts_format")
        numbers = [int(token) for token in tokens]
        if len(numbers) != 4:
            return Problem("counts_format")
    return check_counts(numbers, maximum)


def check_counts(numbers: list[int], maximum: int) -> tuple[int, int, int, int] | Problem:
    if any(n < 0 for n in numbers):
        return Problem("counts_negative")
    if any(n > maximum for n in numbers) or sum(numbers) > maximum:
        return Problem("counts_too_many")
    women, men, girls, boys = numbers
    return women, men, girls, boys


def _counts_at(tokens: list[str], i: int) -> tuple[list[tuple[str, int]], int] | None:
    """The counts token i starts, and how many tokens they take: "F25", "F:25", "F25,H10"
    (one token), "F" "25" (two); None if it starts none."""
    if i >= len(tokens):
        return None
    parts = [fold(part) for part in _SEPARATORS.split(tokens[i]) if fold(part)]
    found = [_COUNT.match(part) for part in parts]
    if parts and all(found):
        return [(COUNT_LETTERS[f[1]], int(f[2])) for f in found if f is not None], 1
    letter = fold(tokens[i])
    number = tokens[i + 1].rstrip(",;") if i + 1 < len(tokens) else ""
    if letter in COUNT_LETTERS and _NUMBER.fullmatch(number):
        return [(COUNT_LETTERS[letter], int(number))], 2
    return None


def count_run(tokens: list[str]) -> tuple[int, int, dict[str, int]] | None:
    """The first run of counts: (its first token, the token after it, the numbers read).
    A letter seen again ends the run (it belongs to the description)."""
    for start in range(len(tokens)):
        numbers: dict[str, int] = {}
        i = start
        while i < len(tokens):
            counts = _counts_at(tokens, i)
            if counts is None and numbers and fold(tokens[i]) in CONNECTORS:
                if _counts_at(tokens, i + 1) is not None:
                    i += 1
                    continue
            if counts is None or any(name in numbers for name, _n in counts[0]):
                break
            numbers.update(counts[0])
            i += counts[1]
        if numbers:
            return start, i, numbers
    return None


@dataclass
class LineResult:
    """What a one-line report said: values ready for the flow's data, and what went wrong."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # step → problem code


def parse_line(text: str, today: date, maximum: int) -> LineResult:
    """The words after the keyword of `RAPPORT formation 12/11 Kayes F25 H10 FI5 G3 Formation…`."""
    result = LineResult()
    tokens = text.split()
    run = count_run(tokens)
    head = tokens[: run[0]] if run else tokens
    tail = tokens[run[1] :] if run else []
    place: list[str] = []
    rest: list[str] = []
    for index, token in enumerate(head):
        if rest:  # no counts: after the leading type/date/region, the rest is description
            rest.append(token)
        elif "activity" not in result.values and activity_of(token):
            result.values["activity"] = activity_of(token)
        elif (
            "date" not in result.values and "when" not in result.problems and looks_like_date(token)
        ):
            when = parse_date(token, today)
            if isinstance(when, Problem):
                result.problems["when"] = when.code
            else:
                result.values["date"] = when.isoformat()
        elif index == 0 and not region_of(token):
            result.problems["activity"] = "activity_unknown"  # the type's place, not a type
        elif run:
            place.append(token)
        elif not place and region_of(token):
            place.append(token)
        else:
            rest.append(token)
    if place:
        region = region_of(place[0])
        if region:
            result.values["region"] = region
            commune = " ".join(place[1:]) or None
        else:
            commune = " ".join(place)
        result.values["commune"] = commune[:200] if commune else None
    if run:
        numbers = run[2]
        if set(numbers) == set(COUNT_FIELDS):
            checked = check_counts([numbers[name] for name in COUNT_FIELDS], maximum)
            if isinstance(checked, Problem):
                result.problems["beneficiaries"] = checked.code
            else:
                result.values.update(zip(COUNT_FIELDS, checked, strict=True))
        else:
            result.problems["beneficiaries"] = "counts_format"
    description = " ".join(tail or rest).strip()
    if len(description) >= 2:
        result.values["description"] = description[:1000]
    return result
