"""Poll counts leave the console (XLSX counts sheet, SVG charts) without cells under 5."""

from __future__ import annotations

import re

import pytest

from broadcasts.polls.charts import question_chart
from broadcasts.polls.export import summary_tables
from broadcasts.polls.results import shareable

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


def test_results_over_the_api_hide_what_the_chart_hides():
    few = {**QUESTION, "key": "peu", "answered": 3, "options": [{**QUESTION["options"][1]}]}
    number = {"key": "salaries", "kind": "number", "answered": 2, "number": {"count": 2}}
    results = {"questions": [QUESTION, few, number], "rates": {"started": 26}}
    shared = shareable(results)
    many, small, untouched = shared["questions"]
    assert many["answered"] == 23
    assert [(o["count"], o["percent"]) for o in many["options"]] == [(20, 87.0), ("< 5", None)]
    assert small["answered"] == "< 5" and small["options"][0]["count"] == "< 5"
    assert untouched == number and shared["rates"] == {"started": 26}
    assert results["questions"][0]["options"][1]["count"] == 3  # the console's copy is exact


ONE_ANSWER = {**QUESTION, "kind": "single"}  # 20 + 3 = 23: the 3 is 23 - 20


async def test_a_one_answer_question_hides_the_count_that_would_give_the_small_one_away():
    counts = summary_tables({"questions": [ONE_ANSWER], "scores": {"organisations": []}})[0]
    assert [row async for row in counts.rows] == [
        ["besoin", "Votre besoin ?", "Formation", "x", 23, "x"],
        ["besoin", "Votre besoin ?", "Abri", "< 5", 23, "x"],
    ]
    texts = re.findall(r">([^<>]+)<", question_chart(ONE_ANSWER).decode())
    assert "20 / 23" not in texts and "87 %" not in texts and "Formation" in texts
    shared = shareable({"questions": [ONE_ANSWER]})["questions"][0]
    assert [(o["count"], o["percent"]) for o in shared["options"]] == [("x", None), ("< 5", None)]
    # Multiple choice: the options do not add up, the large count stays (QUESTION's tests).
    multiple = shareable({"questions": [{**QUESTION, "kind": "multiple"}]})["questions"][0]
    assert [o["count"] for o in multiple["options"]] == [20, "< 5"]
