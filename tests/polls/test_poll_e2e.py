"""End to end over HTTP: the capacity poll answered by SMS in Bambara and in Telegram in
French, with mistakes and a pause; results and exports match the answers exactly; the
reminder goes only to those who did not finish; a closed poll says so."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import openpyxl
from sqlalchemy import select

from bot.vocabulary.i18n import in_language
from bot.vocabulary.sms_text import sms_size
from bot.vocabulary.text import fold
from broadcasts.polls import export, results
from broadcasts.polls import service as poll_service
from gateway.sending.scheduler import Scheduler
from storage.models import OutboxMessage
from storage.tabular import write_tables
from storage.types import utcnow
from tests.polls.conftest import ALL_CHANNELS, add_member, capacity_poll

AWA, CHAKA, DADO = "+22376123456", "+22366554433", "+22391020304"
BINTOU = 7001
SLUG = "capacites-osc"


async def sms_say(h, sender: str, text: str, expect: int = 1) -> list[str]:
    before = len(h.twilio.messages_to(sender))
    response = await h.sms(sender, text)
    assert response.status == 200, text
    return (await h.sms_replies(sender, before + expect))[before:]


async def tg_say(h, chat: int, text: str, expect: int = 1) -> list:
    before = len(h.telegram.messages_to(chat))
    assert (await h.tg(chat, text)).status == 200
    return (await h.tg_replies(chat, before + expect))[before:]


async def tg_press(h, chat: int, data: str, expect: int = 1):
    before = len(h.telegram.messages_to(chat))
    response = await h.press(chat, data)
    assert response.status == 200, data
    if expect == 0:
        await h.settle()
        assert len(h.telegram.messages_to(chat)) == before
        return json.loads(response.body).get("text")
    return (await h.tg_replies(chat, before + expect))[before:]


def buttons(message) -> list[str]:
    return [b["callback_data"] for row in message.reply_markup["inline_keyboard"] for b in row]


async def launch(h) -> int:
    await poll_service.save(h.database, capacity_poll(), "test", utcnow())
    launched = await poll_service.launch(
        h.database, SLUG, "test", enabled_channels=ALL_CHANNELS, now=utcnow()
    )
    assert launched["invited"] == 4
    h.dispatcher.wake()
    return launched["id"]


async def members(h) -> dict[str, int]:
    db = h.database
    common = {"region": "sikasso", "organisation": "Musow ka Jɛ", "kind": "association"}
    return {
        "awa": await add_member(db, "Awa", channel="sms", address=AWA, language="bm", **common),
        "chaka": await add_member(db, "Chaka", channel="sms", address=CHAKA, language="fr", **common),
        "dado": await add_member(db, "Dado", channel="sms", address=DADO, language="fr", **common),
        "bintou": await add_member(
            db, "Bintou", channel="telegram", address=str(BINTOU), language="fr",
            region="kayes", organisation="ONG Kènèya", kind="ong_nationale",
        ),
    }  # fmt: skip


async def awa_answers_by_sms_in_bambara(h) -> None:
    [invitation] = await h.sms_replies(AWA, 1)
    assert "SONDAGE" in invitation and "Benkadi" in invitation
    intro, first = await sms_say(h, AWA, "awɔ", expect=2)
    assert "12" in intro and first.startswith("1/12 ") and "\n1 " in first
    [again] = await sms_say(h, AWA, "5")  # out of range: the valid range, in Bambara
    expected = in_language("bm", "Répondez par un numéro de 1 à {count}.").format(count=2)
    assert expected != "Répondez par un numéro de 1 à 2." and fold(expected) in fold(again)
    assert (await sms_say(h, AWA, "1"))[0].startswith("2/12")
    assert (await sms_say(h, AWA, "ayi"))[0].startswith("3/12")
    assert (await sms_say(h, AWA, "1."))[0].startswith("4/12")
    assert (await sms_say(h, AWA, "12 mɔgɔ"))[0].startswith("5/12")
    [paused] = await sms_say(h, AWA, "BILA")  # a pause (cancel), then SONDAGE resumes
    assert "5/12" not in paused
    _resumed, question = await sms_say(h, AWA, "SONDAGE", expect=2)
    assert question.startswith("5/12")
    [again] = await sms_say(h, AWA, "caman")  # not a number: the range again
    assert "0" in again and "10000" in again
    assert (await sms_say(h, AWA, "300"))[0].startswith("6/12")
    assert (await sms_say(h, AWA, "3"))[0].startswith("7/12")
    assert (await sms_say(h, AWA, "fila"))[0].startswith("8/12")  # "two" in Bambara
    assert (await sms_say(h, AWA, "1"))[0].startswith("9/12")  # yes: the services are asked
    assert (await sms_say(h, AWA, "1,3"))[0].startswith("10/12")
    assert (await sms_say(h, AWA, "1 3"))[0].startswith("11/12")
    assert (await sms_say(h, AWA, "PASSER"))[0].startswith("12/12")
    [thanks] = await sms_say(h, AWA, "Baara ka gɛlɛn")
    assert fold(in_language("bm", "Merci ! Vos réponses au sondage sont enregistrées.")) == fold(
        thanks
    )
    for message in h.twilio.messages_to(AWA):  # every question within one SMS (UCS-2: 70)
        assert sms_size(message.body).segments == 1 or "/12" not in message.body


async def bintou_answers_in_telegram_in_french(h, poll_id: int) -> None:
    [invitation] = await h.tg_replies(BINTOU, 1)
    assert buttons(invitation) == [f"p:{poll_id}:start"]
    p = f"p:{poll_id}:"
    intro, first = await tg_press(h, BINTOU, p + "start", expect=2)
    assert "Capacités des OSC" in intro.text
    assert buttons(first) == [p + "recepisse:yes", p + "recepisse:no"]
    await tg_press(h, BINTOU, p + "recepisse:yes")
    [third] = await tg_say(h, BINTOU, "non")
    assert third.text.startswith("3/12")
    await tg_press(h, BINTOU, p + "audit:no")
    [again] = await tg_say(h, BINTOU, "beaucoup")
    assert "de 0 à 1000" in again.text
    await tg_say(h, BINTOU, "3")
    await tg_say(h, BINTOU, "10")
    await tg_press(h, BINTOU, p + "femmes-direction:minorite")
    [paused] = await tg_say(h, BINTOU, "ANNULER")  # a pause, then SONDAGE later
    assert "annulé" in paused.text and "7/12" not in paused.text
    resumed, seventh = await tg_say(h, BINTOU, "SONDAGE", expect=2)
    assert "Capacités des OSC" in resumed.text and seventh.text.startswith("7/12")
    await tg_press(h, BINTOU, p + "plaidoyer:aucune")
    [skipped_to] = await tg_press(h, BINTOU, p + "vbg-orientation:no")
    assert skipped_to.text.startswith("10/12")  # "to which services" is not asked after no
    assert (await tg_press(h, BINTOU, p + "financement:cotisations", expect=0)).startswith("✓")
    await tg_press(h, BINTOU, p + "financement:etat", expect=0)
    assert (await tg_press(h, BINTOU, p + "financement:etat", expect=0)).startswith("✗")
    await tg_press(h, BINTOU, p + "financement:partenaires", expect=0)
    [eleventh] = await tg_press(h, BINTOU, p + "financement:done")
    assert p + "formation:skip" in buttons(eleventh)
    await tg_press(h, BINTOU, p + "formation:skip")
    [thanks] = await tg_say(h, BINTOU, "Merci")
    assert "Merci !" in thanks.text
    # A late tap on the first question's old message changes that answer (latest wins).
    assert await tg_press(h, BINTOU, p + "recepisse:no", expect=0) == "✓ Non"
    # SONDAGE after finishing goes through again; typed answers are taken (the session is
    # still marked finished), then a pause.
    again, first = await tg_say(h, BINTOU, "SONDAGE", expect=2)
    assert "remplacent" in again.text and first.text.startswith("1/12")
    assert (await tg_say(h, BINTOU, "non"))[0].text.startswith("2/12")
    await tg_say(h, BINTOU, "ANNULER")


def by_key(result: dict) -> dict:
    return {q["key"]: q for q in result["questions"]}


def counts(question: dict) -> dict:
    return {o["key"]: o["count"] for o in question["options"] if o["count"]}


async def test_capacity_poll_end_to_end(harness):
    h = harness
    ids = await members(h)
    poll_id = await launch(h)
    await awa_answers_by_sms_in_bambara(h)
    await bintou_answers_in_telegram_in_french(h, poll_id)
    await h.sms_replies(CHAKA, 1)
    await sms_say(h, CHAKA, "oui", expect=2)
    await sms_say(h, CHAKA, "1")  # and stops there

    result = await results.compute(h.database, SLUG)
    assert result["rates"] == {
        "invited": 4, "started": 3, "finished": 2, "response_rate": 75.0, "completion_rate": 50.0,
    }  # fmt: skip
    q = by_key(result)
    assert counts(q["recepisse"]) == {"yes": 2, "no": 1} and q["recepisse"]["answered"] == 3
    assert q["recepisse"]["options"][0]["percent"] == 66.7
    # Every breakdown group here counts fewer than 5 people: shown as "< 5", nothing more.
    hidden = {"yes": "< 5", "no": "< 5"}
    assert counts(q["recepisse"]["by"]["channel"]["telegram"]) == hidden
    assert counts(q["recepisse"]["by"]["language"]["bm"]) == hidden
    assert q["recepisse"]["by"]["region"]["sikasso"]["answered"] == "< 5"
    assert set(q["recepisse"]["by"]["organisation_kind"]) == {"association", "ong_nationale"}
    assert all(o["percent"] is None for o in q["recepisse"]["by"]["region"]["sikasso"]["options"])
    assert counts(q["plan-strategique"]) == {"no": 2}
    assert counts(q["vbg-services"]) == {"sante": 1, "psychosocial": 1}
    assert counts(q["financement"]) == {"cotisations": 2, "partenaires": 2}
    assert q["financement"]["options"][0]["percent"] == 100.0
    assert counts(q["femmes-direction"]) == {"moitie": 1, "minorite": 1}
    assert q["salaries"]["number"]["mean"] == 7.5 and q["benevoles"]["number"]["max"] == 300
    assert q["formation"]["skipped"] == 2 and q["commentaire"]["answered"] == 2
    scores = {o["organisation"]: o["scores"] for o in result["scores"]["organisations"]}
    # Awa 4/5 and Chaka 1/1 organisational; Bintou 1/5. Technical: Awa 3/5, Bintou 0/1.
    assert scores["Musow ka Jɛ"]["organisational"] == {"percent": 90.0, "respondents": 2}
    assert scores["ONG Kènèya"]["organisational"]["percent"] == 20.0
    assert scores["Musow ka Jɛ"]["technical"]["percent"] == 60.0
    assert scores["ONG Kènèya"]["technical"]["percent"] == 0.0
    assert scores["ONG Kènèya"]["operational"]["percent"] == 33.3

    poll = capacity_poll()
    long_csv = await _csv(h, poll_id, poll, "long")
    wide_csv = await _csv(h, poll_id, poll, "wide")
    assert len(long_csv) == 1 + 12 + 11 + 1  # Awa 12 (one skipped), Bintou 11, Chaka 1
    rows = {(r[0], r[6]): dict(zip(long_csv[0], r, strict=True)) for r in long_csv[1:]}
    awa, bintou = str(ids["awa"]), str(ids["bintou"])
    assert rows[(awa, "vbg-services")]["answer"] == "Santé; Psychosocial"
    assert rows[(awa, "vbg-services")]["score"] == "2.0"
    assert rows[(awa, "salaries")]["answer"] == "12"
    assert rows[(awa, "commentaire")]["answer"] == "Baara ka gɛlɛn"
    assert rows[(bintou, "recepisse")]["answer"] == "Non"
    assert rows[(bintou, "recepisse")]["channel"] == "telegram"
    assert rows[(awa, "formation")]["answer"] == ""  # skipped
    assert rows[(awa, "recepisse")]["organisation_kind"] == "Association"  # the label
    header = wide_csv[0]
    wide = {r[0]: dict(zip(header, r, strict=True)) for r in wide_csv[1:]}
    assert set(wide) == {awa, bintou, str(ids["chaka"])}
    assert wide[bintou]["financement"] == "Cotisations; Partenaires techniques et financiers"
    assert wide[bintou]["vbg-services"] == "" and wide[awa]["benevoles"] == "300"
    assert wide[awa]["finished_at"] and not wide[str(ids["chaka"])]["finished_at"]

    for layout, expected in (("long", long_csv), ("wide", wide_csv)):
        book = await _xlsx(h, poll_id, poll, layout, result)
        sheet = book.worksheets[0]
        cells = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
        # The same rows as the CSV (numbers as numbers, times without the zone).
        assert len(cells) == len(expected)
        for got, want in zip(cells, expected, strict=True):
            got = got + [""] * (len(want) - len(got))  # empty cells at a row's end are not kept
            assert [(g, w) for g, w in zip(got, want, strict=True) if not _same(g, w)] == []
        assert [s.title for s in book.worksheets][1:] == [
            "counts", "scores", "breakdowns", "small_cells",
        ]  # fmt: skip
        assert "< 5" in book["small_cells"]["A2"].value
        assert {row[4] for row in book["breakdowns"].iter_rows(min_row=2, values_only=True)} == {
            "< 5"
        }

    # Reminders: 3 days after launch, once, only to those who did not finish.
    later = utcnow() + timedelta(days=4)
    scheduler = Scheduler(h.database, ALL_CHANNELS, lambda: None, clock=lambda: later)
    made = await scheduler.tick()
    assert len(made) == 1
    reminded = await _recipients(h, made[0])
    assert reminded == sorted([ids["chaka"], ids["dado"]])
    assert await scheduler.tick() == []  # idempotent: run twice, sent once

    # Closed: an answer is refused with a word saying so.
    await poll_service.close(h.database, SLUG, "test", utcnow())
    [closed] = await sms_say(h, CHAKA, "1")
    assert "fermé" in closed
    [closed] = await sms_say(h, DADO, "oui")  # invited, never started: told it closed too
    assert "fermé" in closed


async def _recipients(h, broadcast_id: int) -> list[int]:
    async with h.database.sessions() as session:
        return sorted(
            await session.scalars(
                select(OutboxMessage.member_id).where(OutboxMessage.broadcast_id == broadcast_id)
            )
        )


async def _csv(h, poll_id, poll, layout) -> list[list[str]]:
    chunks: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        chunks.append(chunk)

    table = export.answer_table(h.database, poll_id, poll, layout)
    await write_tables("csv", [table], sink)
    text = b"".join(chunks).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


async def _xlsx(h, poll_id, poll, layout, result):
    chunks: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        chunks.append(chunk)

    tables = [
        export.answer_table(h.database, poll_id, poll, layout),
        *export.summary_tables(result),
    ]
    await write_tables("xlsx", tables, sink)
    return openpyxl.load_workbook(io.BytesIO(b"".join(chunks)), read_only=True)


def _same(xlsx: str, csv_text: str) -> bool:
    """One cell, as openpyxl reads it and as the CSV wrote it."""
    if xlsx == csv_text:
        return True
    if xlsx in ("True", "False"):
        return csv_text == ("1" if xlsx == "True" else "0")
    try:
        return float(xlsx) == float(csv_text)
    except ValueError:
        return xlsx[:19] == csv_text[:19]  # a time: the CSV keeps whole seconds
