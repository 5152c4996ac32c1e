"""Reading dates, counts and the one-line report form: pure, no database."""

from __future__ import annotations

from datetime import date

import pytest

from bot.report_line import Problem, line_rest, parse_counts, parse_date, parse_line

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aujourd'hui", date(2026, 11, 29)),
        ("Bi", date(2026, 11, 29)),
        ("today", date(2026, 11, 29)),
        ("HIER", date(2026, 11, 28)),
        ("kunu", date(2026, 11, 28)),
        ("12/11", date(2026, 11, 12)),
        ("29/11", date(2026, 11, 29)),
        ("30/11", date(2025, 11, 30)),  # no year: the latest such day not in the future
        ("5/12", date(2025, 12, 5)),
        ("12/11/2026", date(2026, 11, 12)),
        ("01.12.25", date(2025, 12, 1)),
        ("3-11-2026", date(2026, 11, 3)),
    ],
)
def test_dates_members_write(text, expected):
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("30/11/2026", "date_future"),
        ("12/11/2025", "date_old"),
        ("31/02", "date_unreadable"),
        ("demain", "date_unreadable"),
        ("12 novembre", "date_unreadable"),
    ],
)
def test_dates_refused_say_why(text, code):
    assert parse_date(text, TODAY) == Problem(code)


def test_counts_plain_lettered_and_refused():
    assert parse_counts("25 10 5 3", 1000) == (25, 10, 5, 3)
    assert parse_counts("25,10,5,3", 1000) == (25, 10, 5, 3)
    assert parse_counts("G3 FI5 H10 F25", 1000) == (25, 10, 5, 3)
    assert parse_counts("0 0 0 0", 1000) == (0, 0, 0, 0)
    assert parse_counts("25 10 5", 1000) == Problem("counts_format")
    assert parse_counts("vingt", 1000) == Problem("counts_format")
    assert parse_counts("25 -10 5 3", 1000) == Problem("counts_negative")
    assert parse_counts("25 10 5 3000", 1000) == Problem("counts_too_many")


def test_line_rest_needs_the_keyword_first_and_something_after():
    assert line_rest("RAPPORT formation 12/11") == "formation 12/11"
    assert line_rest("baara bi") == "bi"
    assert line_rest("RAPPORT") is None
    assert line_rest("Formation RAPPORT") is None


def test_the_issue_example_parses_whole():
    result = parse_line("formation 12/11 Kayes F25 H10 FI5 G3 Formation des leaders", TODAY, 1000)
    assert result.problems == {}
    assert result.values == {
        "activity": "formation",
        "date": "2026-11-12",
        "region": "kayes",
        "commune": None,
        "women": 25,
        "men": 10,
        "girls": 5,
        "boys": 3,
        "description": "Formation des leaders",
    }


def test_a_commune_after_the_region_and_words_in_any_order():
    result = parse_line("hier Ségou Niono training F1 H2 FI3 G4 Causerie", TODAY, 1000)
    assert (result.values["date"], result.values["activity"]) == ("2026-11-28", "formation")
    assert (result.values["region"], result.values["commune"]) == ("segou", "Niono")
    result = parse_line("training hier Ségou Niono F1 H2 FI3 G4 Causerie", TODAY, 1000)
    assert result.values["activity"] == "formation" and result.values["commune"] == "Niono"


def test_what_cannot_be_read_is_left_to_the_questions_with_why():
    result = parse_line("atelierz 31/12/2020 Kayes F1 H-2 Bla bla", TODAY, 1000)
    assert result.problems == {
        "activity": "activity_unknown",
        "when": "date_old",
        "beneficiaries": "counts_format",
    }
    assert "activity" not in result.values and "date" not in result.values
    result = parse_line("plaidoyer bi Kayes F1 H2 FI-3 G4 ok ok", TODAY, 1000)
    assert result.problems == {"beneficiaries": "counts_negative"}
    result = parse_line("plaidoyer bi Kayes F1 H2 FI3 G4000 ok ok", TODAY, 1000)
    assert result.problems == {"beneficiaries": "counts_too_many"}


def test_counts_are_the_first_run_only_the_rest_is_the_description():
    line = "formation 12/11 Kayes F25 H10 FI5 G3 Formation des F3 leaders"
    result = parse_line(line, TODAY, 1000)
    assert result.problems == {}
    assert [result.values[k] for k in ("women", "men", "girls", "boys")] == [25, 10, 5, 3]
    assert result.values["description"] == "Formation des F3 leaders"
    result = parse_line("formation hier Kayes F25 H10 et FI5 G3 Causerie G2", TODAY, 1000)
    assert (result.values["boys"], result.values["description"]) == (3, "Causerie G2")


def test_spaced_and_comma_separated_counts():
    for counts in ("F 25 H 10 FI 5 G 3", "F25,H10,FI5,G3", "F25;H10;FI5;G3", "F25, H10, FI5, G3"):
        result = parse_line(f"formation hier Kayes {counts} Causerie", TODAY, 1000)
        assert result.problems == {}, counts
        assert [result.values[k] for k in ("women", "men", "girls", "boys")] == [25, 10, 5, 3]
        assert result.values["description"] == "Causerie", counts
        assert result.values["region"] == "kayes" and result.values["commune"] is None
        assert parse_counts(counts, 1000) == (25, 10, 5, 3), counts
    assert parse_counts("F 25 H 10 FI 5", 1000) == Problem("counts_format")
