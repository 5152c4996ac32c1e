"""Activity reports end to end: members report by SMS and Telegram through the running app (real
SDKs against the fake providers), the photo is fetched from the fake Telegram file server, and the
stored reports are what the dialogue confirmed — nothing half-done is stored."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.vocabulary.i18n import in_language
from bot.vocabulary.sms_text import gsm_friendly
from storage import members as member_store
from storage import provider_media
from storage.models import Conversation, Report
from tests.conftest import BACKENDS, database_url_for
from tests.gateway.test_registration_e2e import converse_sms
from tests.harness import ACCOUNT_SID, AUTH_TOKEN, BENKADI_NUMBER, start_harness, stop_harness
from tests.reports.test_photos import phone_photo

AWA, BINTOU, CHAT = "+22376123456", "+22365432100", 7101
JPEG = phone_photo(64, 48)  # with GPS and a comment, which are not kept


@pytest.fixture(params=BACKENDS)
async def h(request, tmp_path):
    async for url in database_url_for(request.param, tmp_path, migrated=True):
        running, runner = await start_harness(
            url, media_dir=str(tmp_path / "media"), media_interval=0.05
        )
        try:
            yield running
        finally:
            await stop_harness(running, runner)


async def register(h, channel: str, address: str, language: str = "fr", region="kayes") -> int:
    """A member as registration leaves one (registration has its own end-to-end tests)."""
    now = datetime.now(UTC)
    async with h.database.transaction() as connection:
        row = await member_store.address_for(connection, channel, address)
        organisation = await member_store.organisation_id_named(connection, "AMSS")
        member_id = await member_store.create_member(
            connection, name="Awa Traoré", organisation_id=organisation, region=region,
            cercle=None, themes=["vbg"], language=language, consent_at=now, registered_at=now,
            updated_at=now,
        )  # fmt: skip
        await member_store.update_address(connection, row.id, member_id=member_id)
    return member_id


async def reports(h) -> list[Report]:
    async with h.database.sessions() as session:
        return list(await session.scalars(select(Report).order_by(Report.id)))


async def test_guided_report_by_sms_in_bambara(h):
    member_id = await register(h, "sms", AWA, language="bm")
    replies = await converse_sms(
        h, AWA, ["BAARA", "2", "kunu", "1", "Diéma", "25 10 -5 3", "25 10 5 3", "Kalan kɛra"]
    )
    bm = lambda text: gsm_friendly(in_language("bm", text))  # noqa: E731 - as SMS spells it
    assert bm("Quel type d'activité ?") in replies[0] and "1 Lasòmini" in replies[0]
    assert bm("Les nombres ne peuvent pas être négatifs.") in replies[5]
    assert bm("Rappel : n'écrivez jamais le nom d'une survivante.") in replies[6]
    assert bm("Vérifiez votre rapport :") in replies[7] and "Kayes, Diéma" in replies[7]
    assert await reports(h) == []  # not before the member confirms
    [thanks] = await converse_sms(h, AWA, ["1"])
    assert thanks == bm("Merci ! Votre rapport est enregistré. La coordination va le valider.")
    [report] = await reports(h)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    assert (report.member_id, report.channel, report.activity, report.activity_date) == (
        member_id, "sms", "formation", yesterday,
    )  # fmt: skip
    assert (report.region, report.commune, report.description) == ("kayes", "Diéma", "Kalan kɛra")
    assert (report.women, report.men, report.girls, report.boys) == (25, 10, 5, 3)
    assert report.status == "submitted" and report.organisation_id is not None


async def test_one_line_report_then_edit_and_cancel(h):
    await register(h, "sms", BINTOU)
    day = (datetime.now(UTC) - timedelta(days=3)).date()
    line = f"RAPPORT formation {day:%d/%m} Kayes F25 H10 FI5 G3 Formation des leaders"
    [summary] = await converse_sms(h, BINTOU, [line])
    assert "Vérifiez votre rapport" in summary and "(= 43)" in summary
    assert "Rappel : n'écrivez jamais le nom d'une survivante." in summary
    replies = await converse_sms(h, BINTOU, ["2", "5", "30 10 5 3"])
    assert "Que voulez-vous modifier" in replies[0] and "(= 48)" in replies[2]
    await converse_sms(h, BINTOU, ["1"])
    [report] = await reports(h)
    assert (report.activity, report.activity_date, report.region, report.women) == (
        "formation", day, "kayes", 30,
    )  # fmt: skip
    # A second one, cancelled at the summary: nothing more is stored.
    await converse_sms(h, BINTOU, [line])
    [cancelled] = await converse_sms(h, BINTOU, ["3"])
    assert "Rapport annulé" in cancelled
    # A third, left half-way: a draft in the conversation, never a stored report.
    await converse_sms(h, BINTOU, ["RAPPORT", "1"])
    assert len(await reports(h)) == 1
    async with h.database.sessions() as session:
        [draft] = list(await session.scalars(select(Conversation)))
    assert (draft.flow, draft.step, draft.data["activity"]) == ("report", "when", "sensibilisation")


async def test_strangers_are_told_to_register(h):
    [reply] = await converse_sms(h, AWA, ["RAPPORT formation bi Kayes F1 H1 FI1 G1 test"])
    assert "INSCRIPTION" in reply and await reports(h) == []


def photo_update(h, chat: int, file_id: str, caption: str | None = None) -> dict:
    update = h.text_update(chat, "x")
    message = update["message"]
    del message["text"]
    message["photo"] = [
        {"file_id": file_id + "-small", "file_unique_id": "s1", "width": 90, "height": 67},
        {"file_id": file_id, "file_unique_id": "b1", "width": 1280, "height": 960},
    ]
    if caption:
        message["caption"] = caption
    return update


async def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await predicate():
            return result
        await asyncio.sleep(0.05)
    raise TimeoutError


async def test_telegram_report_with_a_photo_fetched_into_the_media_folder(h):
    await register(h, "telegram", str(CHAT), region="bamako")
    h.telegram.add_file("AgACphoto-16j", JPEG, "photos/file_7.jpg")
    await h.tg(CHAT, "RAPPORT")
    [first] = await h.tg_replies(CHAT, 1)
    keys = [b["callback_data"] for row in first.reply_markup["inline_keyboard"] for b in row]
    assert keys[:2] == ["sensibilisation", "formation"] and len(keys) == 7
    for press in ("campagne", "yesterday", "keep"):
        await h.press(CHAT, press)
    await h.tg(CHAT, "Commune IV")
    await h.tg(CHAT, "F12 H8 FI4 G4")
    await h.tg(CHAT, "Marche des 16 jours")
    messages = await h.tg_replies(CHAT, 7)
    photo_question = messages[-1]
    assert "photo" in photo_question.text.lower()
    assert photo_question.reply_markup["inline_keyboard"][0][0]["callback_data"] == "skip"
    response = await h.post_update(photo_update(h, CHAT, "AgACphoto-16j"))
    assert response.status == 200
    summary = (await h.tg_replies(CHAT, 8))[-1]
    assert "Photo : oui" in summary.text and "District de Bamako, Commune IV" in summary.text
    assert await reports(h) == []
    await h.press(CHAT, "confirm")

    async def fetched():
        found = await reports(h)
        return found if found and found[0].media_path else None

    [report] = await wait_for(fetched)
    assert (report.media_kind, report.media_ref) == ("telegram", "AgACphoto-16j")
    kept = await asyncio.to_thread(Path(report.media_path).read_bytes)
    assert kept.startswith(b"\xff\xd8") and b"Exif" not in kept and b"PhoneMaker" not in kept
    media_dir = await asyncio.to_thread(Path(h.settings.media_dir).resolve)
    assert Path(report.media_path).parent == media_dir
    # A member's photo and its folder are Benkadi's user's only.
    modes = [
        (await asyncio.to_thread(os.stat, p)).st_mode & 0o777
        for p in (report.media_path, media_dir)
    ]
    assert modes == [0o600, 0o700]
    assert ("getFile", {"file_id": "AgACphoto-16j"}) in [
        (method, {"file_id": params.get("file_id")}) for method, params in h.telegram.requests
    ]
    assert (report.activity, report.region, report.commune) == ("campagne", "bamako", "Commune IV")
    assert (report.women, report.men, report.girls, report.boys) == (12, 8, 4, 4)


async def post_whatsapp_photo(h, number: str, text: str, content: bytes, kind="image/jpeg"):
    """A member's WhatsApp message with a photo, as Twilio posts it (MM sid, MediaUrl0 on the
    fake Twilio, which holds the photo until it is deleted there)."""
    h.twilio.declare_inbound(number)
    params = h.twilio.inbound_params(number, text, BENKADI_NUMBER, ((content, kind),))
    response = await h.post_form(
        "/webhooks/twilio/sms", params, h.sign("/webhooks/twilio/sms", params)
    )
    assert response.status == 200
    return params


async def test_whatsapp_photo_is_fetched_cleaned_and_deleted_at_twilio(h):
    await register(h, "whatsapp", AWA)
    params = await post_whatsapp_photo(
        h, AWA, "RAPPORT plaidoyer bi Kayes F1 H2 FI3 G4 Plaidoyer mairie", JPEG
    )
    [media_sid] = h.twilio.media_held(params["MessageSid"])
    [summary] = await h.twilio.wait_for_messages(1, to="whatsapp:" + AWA)
    assert "Photo : oui" in summary.body
    await h.sms(AWA, "1", whatsapp=True)
    await h.twilio.wait_for_messages(2, to="whatsapp:" + AWA)

    async def deleted():
        found = await reports(h)
        return found if found and found[0].media_path and h.twilio.media_deleted else None

    [report] = await wait_for(deleted)
    assert (report.media_kind, report.media_ref) == ("twilio", params["MediaUrl0"])
    kept = await asyncio.to_thread(Path(report.media_path).read_bytes)
    assert kept.startswith(b"\xff\xd8") and b"Exif" not in kept and b"PhoneMaker" not in kept
    assert (await asyncio.to_thread(os.stat, report.media_path)).st_mode & 0o777 == 0o600
    assert h.twilio.media_deleted == [media_sid] and h.twilio.media_held() == []
    paths = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in h.twilio.requests]
    assert ("GET", media_sid) in paths and ("DELETE", media_sid + ".json") in paths
    auth = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)}
    async with h.http.get(params["MediaUrl0"], headers=auth) as gone:
        assert gone.status == 404  # Twilio no longer has it
    async with h.database.transaction() as connection:
        assert await provider_media.pending(connection) == []


async def test_reports_made_by_sms_are_what_the_exports_and_totals_say(h):
    """Two reports through the dialogue (guided in Bambara, one line in French), then the
    secretariat's exports: one row per report with the figures typed, totals that add up."""
    import csv
    import io

    from openpyxl import load_workbook

    from storage.tokens import create_token

    await register(h, "sms", AWA, language="bm")
    await register(h, "sms", BINTOU, region="mopti")
    await converse_sms(h, AWA, ["BAARA", "2", "kunu", "1", "Diéma", "25 10 5 3", "Kalan kɛra", "1"])
    day = (datetime.now(UTC) - timedelta(days=3)).date()
    line = f"RAPPORT plaidoyer {day:%d/%m} Mopti F7 H0 FI12 G4 Marche des 16 jours"
    await converse_sms(h, BINTOU, [line, "1"])
    stored = await reports(h)
    assert [(r.activity, r.region, r.women, r.men, r.girls, r.boys) for r in stored] == [
        ("formation", "kayes", 25, 10, 5, 3),
        ("plaidoyer", "mopti", 7, 0, 12, 4),
    ]
    token = await create_token(h.database, "sec", "secretariat", actor="test")
    headers = {"Authorization": f"Bearer {token}"}

    async def export(query: str) -> bytes:
        async with h.http.get(f"{h.url}/api/v1/reports/export?{query}", headers=headers) as r:
            assert r.status == 200
            return await r.read()

    rows = list(csv.DictReader(io.StringIO((await export("format=csv")).decode("utf-8-sig"))))
    assert [
        (row["commune"], row["femmes"], row["hommes"], row["filles"], row["garçons"], row["total"])
        for row in rows
    ] == [("Diéma", "25", "10", "5", "3", "43"), ("", "7", "0", "12", "4", "23")]
    assert (
        rows[1]["description"] == "Marche des 16 jours" and rows[0]["description"] == "Kalan kɛra"
    )
    totals = list(
        csv.reader(io.StringIO((await export("format=csv&kind=summary")).decode("utf-8-sig")))
    )
    assert totals[1:] == [
        ["Kayes", "Formation", f"{stored[0].activity_date:%Y-%m}", "25", "10", "x", "< 5", "43"],
        ["Mopti", "Plaidoyer", f"{day:%Y-%m}", "x", "0", "12", "< 5", "23"],
    ]  # fmt: skip (cells under 5 hidden, and one more so that they cannot be worked out)
    workbook = load_workbook(io.BytesIO(await export("format=xlsx")), read_only=True)
    sheet_rows = list(workbook["rapports"].iter_rows(values_only=True))
    assert [row[9:14] for row in sheet_rows[1:]] == [(25, 10, 5, 3, 43), (7, 0, 12, 4, 23)]
    summary_rows = list(workbook["totaux"].iter_rows(values_only=True))
    assert sum(row[7] for row in summary_rows[1:]) == 66


