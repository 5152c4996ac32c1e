"""Small-cell suppression: a count of fewer than 5 people never leaves the console as a number.

The GBV information-sharing practice (GBVIMS) shares only aggregates that identify no one: in a
district where 2 girls were counted, "2" points at them. Every breakdown that leaves the
console's pages (exports of totals, poll results, charts) goes through `suppress_row`:
- a count from 1 to 4 shows as "< 5" (0 stays 0: it tells nothing about anyone);
- a total below 5 likewise;
- when a row's total is shown and only one of its cells is hidden, the next smallest non-zero
  cell is hidden too (as "x"), or the hidden one would be the total minus the others.
Pure: numbers in, numbers or "< 5" out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

THRESHOLD = 5
HIDDEN = "< 5"
SECONDARY = "x"  # hidden too, though not small: so that a "< 5" cannot be worked out


def shown(count: int | float | None) -> int | float | str | None:
    """One count as it may be shown outside: "< 5" for 1-4."""
    if count is None or not isinstance(count, int | float):
        return count
    return HIDDEN if 0 < count < THRESHOLD else count


def suppress_row(
    row: Sequence[Any], cells: Sequence[int], total: int | None = None
) -> tuple[Any, ...]:
    """The row with its count `cells` (indexes) and `total` (index, if any) suppressed."""
    out = list(row)
    hidden = [i for i in cells if shown(out[i]) == HIDDEN]
    for i in hidden:
        out[i] = HIDDEN
    if total is not None:
        out[total] = shown(out[total])
        if len(hidden) == 1 and out[total] != HIDDEN:
            others = [i for i in cells if i not in hidden and isinstance(out[i], int | float)]
            others = [i for i in others if out[i] > 0]
            if others:
                out[min(others, key=lambda i: (out[i], i))] = SECONDARY
    return tuple(out)


EXCLUSIVE_KINDS = ("single", "yes_no")  # one answer each: the options add up to those answering


def option_counts(answered: int, counts: Sequence[int], exclusive: bool) -> list[Any]:
    """A choice question's option counts as they may be shown. When the options add up to
    `answered` (one choice, yes/no), they are a row with its total: a lone hidden count takes
    the next smallest with it ("x"), or answered minus the others would give it away. Options
    of a multiple choice do not add up: each is shown or hidden alone."""
    if not exclusive:
        return [shown(count) for count in counts]
    return list(suppress_row([*counts, answered], range(len(counts)), len(counts))[:-1])
