"""Charts as inline SVG with pygal: no script, no CDN, readable on paper (black text, white
ground, values printed on the bars)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pygal
from markupsafe import Markup
from pygal.style import Style

from gateway.console.formats import number, percent

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222",
    foreground_strong="#000",
    foreground_subtle="#666",
    colors=("#1f5f8b", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#7f8c8d"),
    font_family="sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=11,
    title_font_size=14,
    legend_font_size=12,
)


def _config(title: str, **extra) -> dict:
    return {
        "title": title,
        "style": STYLE,
        "js": [],  # pygal's tooltips come from a CDN: none here (slow link, no internet)
        "disable_xml_declaration": True,
        "print_values": True,
        "show_legend": False,
        "width": 640,
        "height": 300,
        "margin": 12,
        **extra,
    }


def _render(chart) -> Markup:
    return Markup(chart.render(is_unicode=True))


def _counted(chart, values: Sequence[float]) -> None:
    """Counts of members or reports: whole numbers on the axis (never "0.1 member"), written
    the French way (1 234)."""
    chart.value_formatter = number
    if all(float(value).is_integer() for value in values):
        top = max([0, *values])
        step = max(1, math.ceil(top / 5))
        chart.y_labels = list(range(0, int(top) + step + 1, step))


Count = float | str  # a count, or its mark when it may not be shown ("< 5", "x")


def _drawn(pairs: Sequence[tuple[str, Count]]) -> tuple[list[str], list[float | None]]:
    """Labels and values to draw: a suppressed count (a mark, not a number) draws nothing, and
    its label carries the mark, so the chart never shows what the table hides."""
    labels: list[str] = []
    values: list[float | None] = []
    for label, value in pairs:
        if isinstance(value, str):
            labels.append(f"{label} ({value})")
            values.append(None)
        else:
            labels.append(label)
            values.append(value)
    return labels, values


def bars(title: str, pairs: Sequence[tuple[str, Count]], *, horizontal: bool = False) -> Markup:
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = kind(**_config(title, height=max(220, 22 * len(pairs) + 60) if horizontal else 300))
    if horizontal:
        pairs = list(pairs)[::-1]  # pygal draws the first label at the bottom: biggest on top
    labels, values = _drawn(pairs)
    chart.x_labels = labels
    chart.add(title, values)
    _counted(chart, [value for value in values if value is not None])
    return _render(chart)


def line(title: str, pairs: Sequence[tuple[str, Count]]) -> Markup:
    chart = pygal.Line(**_config(title, x_label_rotation=30, fill=True, dots_size=3))
    labels, values = _drawn(pairs)
    chart.x_labels = labels
    chart.add(title, values)
    _counted(chart, [value for value in values if value is not None])
    return _render(chart)


def percent_bars(title: str, pairs: Sequence[tuple[str, float]]) -> Markup:
    chart = pygal.HorizontalBar(
        **_config(title, range=(0, 100), height=max(180, 26 * len(pairs) + 60))
    )
    chart.value_formatter = lambda value: percent(value, 0)
    chart.x_labels = [label for label, _ in pairs]
    chart.add(title, [value for _, value in pairs])
    return _render(chart)