async def test_oublier_deletes_the_stored_photo_and_the_one_still_at_twilio(h):
    """One WhatsApp photo fetched (a file), one Twilio would not serve yet (still at Twilio):
    OUBLIER removes the file and has Twilio delete the other, and the reports' free text goes
    (it can name the people served); their figures stay."""
    await register(h, "whatsapp", AWA)
    line = "RAPPORT plaidoyer bi Kayes F1 H2 FI3 G4 Plaidoyer mairie"
    first = await post_whatsapp_photo(h, AWA, line, JPEG)
    await h.twilio.wait_for_messages(1, to="whatsapp:" + AWA)
    await h.sms(AWA, "1", whatsapp=True)

    async def stored():
        found = await reports(h)
        return found if found and found[0].media_path and h.twilio.media_deleted else None

    [report] = await wait_for(stored)
    photo = Path(report.media_path)
    h.twilio.fail_next_media(1000, 503)  # Twilio will not serve the second one
    second = await post_whatsapp_photo(h, AWA, line, JPEG)
    await h.twilio.wait_for_messages(3, to="whatsapp:" + AWA)
    await h.sms(AWA, "1", whatsapp=True)

    async def tried():
        found = await reports(h)
        return found if len(found) == 2 and found[1].media_error else None

    [_, waiting] = await wait_for(tried)
    assert waiting.media_path is None and "503" in waiting.media_error
    assert h.twilio.media_held() == h.twilio.media_held(second["MessageSid"]) != []
    await h.sms(AWA, "OUBLIER", whatsapp=True)
    await h.twilio.wait_for_messages(5, to="whatsapp:" + AWA)
    await h.sms(AWA, "1", whatsapp=True)

    async def forgotten():
        return h.twilio.media_held() == [] and not await asyncio.to_thread(photo.exists)

    await wait_for(forgotten)
    assert len(h.twilio.media_deleted) == 2
    kept = await reports(h)
    assert all(r.media_ref is None and r.media_path is None for r in kept)
    assert [r.description for r in kept] == ["", ""] and all(r.text_purged_at for r in kept)
    assert [(r.women, r.men, r.girls, r.boys) for r in kept] == [(1, 2, 3, 4)] * 2
    assert first["MediaUrl0"] != second["MediaUrl0"]


