"""End to end over HTTP: a Songhay member by SMS and a Fulfulde member on Telegram register, ask
for help, stop and start again, in their own words, and never read a French sentence."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from bot.vocabulary.i18n import in_language
from bot.vocabulary.sms_text import cheapest_sms_text
from tests.gateway.test_registration_e2e import converse_sms

ROOT = Path(__file__).resolve().parents[2]
ZEINAB = "+22375550101"


def french_sentences() -> set[str]:
    """The French source texts, cut at their placeholders, long enough to be French on sight."""
    with (ROOT / "locales" / "benkadi.pot").open("rb") as handle:
        ids = [message.id for message in read_po(handle) if message.id]
    pieces = {piece.strip() for mid in ids for piece in re.split(r"\{\w+\}", mid)}
    return {piece for piece in pieces if len(piece) >= 12}


def assert_no_french(language: str, replies: list[str]) -> None:
    sentences = french_sentences()
    assert len(sentences) > 100
    for reply in replies:
        for sentence in sentences:
            assert sentence not in reply and cheapest_sms_text(sentence) not in reply, (
                sentence,
                reply,
            )


async def test_a_songhay_member_by_sms_reads_only_songhay(harness):
    replies = await converse_sms(
        harness,
        ZEINAB,
        [
            "HANTUM",
            "Zeinab Maïga",
            "Tonda Woyborey",
            "Gao",
            "Ansongo",
            "1 8",
            "4",
            "woy",
            "2",
            "ayyo",
            "1",
        ],
    )
    assert replies[0].startswith("Benkadi: maa hantumyan")  # HANTUM: registration in Songhay
    assert in_language("ses", "Quel est votre nom complet ?") in replies[0]
    assert "Wor laabu?" in replies[2]  # the region question, the list paged in Songhay
    assert "0 Gaaba" in replies[2]
    assert replies[-1].startswith("Kubayni Benkadi ra, Zeinab Maiga!")  # ï→i: GSM-7, one SMS
    [member] = await harness.members()
    assert (member.language, member.region, member.themes) == ("ses", "gao", ["vbg", "climat"])

    [help_] = await converse_sms(harness, ZEINAB, ["GAA"])
    assert help_.startswith("Benkadi: GOY ka goy seeda")
    [stopped] = await converse_sms(harness, ZEINAB, ["FAY"])
    assert "SINTIN" in stopped
    assert (await harness.address("sms", ZEINAB)).opted_out_at is not None
    [back] = await converse_sms(harness, ZEINAB, ["sintin"])
    assert back == cheapest_sms_text(
        in_language("ses", "Vous recevez de nouveau les messages de Benkadi. STOP pour arrêter.")
    )
    assert (await harness.address("sms", ZEINAB)).opted_out_at is None

    bodies = [message.body for message in harness.twilio.messages_to(ZEINAB)]
    assert len(bodies) == len(replies) + 3
    assert_no_french("ses", bodies)
    for message in harness.twilio.messages_to(ZEINAB):  # each reply one SMS, as sent
        assert message.params.get("Body") == message.body


async def test_a_fulfulde_member_on_telegram_reads_only_fulfulde(harness):
    chat = 7101

    async def say(text: str) -> None:
        assert (await harness.tg(chat, text)).status == 200

    await say("WINNDITO")
    for text in ["Aminata Diallo", "Fedde rewɓe Mopti", "Mopti", "Djenné"]:
        await say(text)
    await harness.tg_replies(chat, 5)
    for button in ("vbg", "education", "done", "ff", "f", "15-24", "yes", "confirm"):
        await harness.press(chat, button)
    await harness.settle()
    [member] = await harness.members()
    assert (member.name, member.language, member.region) == ("Aminata Diallo", "ff", "mopti")
    texts = [message.text for message in harness.telegram.messages_to(chat)]
    assert texts[0].startswith("Benkadi: winnditagol e naamne seeɗa.")  # as written: ɗ
    assert texts[-1].startswith("Bismilla e Benkadi, Aminata Diallo!")

    await say("BALLAL")
    await say("DARO")
    await say("fuddo")  # FUƊƊO without the hooked letter
    await harness.settle()
    texts = [message.text for message in harness.telegram.messages_to(chat)]
    assert texts[-3].startswith("Benkadi: GOLLE habrude golle")
    assert texts[-2] == in_language(
        "ff", "Vous ne recevrez plus les messages de Benkadi ici. Envoyez START pour revenir."
    )
    assert "FUƊƊO" in texts[-2]
    assert texts[-1] == in_language(
        "ff", "Vous recevez de nouveau les messages de Benkadi. STOP pour arrêter."
    )
    assert_no_french("ff", texts)
