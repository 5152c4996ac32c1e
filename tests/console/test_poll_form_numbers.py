"""Numbers typed into the poll editor that float() or isdigit() take but int() does not: each
comes back as a French message on its field, never a 500."""

from __future__ import annotations

import pytest

from gateway.console import poll_form

BASE = {
    "slug": "essai",
    "title_fr": "Essai",
    "invitation_fr": "Répondez.",
    "questions": "1",
    "q0_key": "nombre",
    "q0_kind": "number",
    "q0_text_fr": "Combien ?",
    "q0_min": "0",
    "q0_max": "10",
}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ({"q0_max": "1e999"}, "q0_options"),
        ({"q0_min": "-inf"}, "q0_options"),
        ({"q0_max": "nan"}, "q0_options"),
        ({"reminder_days": "²", "reminder_fr": "Rappel."}, "reminder_days"),
    ],
)
def test_a_number_no_question_can_take_is_marked_on_its_field(typed, field):
    _, errors = poll_form.read(BASE | typed)
    assert errors.get(field)


@pytest.mark.unit
def test_an_ordinary_form_reads_without_errors():
    data, errors = poll_form.read(BASE)
    assert errors == {} and data["questions"][0]["max"] == 10