async def test_oublier_in_the_middle_of_a_report_deletes_its_photo_at_twilio_at_once(h):
    """A photo in a report never confirmed: the member erases themselves instead. Twilio's copy
    goes now, not three days on (when a photo no report took goes)."""
    await register(h, "whatsapp", AWA)
    await post_whatsapp_photo(h, AWA, "RAPPORT plaidoyer bi Kayes F1 H2 FI3 G4 Plaidoyer", JPEG)
    await h.twilio.wait_for_messages(1, to="whatsapp:" + AWA)  # "confirm?": never answered
    assert len(h.twilio.media_held()) == 1 and await reports(h) == []
    await h.sms(AWA, "OUBLIER", whatsapp=True)
    await h.twilio.wait_for_messages(2, to="whatsapp:" + AWA)
    await h.sms(AWA, "1", whatsapp=True)

    async def gone() -> bool:
        return h.twilio.media_held() == []

    await wait_for(gone)
    async with h.database.transaction() as connection:
        assert await provider_media.pending(connection) == []


async def test_a_photo_no_report_takes_is_deleted_at_twilio_three_days_later(h):
    """A WhatsApp photo sent with a greeting (no report): Twilio keeps it until Benkadi says;
    it is not fetched, and three days on it is deleted there."""
    from datetime import UTC, datetime, timedelta

    from gateway.channels.twilio_media import TwilioMedia
    from gateway.inbound.media import MediaFetcher

    await register(h, "whatsapp", AWA)
    params = await post_whatsapp_photo(h, AWA, "bonjour", JPEG)
    await h.twilio.wait_for_messages(1, to="whatsapp:" + AWA)
    async with h.database.transaction() as connection:
        [waiting] = await provider_media.pending(connection)
    assert waiting.ref == params["MediaUrl0"]
    assert waiting.next_attempt_at > datetime.now(UTC) + timedelta(days=2)
    assert len(h.twilio.media_held()) == 1 and await reports(h) == []
    media = TwilioMedia(ACCOUNT_SID, AUTH_TOKEN, h.twilio.base_url)
    await media.start()
    later = datetime.now(UTC) + provider_media.UNCLAIMED_HOLD + timedelta(minutes=1)
    fetcher = MediaFetcher(h.database, None, Path(h.settings.media_dir), 1.0, media, lambda: later)
    assert await fetcher.delete_due() == 1
    await media.stop()
    assert h.twilio.media_held() == []
