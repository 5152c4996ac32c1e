"""SMS rendering: every prompt within one GSM-7 SMS where the language allows, lists paged."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.fields import FIELDS
from bot.flows.common import help_text
from bot.model import Context, Inbound, Profile, Reply
from bot.render import render_for_channel, sms_page
from bot.vocabulary.i18n import LANGUAGES, use_locale
from bot.vocabulary.sms_text import cheapest_sms_text, gsm_friendly, is_gsm7, sms_size
from bot.vocabulary.text import keyword, match_choice

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


def test_the_gsm_spelling_keeps_the_letter_case_of_a_word():
    assert gsm_friendly("ƝININKALI ka ɲininkali") == "NYININKALI ka nyininkali"
    assert gsm_friendly("Ɲɛnajɛ, AŊ, Ŋ, Œuvre, ŒUVRE") == "Nyènajè, ANG, Ng, Oeuvre, OEUVRE"


def test_french_guillemets_lose_their_inner_spaces_in_the_gsm_spelling():
    for spaced in (
        "« Capacités des OSC »",
        "«\u00a0Capacités des OSC\u00a0»",
        "«\u202fCapacités des OSC\u202f»",
    ):
        assert gsm_friendly(f"Sondage {spaced} :") == 'Sondage "Capacités des OSC" :'


@pytest.mark.parametrize("language", ["fr", "bm", "ff", "ses", "en"])
def test_every_keyword_in_the_help_stays_a_keyword_in_capitals_in_the_gsm_spelling(language):
    """The words in capitals a help text names are typed back: the SMS spelling must keep them
    in capitals and they must still be read as the same command."""
    for member in (None, Profile(1, "Awa", None, None, None, (), language)):
        ctx = replace(sms_context(), member=member)
        with use_locale(language):
            text = help_text(ctx)
        for word in re.findall(r"\b[^\W\d_a-zɛɔɲŋ]{2,}\b", text):
            spelled = gsm_friendly(word)
            assert spelled.isupper(), (word, spelled)
            if keyword(word) is not None:
                assert keyword(spelled) == keyword(word), word


MY_DATA_WORDS = {
    "fr": "MES DONNÉES",
    "bm": "N KA KUNNAFONIW",
    "ff": "KABAARU AM",
    "ses": "AY ALHABAREY",
    "en": "MY DATA",
}


@pytest.mark.parametrize("language", ["fr", "bm", "ff", "ses", "en"])
def test_the_help_names_the_keyword_for_ones_data_in_the_language(language):
    """AIDE tells members and strangers how to ask what is held about them (MES DONNÉES), with
    the keyword of their language, which, typed back as the SMS spells it, is that command."""
    word = MY_DATA_WORDS[language]
    assert keyword(word) == "my_data" and keyword(gsm_friendly(word)) == "my_data"
    for member in (None, Profile(1, "Awa", None, None, None, (), language)):
        ctx = replace(sms_context(), member=member)
        with use_locale(language):
            text = help_text(ctx)
        body, _ = render_for_channel(Reply(text), "sms")
        assert word in text and gsm_friendly(word) in body, (language, body)
        assert sms_size(body).segments <= (2 if member else 1), (language, body)


@pytest.mark.parametrize("language", ["fr", "bm", "ff", "ses", "en"])
def test_every_choice_label_keeps_its_case_and_is_read_back_in_the_gsm_spelling(language):
    with use_locale(language):
        for field in sorted(FIELDS):
            reply = FIELDS[field].ask(sms_context(organisations=["AMSS"]), {})
            for key, label in reply.choices:
                spelled = gsm_friendly(label)
                assert spelled[:1].isupper() == label[:1].isupper(), label
                assert match_choice(spelled, reply.choices) == key, (label, spelled)
