"""Two polls open at once: an answer goes to the question the member was last asked, of the
poll it belongs to; SONDAGE (what invitations ask for) opens the poll last invited or resumed;
a yes-word right after another invitation is not taken; a Telegram tap on an old message lands
on the question it was sent for."""

from __future__ import annotations

from sqlalchemy import select

from broadcasts.polls import service as poll_service
from broadcasts.polls.parse import parse_poll
from storage.models import Address, PollResponse
from storage.types import utcnow
from tests.polls.conftest import ALL_CHANNELS, add_member, capacity_poll
from tests.polls.test_definitions import SMALL
from tests.polls.test_poll_e2e import sms_say, tg_press, tg_say

CHAKA, FANTA = "+22366554433", 7002


async def answers(h) -> set[tuple[int, str, str]]:
    """(poll id, question, answer) of every stored answer."""
    async with h.database.sessions() as session:
        rows = await session.execute(
            select(PollResponse.poll_id, PollResponse.question, PollResponse.options)
        )
        return {(poll_id, question, ",".join(options or ())) for poll_id, question, options in rows}


async def test_answers_land_on_the_right_poll_and_question(harness):
    h = harness
    org = {"region": "kayes", "organisation": "Réseau Jɛ", "kind": "reseau"}
    await add_member(h.database, "Chaka", channel="sms", address=CHAKA, language="fr", **org)
    await add_member(
        h.database, "Fanta", channel="telegram", address=str(FANTA), language="fr", **org
    )
    now = utcnow()
    await poll_service.save(h.database, capacity_poll(), "test", now)
    first = await poll_service.launch(
        h.database, "capacites-osc", "test", enabled_channels=ALL_CHANNELS, now=now
    )
    h.dispatcher.wake()
    await h.sms_replies(CHAKA, 1)
    await h.tg_replies(FANTA, 1)
    await sms_say(h, CHAKA, "oui", expect=2)
    await sms_say(h, CHAKA, "1")  # capacity poll, question 1: yes
    await tg_press(h, FANTA, f"p:{first['id']}:start", expect=2)
    await tg_press(h, FANTA, f"p:{first['id']}:recepisse:yes")

    await poll_service.save(h.database, parse_poll(SMALL, "essai.toml"), "test", utcnow())
    second = await poll_service.launch(
        h.database, "essai", "test", enabled_channels=ALL_CHANNELS, now=utcnow()
    )
    h.dispatcher.wake()
    [invitation] = (await h.sms_replies(CHAKA, 5))[-1:]
    assert "SONDAGE" in invitation and "OUI" not in invitation
    # Chaka was asked question 2 of the capacity poll: "2" answers it (no), not the new poll.
    [third] = await sms_say(h, CHAKA, "2")
    assert third.startswith("3/12")
    await sms_say(h, CHAKA, "ANNULER")
    resumed, question = await sms_say(h, CHAKA, "SONDAGE", expect=2)
    assert "Capacités des OSC" in resumed and question.startswith("3/12")

    # Fanta opens the new poll from its invitation, then taps an old capacity-poll button.
    await h.tg_replies(FANTA, 5)
    _intro, colour = await tg_press(h, FANTA, f"p:{second['id']}:start", expect=2)
    assert colour.text.startswith("1/2 Votre couleur")
    notice = await tg_press(h, FANTA, f"p:{first['id']}:recepisse:no", expect=0)
    assert notice == "✓ Non"
    [how_many] = await tg_press(h, FANTA, f"p:{second['id']}:couleur:bleu")
    assert how_many.text.startswith("2/2")

    got = await answers(h)
    a, b = first["id"], second["id"]
    assert (a, "recepisse", "yes") in got and (a, "plan-strategique", "no") in got  # Chaka
    assert (a, "recepisse", "no") in got  # Fanta's change: latest wins
    assert (b, "couleur", "bleu") in got
    assert {p for p, _q, _a in got} == {a, b} and len(got) == 4

    # A late tap once the poll is closed is refused, and says so.
    await poll_service.close(h.database, "capacites-osc", "test", utcnow())
    before = len(h.telegram.messages_to(FANTA))
    await h.press(FANTA, f"p:{a}:plan-strategique:yes")
    [closed] = (await h.tg_replies(FANTA, before + 1))[before:]
    assert "fermé" in closed.text


