"""Small cells: in a breakdown (not a plain list of members), a count of 1 to 4 people is
shown as "< 5". Small counts identify people, and in a GBV context that can put them in
danger. Zero stays zero (it names nobody). Exports that carry breakdowns say so (NOTE).

Pure, on plain numbers and dicts, so that poll results, capacity scores, the dashboard and
the exports all suppress the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.vocabulary.small_cells import HIDDEN, THRESHOLD, option_counts, shown

# One rule with bot/vocabulary/small_cells.py (the exports' suppress_row): the same threshold
# and mark; these are the shapes the directory's breakdowns need.
SMALL_CELL = THRESHOLD
SUPPRESSED = HIDDEN
NOTE = (
    "Les effectifs de 1 à 4 personnes sont affichés « < 5 » (et les pourcentages retirés) : "
    "de petits nombres permettent de reconnaître des personnes."
)


def suppress_small_cells(count: int | None) -> int | str | None:
    """The count, or "< 5" if it counts 1 to 4 people."""
    return shown(count)  # type: ignore[return-value]  # counts here are whole numbers


def is_small(count: Any) -> bool:
    return isinstance(count, int) and not isinstance(count, bool) and 0 < count < SMALL_CELL


def suppress_options(
    answered: int, options: Sequence[dict[str, Any]], exclusive: bool = False
) -> tuple[Any, list[dict[str, Any]]]:
    """One group of a poll breakdown: (answered, options with count and percent). A group of
    fewer than 5 respondents shows none of its counts; otherwise its small counts are
    suppressed, with their percentages, and, when the options add up to `answered`
    (`exclusive`: one choice, yes/no), a lone small one takes the next smallest with it
    (small_cells.option_counts)."""
    if is_small(answered):
        return SUPPRESSED, [{**o, "count": SUPPRESSED, "percent": None} for o in options]
    marks = option_counts(answered, [o["count"] for o in options], exclusive)
    result = []
    for option, mark in zip(options, marks, strict=True):
        hidden = isinstance(mark, str)
        result.append({**option, "count": mark, "percent": None if hidden else option["percent"]})
    return answered, result
