"""One bar chart per choice question, as SVG. Pure: a question's results in, SVG bytes out,
so the HTTP API, the CLI and the web console draw the same chart."""

from __future__ import annotations

from typing import Any

import pygal
from pygal.style import Style

from bot.vocabulary.small_cells import EXCLUSIVE_KINDS, HIDDEN, option_counts, shown

STYLE = Style(
    background="white",
    plot_background="white",
    colors=("#7b2d8b",),
    font_family="DejaVu Sans, Arial, sans-serif",
)


def question_chart(question: dict[str, Any], *, standalone: bool = True) -> bytes:
    """`question` is one entry of results' "questions" (with its "options" and counts).
    `standalone`: an .svg file (with its XML declaration); False: to inline in an HTML page."""
    if "options" not in question:
        raise ValueError(f"question {question['key']} has no options to chart")
    chart = pygal.HorizontalBar(
        style=STYLE,
        show_legend=False,
        width=800,
        height=120 + 45 * len(question["options"]),
        title=question["text"],
        print_values=True,
        value_formatter=lambda value: f"{value:g} %",
        disable_xml_declaration=not standalone,
        js=[],  # pygal's tooltips script comes from a CDN: none (slow link, no internet)
    )
    chart.x_labels = [option["label"] for option in question["options"]]
    answered, options = question["answered"], question["options"]
    marks = option_counts(
        answered, [o["count"] for o in options], question.get("kind") in EXCLUSIVE_KINDS
    )
    chart.add("%", [_bar(o, answered, mark) for o, mark in zip(options, marks, strict=True)])
    return chart.render()


def _bar(option: dict[str, Any], answered: int, mark: Any) -> dict[str, Any]:
    """A bar as it may be shown: a count under 5 people (or of under 5), or one hidden so that
    such a count cannot be worked out (`mark` "x"), is neither drawn nor written
    (bot/vocabulary/small_cells.py)."""
    if isinstance(mark, str) or shown(answered) == HIDDEN:
        return {
            "value": None,
            "label": f"{mark if isinstance(mark, str) else HIDDEN} / {shown(answered)}",
        }
    return {"value": option["percent"], "label": f"{option['count']} / {answered}"}
