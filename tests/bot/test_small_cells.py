"""Small cells: fewer than 5 people never leave as a number, nor can be worked out from the rest."""

from __future__ import annotations

import pytest

from bot.vocabulary.small_cells import HIDDEN, SECONDARY, shown, suppress_row

pytestmark = pytest.mark.unit


def test_one_to_four_are_hidden_zero_and_five_are_not():
    assert [shown(n) for n in (0, 1, 4, 5, 120)] == [0, HIDDEN, HIDDEN, 5, 120]
    assert shown(None) is None and shown("Kayes") == "Kayes"


def test_a_lone_hidden_cell_cannot_be_worked_out_from_the_total():
    # women, men, girls, boys, total: 2 girls alone would be 30 - 20 - 8 - 0
    row = ("Kayes", 20, 8, 2, 0, 30)
    assert suppress_row(row, cells=(1, 2, 3, 4), total=5) == ("Kayes", 20, SECONDARY, HIDDEN, 0, 30)


def test_two_hidden_cells_need_nothing_more_and_small_totals_hide():
    assert suppress_row(("x", 11, 6, 3, 2, 22), (1, 2, 3, 4), 5) == ("x", 11, 6, HIDDEN, HIDDEN, 22)
    assert suppress_row(("x", 3, 0, 0, 0, 3), (1, 2, 3, 4), 5) == ("x", HIDDEN, 0, 0, 0, HIDDEN)
    assert suppress_row(("x", 20, 10, 0, 5, 35), (1, 2, 3, 4), 5) == ("x", 20, 10, 0, 5, 35)
