"""A poll exported to TOML or JSON reads back as the same poll (the console's export/import)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from broadcasts.polls.definition_file import file_form, to_toml
from broadcasts.polls.parse import load_poll_file, parse_poll, parse_poll_json
from broadcasts.polls.preview import preview
from tests.polls.conftest import CAPACITY, capacity_poll

pytestmark = pytest.mark.unit


def test_shipped_poll_round_trips_through_toml_and_json():
    poll = load_poll_file(CAPACITY)  # with its dates
    assert poll.opens_at is not None and poll.closes_at is not None
    assert parse_poll(to_toml(poll), "export.toml") == poll
    assert parse_poll_json(json.loads(json.dumps(file_form(poll)))) == poll
    assert to_toml(parse_poll(to_toml(poll), "x")) == to_toml(poll)


def test_a_poll_without_dates_or_reminder_round_trips():
    poll = replace(capacity_poll(), reminder={}, reminder_days=None)
    assert parse_poll(to_toml(poll), "export.toml") == poll


def test_preview_numbers_the_question_and_falls_back_to_french():
    poll = capacity_poll()
    first = preview(poll)[0]
    fr = next(item for item in first["languages"] if item["language"] == "fr")
    assert fr["sms"].startswith(f"1/{len(poll.questions)} ")
    assert fr["segments"] == 1 and fr["buttons"] == ["Oui", "Non"]
    assert not fr["fallback"]


def test_preview_says_which_choices_fall_back_and_the_condition():
    from broadcasts.polls.model import Condition, Option, Question

    poll = replace(
        capacity_poll(),
        questions=(
            Question("forme", "single", {"fr": "Formée ?", "bm": "Kalan ?"}, options=(
                Option("deja", {"fr": "Déjà", "bm": "Kaban"}), Option("pas", {"fr": "Pas encore"}),
            )),
            Question("nombre", "number", {"fr": "Combien ?"}, minimum=0, maximum=9,
                     ask_if=Condition("forme", ("deja",))),
            Question("plus", "yes_no", {"fr": "Plus ?"}, ask_if=Condition("nombre", at_least=2)),
        ),
    )  # fmt: skip
    first, second, third = preview(poll)
    by_language = {item["language"]: item for item in first["languages"]}
    assert by_language["bm"]["choices_fallback"] == ["pas"] and not by_language["bm"]["fallback"]
    assert by_language["fr"]["choices_fallback"] == []
    assert first["ask_if"] is None
    assert second["ask_if"] == {
        "question": "forme",
        "position": 1,
        "values": ["Déjà"],
        "at_least": None,
    }
    assert third["ask_if"] == {"question": "nombre", "position": 2, "values": [], "at_least": "2"}
