"""No SMS pumping: LIER sends link codes only to the configured countries, to a number that is
not another member's, within limits per Telegram user, per number and per hour; replies to one
SMS sender are capped per hour. Each refusal is told in the member's language, and counted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.vocabulary.i18n import in_language
from storage import rate_counts
from storage.types import utcnow
from tests.factories import add_member
from tests.harness import start_harness, stop_harness

AWA = "+22376123456"


@pytest.fixture
async def limited(tmp_path):
    running, runner = await start_harness(
        f"sqlite:///{tmp_path / 'benkadi.db'}",
        link_codes_per_user=2,
        link_codes_per_number=2,
        link_codes_per_hour=3,
        sms_replies_per_sender=3,
    )
    yield running
    await stop_harness(running, runner)


async def ask_code(h, chat: int, number: str) -> str:
    """(ANNULER what is under way,) LIER, then the number: the bot's answer to the number."""
    before = len(h.telegram.messages_to(chat))
    if before:
        await h.tg(chat, "ANNULER")
        await h.tg_replies(chat, before + 1)
        before += 1
    await h.tg(chat, "LIER")
    await h.tg(chat, number)
    replies = await h.tg_replies(chat, before + 2)
    return replies[-1].text


async def refusals(h) -> dict[str, int]:
    return await rate_counts.refusals(h.database, utcnow() - timedelta(hours=1))


async def test_link_codes_go_only_to_the_configured_countries(limited):
    h = limited
    async with h.database.transaction() as connection:
        await add_member(
            connection, name="Fanta", region="segou", now=utcnow(), language="bm",
            addresses=[("telegram", "8001")],
        )  # fmt: skip
    for number in ("+86 138 0013 8000", "+33 6 12 34 56 78"):
        answer = await ask_code(h, 8001, number)
        expected = in_language(
            "bm", "Benkadi n'envoie de code qu'aux numéros de ces pays : {countries}."
        )
        assert answer == expected.format(countries="+223")
        assert expected != "Benkadi n'envoie de code qu'aux numéros de ces pays : {countries}."
    await h.settle()
    assert h.twilio.sent == []  # nothing sent anywhere
    assert await refusals(h) == {"link.country": 2}


async def test_link_codes_are_limited_per_user_per_number_and_per_hour(limited):
    h = limited
    first, second = "+22376000001", "+22376000002"
    assert "code" in (await ask_code(h, 8001, first)).lower()
    assert "code" in (await ask_code(h, 8001, first)).lower()
    too_many = await ask_code(h, 8001, "+22376000003")  # a third code for this user
    assert too_many == "Trop de codes demandés. Réessayez dans une heure."
    assert await ask_code(h, 8002, first) == too_many  # a third code to that number
    assert "code" in (await ask_code(h, 8002, second)).lower()  # the hour's third and last
    closed = await ask_code(h, 8003, "+22376000004")
    assert closed == "L'envoi de SMS n'est pas disponible pour le moment. Réessayez plus tard."
    await h.settle()
    assert len(h.twilio.messages_to(first)) == 2 and len(h.twilio.messages_to(second)) == 1
    assert h.twilio.messages_to("+22376000003") == h.twilio.messages_to("+22376000004") == []
    assert await refusals(h) == {"link.number": 1, "link.overall": 1, "link.user": 1}
    # No count names a number or a chat.
    async with h.database.sessions() as session:
        keys = [row.key for row in await session.execute(rate_counts.rates.select())]
    assert not any(n in key for key in keys for n in (first, second, "8001", "8002"))


async def test_lier_says_the_number_is_another_members_before_sending_anything(limited):
    h = limited
    async with h.database.transaction() as connection:
        now = utcnow()
        await add_member(connection, name="Awa", region="kayes", now=now, addresses=[("sms", AWA)])
        await add_member(
            connection, name="Fanta", region="segou", now=now, language="bm",
            addresses=[("telegram", "8001")],
        )  # fmt: skip
    answer = await ask_code(h, 8001, "76 12 34 56")
    assert answer == in_language(
        "bm", "Ce numéro appartient à un autre profil. Contactez le secrétariat pour les réunir."
    )
    await h.settle()
    assert h.twilio.messages_to(AWA) == []  # no code went to Awa's phone
    assert await refusals(h) == {"link.taken": 1}
    # The dialogue is over: a number typed next is not taken for a code.
    before = len(h.telegram.messages_to(8001))
    await h.tg(8001, "123456")
    [reply] = (await h.tg_replies(8001, before + 1))[before:]
    assert "Code incorrect" not in reply.text


async def test_replies_to_one_sms_sender_are_capped_per_hour(limited):
    h = limited
    for n in range(6):
        response = await h.sms("+22365000000", "AIDE", sid=f"SM{n:032d}")
        assert response.status == 200
    await h.settle()
    assert len(h.twilio.messages_to("+22365000000")) == 3
    assert await refusals(h) == {"reply.sender": 3}
    await h.sms("+22365000001", "AIDE", sid="SM" + "9" * 32)  # another sender: answered
    await h.settle()
    assert len(h.twilio.messages_to("+22365000001")) == 1
