"""SMS rendering: every prompt within one GSM-7 SMS where the language allows, lists paged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.fields import FIELDS
from bot.model import Context, Inbound, Reply
from bot.render import render_for_channel, sms_page
from bot.vocabulary.i18n import LANGUAGES, use_locale
from bot.vocabulary.sms_text import cheapest_sms_text, is_gsm7, sms_size

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)


def sms_context(organisations=()) -> Context:
    return Context(
        inbound=Inbound("sms", ""), language="fr", member=None, state=None, state_expired=False,
        opted_out=False, organisations=tuple(organisations), now=datetime.now(UTC), fresh_code="123456",
    )  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_every_field_prompt_page_is_one_gsm7_sms(language, field):
    ctx = sms_context(organisations=[f"Organisation numéro {n}" for n in range(12)])
    with use_locale(language):
        reply = FIELDS[field].ask(ctx, {})
        start, shown = 0, []
        while True:
            body, start = sms_page(reply, start)
            size = sms_size(body)
            assert size.segments == 1, body
            shown += [
                int(line.split()[0])
                for line in body.splitlines()[1:]
                if line[0].isdigit() and not line.startswith("0 ")
            ]
            if start is None:
                break
    assert shown == list(range(1, len(reply.choices) + 1))  # every choice, once, in order


def test_numbers_stay_global_across_pages():
    reply = Reply("Votre région ?", tuple((f"r{n}", f"Région {n}") for n in range(20)))
    first, start = sms_page(reply)
    second, _ = sms_page(reply, start)
    assert first.splitlines()[1].startswith("1 ") and first.splitlines()[-1] == "0 Suite"
    assert second.splitlines()[1].startswith(f"{start + 1} ")


def test_short_lists_are_never_paged_even_after_a_long_text():
    reply = Reply(
        "x" * 150, (("confirm", "Confirmer"), ("edit", "Modifier"), ("cancel", "Annuler"))
    )
    body, start = sms_page(reply)
    assert start is None and body.endswith("3 Annuler")


def test_bambara_letters_take_the_gsm_spelling_when_it_saves_segments():
    text = "Aw bisimila Benkadi kɔnɔ. Ɲɛnajɛ ŋɔni, aw ka tɔgɔ sɛbɛn ka kunnafoni sɔrɔ tɔnw ka baara kan."
    assert is_gsm7(cheapest_sms_text(text)) and "ɛ" not in cheapest_sms_text(text)
    assert sms_size(text).encoding == "UCS-2"


@pytest.mark.parametrize(
    ("written", "friendly"),
    [
        ("Neldee HAƁƁU ngam haɓɓude, ƊEMNGAL ɗemngal, moƴƴaani", "Neldee HABBU ngam habbude, DEMNGAL demngal, moyyaani"),
        ("Hõo, hãayan, šennoy, Žanwiye", "Hoo, haayan, shennoy, Janwiye"),
    ],
)  # fmt: skip
def test_fulfulde_and_songhay_letters_have_a_gsm_spelling(written, friendly):
    assert not is_gsm7(written)
    assert cheapest_sms_text(written * 3) == friendly * 3 and is_gsm7(friendly)


def test_telegram_keeps_the_text_and_gets_buttons():
    body, buttons = render_for_channel(
        Reply("Ɲɛnajɛ ?", (("yes", "Awɔ"), ("no", "Ayi"))), "telegram"
    )
    assert body == "Ɲɛnajɛ ?" and buttons == [["yes", "Awɔ"], ["no", "Ayi"]]


def test_sms_sizes():
    assert sms_size("a" * 160).segments == 1
    assert sms_size("a" * 161).segments == 2
    assert sms_size("€" * 80).units == 160
    assert sms_size("ɛ" * 70).segments == 1
    assert sms_size("ɛ" * 71).segments == 2
    assert sms_size("🙂" * 35).units == 70