async def test_a_reply_to_a_new_invitation_never_answers_the_pending_question(harness):
    """A yes/no question of poll A is waiting; poll B's invitation arrives; the member replies
    with the invitation's words (SONDAGE), or out of habit with OUI: nothing goes to A."""
    h = harness
    org = {"region": "kayes", "organisation": "Réseau Jɛ", "kind": "reseau"}
    await add_member(h.database, "Chaka", channel="sms", address=CHAKA, language="fr", **org)
    await poll_service.save(h.database, capacity_poll(), "test", utcnow())
    first = await poll_service.launch(
        h.database, "capacites-osc", "test", enabled_channels=ALL_CHANNELS, now=utcnow()
    )
    h.dispatcher.wake()
    await h.sms_replies(CHAKA, 1)
    _intro, question = await sms_say(h, CHAKA, "SONDAGE", expect=2)
    assert question.startswith("1/12")  # a yes/no question of A waits

    await poll_service.save(h.database, parse_poll(SMALL, "essai.toml"), "test", utcnow())
    second = await poll_service.launch(
        h.database, "essai", "test", enabled_channels=ALL_CHANNELS, now=utcnow()
    )
    h.dispatcher.wake()
    [invitation] = (await h.sms_replies(CHAKA, 4))[-1:]
    assert "SONDAGE" in invitation
    # Out of habit, "OUI": A's question is asked again, B is pointed to, nothing is stored.
    why, again = await sms_say(h, CHAKA, "OUI", expect=2)
    assert "SONDAGE" in why and "Capacités des OSC" in why and again.startswith("1/12")
    assert await answers(h) == set()
    # The invitation's words: poll B opens, A's question keeps waiting.
    intro, colour = await sms_say(h, CHAKA, "sondage", expect=2)
    assert "Essai" in intro and colour.startswith("1/2 Votre couleur")
    assert await answers(h) == set()
    await sms_say(h, CHAKA, "2")  # bleu
    await sms_say(h, CHAKA, "3")  # how many: the end of B
    assert await answers(h) == {(second["id"], "couleur", "bleu"), (second["id"], "combien", "")}
    # SONDAGE again: A, at the question it was waiting on; now OUI answers it.
    resumed, question = await sms_say(h, CHAKA, "SONDAGE", expect=2)
    assert "Capacités des OSC" in resumed and question.startswith("1/12")
    assert (await sms_say(h, CHAKA, "OUI"))[0].startswith("2/12")
    assert (first["id"], "recepisse", "yes") in await answers(h)


async def test_a_typed_answer_from_another_address_goes_to_the_waiting_question(harness):
    """State is per address: after going on in Telegram, "1" by SMS must not re-answer the
    question the SMS conversation was last asked."""
    h = harness
    org = {"region": "kayes", "organisation": "Réseau Jɛ", "kind": "reseau"}
    member = await add_member(
        h.database, "Chaka", channel="sms", address=CHAKA, language="fr", **org
    )
    async with h.database.transaction() as connection:
        await connection.execute(
            Address.__table__.insert().values(
                channel="telegram", address=str(FANTA), member_id=member, created_at=utcnow()
            )
        )
    await poll_service.save(h.database, capacity_poll(), "test", utcnow())
    poll = await poll_service.launch(
        h.database, "capacites-osc", "test", enabled_channels=("sms",), now=utcnow()
    )
    h.dispatcher.wake()
    await h.sms_replies(CHAKA, 1)
    await sms_say(h, CHAKA, "SONDAGE", expect=2)
    assert (await sms_say(h, CHAKA, "oui"))[0].startswith("2/12")  # SMS state: question 2
    _back, second = await tg_say(h, FANTA, "SONDAGE", expect=2)
    assert second.text.startswith("2/12")
    await tg_say(h, FANTA, "non")
    assert (await tg_say(h, FANTA, "oui"))[0].text.startswith("4/12")
    back, question = await sms_say(h, CHAKA, "1", expect=2)  # not an answer to question 2
    assert "reprend" in back and question.startswith("4/12")
    a = poll["id"]
    assert (a, "plan-strategique", "no") in await answers(h)
    assert (await sms_say(h, CHAKA, "12"))[0].startswith("5/12")
