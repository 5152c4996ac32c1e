"""The channel traits table is what the dialogues read: one row per channel, no branches."""

from __future__ import annotations

import pytest

from bot.model import Inbound, Reply
from bot.render import render_for_channel
from bot.vocabulary.channels import CHANNEL_TRAITS, SMS, traits
from gateway.channels.telegram import CALLBACK_DATA_MAX_BYTES

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

CHOICES = tuple((f"k{n}", f"Choix numéro {n} — ɛɔ") for n in range(1, 13))
REPLY = Reply("Quelle région ?", CHOICES)


@pytest.mark.parametrize(
    ("channel", "style", "buttons", "whole_list", "letters_kept"),
    [
        ("telegram", "buttons", True, False, True),
        ("whatsapp", "sms", False, True, True),  # not billed by segment: whole, as written
        ("sms", "sms", False, False, False),  # paged to fit one SMS, cheapest spelling
        ("android", "sms", False, False, False),  # a channel not in the table: plain SMS
    ],
)
def test_rendering_follows_the_traits(channel, style, buttons, whole_list, letters_kept) -> None:
    assert Inbound(channel, "x").style == style
    body, shown = render_for_channel(REPLY, channel)
    assert (shown is not None) == buttons
    if not buttons:
        assert ("12 Choix numéro 12" in body) == whole_list
        assert ("ɛ" in body) == letters_kept


def test_every_channel_with_buttons_says_how_much_data_a_button_carries() -> None:
    assert all(t.callback_data_max_bytes for t in CHANNEL_TRAITS.values() if t.buttons)
    assert CALLBACK_DATA_MAX_BYTES == traits("telegram").callback_data_max_bytes == 64
    assert traits("unknown") is SMS
