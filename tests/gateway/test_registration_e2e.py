"""End to end over HTTP: members register and manage their membership by SMS and Telegram.

The app runs for real; Twilio and Telegram are local fake servers that the real SDKs talk to.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from bot.vocabulary.i18n import in_language
from storage.models import Address, InboundMessage, Member, Organisation

AWA = "+22376123456"


async def converse_sms(h, sender: str, lines: list[str]) -> list[str]:
    """Send each line and wait for its reply; returns every reply body."""
    replies: list[str] = []
    for line in lines:
        before = len(h.twilio.messages_to(sender))
        response = await h.sms(sender, line)
        assert response.status == 200, line
        assert response.headers["Content-Type"].startswith("text/xml")
        bodies = await h.sms_replies(sender, before + 1)
        replies += bodies[before:]
    return replies


async def test_member_registers_by_sms_in_french(harness):
    replies = await converse_sms(
        harness,
        AWA,
        [
            "Inscription",
            "Awa Traoré",
            "ONG Kènèya",
            "SIKASSO.",
            "Koutiala",
            "1 6",
            "1",
            "femme",
            "22",
            "oui",
        ],
    )
    assert "nom complet" in replies[0]
    assert "Votre région ?" in replies[2] and "0 Suite" in replies[2]  # 20 regions: paged
    assert "thèmes" in replies[4].lower() or "themes" in replies[4].lower()
    assert "Acceptez-vous" in replies[-2]
    summary = replies[-1]
    assert "Awa Traoré" in summary and "Sikasso" in summary and "Koutiala" in summary
    welcome = (await converse_sms(harness, AWA, ["1"]))[0]
    assert "Bienvenue" in welcome
    [member] = await harness.members()
    assert (member.name, member.region, member.cercle, member.language) == (
        "Awa Traoré",
        "sikasso",
        "Koutiala",
        "fr",
    )
    assert member.themes == ["vbg", "jeunesse"]
    assert (member.sex, member.age_band) == ("f", "15-24")  # "22": her age, read as its band
    assert member.consent_at is not None and member.consent_channel == "sms"
    async with harness.database.sessions() as session:
        organisation = await session.get(Organisation, member.organisation_id)
    assert organisation.name == "ONG Kènèya"
    address = await harness.address("sms", AWA)
    assert address.member_id == member.id
    # Every prompt the dialogue sent fits one SMS.
    for message in harness.twilio.messages_to(AWA):
        if "Vérifiez" not in message.body:
            assert message.params.get("Body") == message.body


async def test_garbled_answer_is_reprompted_with_valid_choices(harness):
    await converse_sms(harness, AWA, ["INSCRIPTION", "Awa", "AMSS"])
    [reprompt] = await converse_sms(harness, AWA, ["Tokyo"])
    assert "1 à 20" in reprompt and "1 District de Bamako" in reprompt
    [next_question] = await converse_sms(harness, AWA, ["kayes"])
    assert "cercle" in next_question.lower()


async def test_telegram_member_registers_in_bambara_and_links_sms_number(harness):
    chat = 7001
    response = await harness.tg(chat, "/start")
    assert response.status == 200
    [first] = await harness.tg_replies(chat, 1)
    assert [b["callback_data"] for row in first.reply_markup["inline_keyboard"] for b in row] == [
        "fr",
        "bm",
        "ff",
        "ses",
        "en",
    ]
    await harness.press(chat, "bm")
    replies = await harness.tg_replies(chat, 2)
    name_prompt = in_language("bm", "Quel est votre nom complet ?")
    assert name_prompt != "Quel est votre nom complet ?"  # the catalog is translated
    assert name_prompt in replies[1].text
    for text in ["Fanta Coulibaly", "Musow ka tɔn", "Ségou", "Niono"]:
        await harness.tg(chat, text)
    themes_message = (await harness.tg_replies(chat, 6))[-1]
    buttons = [
        b["callback_data"] for row in themes_message.reply_markup["inline_keyboard"] for b in row
    ]
    assert buttons[-1] == "done" and "vbg" in buttons
    toggled = await harness.press(chat, "vbg")
    answer = json.loads(toggled.body)
    assert answer["method"] == "answerCallbackQuery" and answer["text"].startswith("✓")
    await harness.press(chat, "education")
    await harness.press(chat, "done")
    await harness.press(chat, "bm")  # language question
    await harness.press(chat, "f")  # sex
    await harness.press(chat, "nd")  # age: prefer not to say
    await harness.press(chat, "yes")  # consent
    await harness.press(chat, "confirm")
    await harness.settle()
    [member] = await harness.members()
    assert (
        member.language == "bm"
        and member.themes == ["vbg", "education"]
        and member.region == "segou"
        and (member.sex, member.age_band) == ("f", None)
    )
    welcome = harness.telegram.messages_to(chat)[-1].text
    assert "Fanta Coulibaly" in welcome and "Bienvenue" not in welcome

    # Link an SMS number: a code goes by SMS, typed back in Telegram.
    await harness.tg(chat, "LIER")
    await harness.tg(chat, "76 12 34 56")
    [code_sms] = await harness.sms_replies(AWA, 1)
    code = re.search(r"\b(\d{6})\b", code_sms).group(1)
    await harness.tg(chat, "000000" if code != "000000" else "111111")  # a wrong try first
    await harness.tg(chat, code)
    await harness.settle()
    sms_address = await harness.address("sms", AWA)
    assert sms_address.member_id == member.id
    assert len(await harness.members()) == 1
    # The member now gets answers on SMS, in Bambara, as the same member.
    replies = await converse_sms(harness, AWA, ["PROFIL"])
    assert "Fanta Coulibaly" in replies[0]


async def test_stop_then_start(harness):
    await register_quickly(harness, AWA)
    [stopped] = await converse_sms(harness, AWA, ["Arrêt!"])
    assert "START" in stopped
    assert (await harness.address("sms", AWA)).opted_out_at is not None
    [back] = await converse_sms(harness, AWA, ["reprendre"])
    assert "STOP" in back
    assert (await harness.address("sms", AWA)).opted_out_at is None


async def test_oublier_erases_personal_data(harness):
    await register_quickly(harness, AWA)
    [question] = await converse_sms(harness, AWA, ["OUBLIER"])
    assert "1 Oui" in question
    [goodbye] = await converse_sms(harness, AWA, ["1"])
    assert "effacées" in goodbye
    await harness.settle()
    [member] = await harness.members()
    assert member.erased_at is not None
    assert (member.name, member.organisation_id, member.cercle, member.themes) == (
        None,
        None,
        None,
        [],
    )
    assert (member.sex, member.age_band, member.consent_channel) == (None, None, None)
    assert await harness.address("sms", AWA) is None
    async with harness.database.sessions() as session:
        bodies = list(await session.scalars(select(InboundMessage.body)))
    assert bodies and all(body is None for body in bodies)
    assert all(row.recipient == "" for row in await harness.outbox())


async def test_replayed_webhook_is_handled_once(harness):
    sid = "SM" + "a" * 32
    first = await harness.sms(AWA, "AIDE", sid=sid)
    second = await harness.sms(AWA, "AIDE", sid=sid)
    assert first.status == second.status == 200
    await harness.settle()
    assert len(harness.twilio.messages_to(AWA)) == 1
    update = harness.text_update(8001, "AIDE", update_id=555)
    assert (await harness.post_update(update)).status == 200
    assert (await harness.post_update(update)).status == 200
    await harness.settle()
    assert len(harness.telegram.messages_to(8001)) == 1


async def test_bad_signatures_store_nothing(harness):
    params = harness.sms_params(AWA, "INSCRIPTION", "SM" + "b" * 32)
    forged = harness.sign("/webhooks/twilio/sms", params, token="0" * 32)
    assert (await harness.post_form("/webhooks/twilio/sms", params, forged)).status == 403
    assert (await harness.post_form("/webhooks/twilio/sms", params, None)).status == 403
    tampered = dict(params, Body="STOP")
    good_for_original = harness.sign("/webhooks/twilio/sms", params)
    assert (
        await harness.post_form("/webhooks/twilio/sms", tampered, good_for_original)
    ).status == 403
    assert (
        await harness.post_update(harness.text_update(9001, "/start"), secret="wrong")
    ).status == 403
    async with harness.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 0
        assert await session.scalar(select(func.count()).select_from(Address)) == 0
    assert harness.telegram.sent == [] and harness.twilio.sent == []


async def test_malformed_requests_are_4xx_and_unknown_updates_ignored(harness):
    params = {"AccountSid": "AC" + "1" * 32, "Body": "hello"}  # no MessageSid, no From
    response = await harness.post_form(
        "/webhooks/twilio/sms", params, harness.sign("/webhooks/twilio/sms", params)
    )
    assert response.status == 400
    async with harness.http.post(
        harness.url + "/webhooks/telegram",
        data=b"{not json",
        headers={"X-Telegram-Bot-Api-Secret-Token": harness.settings.telegram_webhook_secret},
    ) as raw:
        assert raw.status == 400
    assert (await harness.post_update({"no_update_id": True})).status == 400
    sticker = harness.text_update(9002, "x")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {
        "file_id": "f",
        "file_unique_id": "u",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    assert (await harness.post_update(sticker)).status == 200
    edited = harness.text_update(9002, "edit")
    edited["edited_message"] = edited.pop("message")
    edited["edited_message"]["edit_date"] = 1
    assert (await harness.post_update(edited)).status == 200
    async with harness.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 0


async def test_text_is_stored_exactly(harness):
    texts = ["ɛ ɔ ɲ ŋ Ɛ Ɔ — Bamanankan", "مرحبا بكم في بنكادي", "🙂👩🏾‍🌾 emoji", "x" * 2000]
    for index, text in enumerate(texts):
        assert (await harness.sms(f"+2237612345{index}", text)).status == 200
    async with harness.database.sessions() as session:
        stored = list(
            await session.scalars(select(InboundMessage.body).order_by(InboundMessage.id))
        )
    assert stored == texts


async def test_database_failure_is_5xx_so_twilio_retries(harness):
    async with harness.database.engine.begin() as connection:
        await connection.exec_driver_sql("DROP TABLE IF EXISTS inbound_messages")
    response = await harness.sms(AWA, "AIDE")
    assert response.status >= 500


async def test_whatsapp_from_a_registered_number_is_the_same_member(harness):
    await register_quickly(harness, AWA)
    response = await harness.sms(AWA, "PROFIL", whatsapp=True)
    assert response.status == 200
    [summary, _question] = (await harness.twilio.wait_for_messages(2, to="whatsapp:" + AWA))[:2]
    assert "Awa" in summary.body
    whatsapp = await harness.address("whatsapp", AWA)
    assert whatsapp.member_id == (await harness.members())[0].id


async def register_quickly(h, sender: str) -> None:
    await converse_sms(
        h, sender, ["INSCRIPTION", "Awa", "AMSS", "2", "0", "1", "1", "1", "2", "1", "1"]
    )
    members = await h.members()
    assert any(m.name == "Awa" for m in members)
    assert isinstance(members[0], Member)


async def test_profil_changes_a_field_and_the_themes(harness):
    """PROFIL: pick a field by number, answer it (mistakes re-asked), the change is stored."""
    await register_quickly(harness, AWA)

    async def say(line: str, replies: int = 1) -> list[str]:
        before = len(harness.twilio.messages_to(AWA))
        assert (await harness.sms(AWA, line)).status == 200
        return (await harness.sms_replies(AWA, before + replies))[before:]

    shown, pick = await say("PROFIL", 2)
    assert "Nom : Awa" in shown and "Région : Kayes" in shown and "3 Région" in pick
    [region_question] = await say("3")
    assert "1 District de Bamako" in region_question
    [again] = await say("Tokyo")
    assert "1 à 20" in again
    [saved] = await say("mopti")
    assert "Région : Mopti" in saved
    await say("PROFIL", 2)
    await say("5")  # Thèmes
    [saved] = await say("1 3")
    assert saved.startswith("C'est enregistré.")
    [member] = await harness.members()
    assert member.region == "mopti" and len(member.themes) == 2
    await say("PROFIL", 2)
    await say("8")  # Âge
    [saved] = await say("36+")
    assert "Age : 36+ ans" in saved and "Sexe : Femme" in saved  # GSM spelling: Â → A
    [member] = await harness.members()
    assert member.age_band == "36+"
    await say("PROFIL", 2)
    assert await say("9") == ["Rien n'a été modifié."]


async def test_start_bm_then_bila_stays_in_bambara_after_the_cancel(harness):
    chat = 7015
    await harness.tg(chat, "/start bm")
    await harness.tg_replies(chat, 1)
    await harness.tg(chat, "BILA")
    [_, cancelled] = await harness.tg_replies(chat, 2)
    assert cancelled.text.startswith(in_language("bm", "C'est annulé."))
    await harness.tg(chat, "mun?")  # anything, later: still Bambara
    [*_, later] = await harness.tg_replies(chat, 3)
    help_bm = in_language(
        "bm",
        "Benkadi relie les OSC du Mali. INSCRIPTION pour vous inscrire, "
        "LANGUE pour changer de langue, MES DONNÉES pour voir ce qui est gardé, "
        "AIDE pour l'aide.",
    )
    assert later.text == help_bm


async def test_join_by_sms_registers_in_english(harness):
    [first] = await converse_sms(harness, AWA, ["JOIN"])
    assert "What is your full name?" in first
    [reprompt] = await converse_sms(harness, AWA, ["x"])
    assert reprompt.startswith("Type your name")


async def test_a_telegram_multi_select_tap_ticks_the_button_in_place(harness):
    chat = 7016
    await harness.tg(chat, "/start fr")
    for text in ["Awa Traoré", "AMSS", "Kayes", "Kita"]:
        await harness.tg(chat, text)
    themes = (await harness.tg_replies(chat, 5))[-1]
    labels = lambda: [b["text"] for row in themes.reply_markup["inline_keyboard"] for b in row]  # noqa: E731
    assert not any(label.startswith("✓") for label in labels())
    toggled = json.loads((await harness.press(chat, "vbg", themes.message_id)).body)
    assert toggled["text"].startswith("✓ ")  # the toast
    await harness.settle()
    assert [label for label in labels() if label.startswith("✓")] == [toggled["text"]]
    untoggled = json.loads((await harness.press(chat, "vbg", themes.message_id)).body)
    assert untoggled["text"].startswith("✗ ")
    await harness.settle()
    assert not any(label.startswith("✓") for label in labels())
    assert len(harness.telegram.messages_to(chat)) == 5  # edited in place, nothing new sent
