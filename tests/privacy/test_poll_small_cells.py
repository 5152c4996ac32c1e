"""Poll counts leave the console (XLSX counts sheet, SVG charts) without cells under 5."""

from __future__ import annotations

import re

import pytest

from broadcasts.polls.charts import question_chart
from broadcasts.polls.export import summary_tables

pytestmark = pytest.mark.unit

QUESTION = {
    "key": "besoin",
    "text": "Votre besoin ?",
    "answered": 23,
    "options": [
        {"label": "Formation", "count": 20, "percent": 87.0},
        {"label": "Abri", "count": 3, "percent": 13.0},
    ],
}


async def test_counts_sheet_hides_small_counts_and_their_percentages():
    results = {"questions": [QUESTION], "scores": {"organisations": []}}
    counts = summary_tables(results)[0]
    rows = [row async for row in counts.rows]
    assert rows == [
        ["besoin", "Votre besoin ?", "Formation", 20, 23, 87.0],
        ["besoin", "Votre besoin ?", "Abri", "< 5", 23, "x"],
    ]


def test_chart_draws_no_small_bar():
    texts = re.findall(r">([^<>]+)<", question_chart(QUESTION).decode())
    assert "20 / 23" in texts and "87 %" in texts and "Abri" in texts  # the option is named
    assert "3 / 23" not in texts and "13 %" not in texts
