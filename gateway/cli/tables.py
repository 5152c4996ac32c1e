"""Lists on stdout: a rich table in a terminal; plain lines (no header, columns padded) when
stdout is a pipe or a file, so `benkadi … | grep`, `cut` and `awk` keep working."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from gateway.cli.common import emit_json


@dataclass(frozen=True)
class Column:
    header: str
    width: int = 0  # plain lines: padded to this many characters (the last column never is)
    right: bool = False


def plain_line(columns: Sequence[Column], row: Sequence[object]) -> str:
    cells = []
    for index, (column, value) in enumerate(zip(columns, row, strict=True)):
        text = str(value)
        if index < len(columns) - 1 or column.right:
            text = text.rjust(column.width) if column.right else text.ljust(column.width)
        cells.append(text)
    return "  ".join(cells).rstrip()


def print_table(
    columns: Sequence[Column],
    rows: Iterable[Sequence[object]],
    *,
    empty: str = "",
    header: bool = False,
) -> None:
    """The rows under their headers; `empty` (if any) when there are none. Plain lines have
    no header unless `header` (a table of numbers means nothing without one)."""
    rows = list(rows)
    if not rows:
        if empty:
            print(empty)
        return
    console = Console(file=sys.stdout, highlight=False)
    if not console.is_terminal:
        if header:
            print(plain_line(columns, [column.header for column in columns]))
        for row in rows:
            print(plain_line(columns, row))
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column.header, justify="right" if column.right else "left")
    for row in rows:
        table.add_row(*(Text(str(value)) for value in row))  # Text: no markup in names
    console.print(table)


def print_rows(
    rows: Sequence[dict[str, Any]],
    as_json: bool,
    columns: Sequence[Column],
    cells: Callable[[dict[str, Any]], Sequence[object]],
    *,
    empty: str = "",
) -> int:
    """A list verb's output: the rows as JSON, or a table of their `cells`; exit code 0."""
    if as_json:
        emit_json(rows)
    else:
        print_table(columns, [cells(row) for row in rows], empty=empty)
    return 0
