"""WhatsApp/MMS photos against the fake Twilio: what fails is tried again or recorded, the report
is never lost, and whatever Twilio still holds is deleted there in the end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from gateway.channels.twilio_media import TwilioMedia, media_sids
from gateway.fakes import FakeTwilioAPI
from gateway.inbound.media import MediaFetcher
from storage import provider_media
from storage.models import ProviderMedia, Report
from tests.harness import ACCOUNT_SID, AUTH_TOKEN, BENKADI_NUMBER
from tests.reports.test_api_reports import seed
from tests.reports.test_photos import phone_photo

AWA = "+22376123456"


async def _report_with_media(database, twilio: FakeTwilioAPI, content: bytes, kind: str) -> str:
    params = twilio.inbound_params(AWA, "photo", BENKADI_NUMBER, ((content, kind),))
    async with database.transaction() as connection:
        await connection.execute(
            update(Report.__table__)
            .where(Report.__table__.c.id == 1)
            .values(
                media_kind="twilio", media_ref=params["MediaUrl0"],
                media_next_attempt_at=datetime.now(UTC),
            )
        )  # fmt: skip
    return params["MediaUrl0"]


async def _report(database) -> Report:
    async with database.sessions() as session:
        return await session.get(Report, 1)


async def _due_now(database) -> None:
    now = datetime.now(UTC)
    async with database.transaction() as connection:
        await connection.execute(update(Report.__table__).values(media_next_attempt_at=now))
        await connection.execute(update(ProviderMedia.__table__).values(next_attempt_at=now))


@contextlib.asynccontextmanager
async def fetching(
    database, tmp_path, **clock
) -> AsyncIterator[tuple[FakeTwilioAPI, MediaFetcher]]:
    """A fake Twilio and the fetcher `benkadi serve` runs, its Twilio client closed however the
    test ends."""
    async with FakeTwilioAPI(ACCOUNT_SID, AUTH_TOKEN) as twilio:
        media = TwilioMedia(ACCOUNT_SID, AUTH_TOKEN, twilio.base_url)
        await media.start()
        try:
            yield twilio, MediaFetcher(database, None, tmp_path / "media", 0.05, media, **clock)
        finally:
            await media.stop()


async def _pending(database) -> list:
    async with database.transaction() as connection:
        return await provider_media.pending(connection)


async def test_twilio_down_is_retried_then_the_photo_is_kept_and_deleted(sqlite_database, tmp_path):
    await seed(sqlite_database)
    async with fetching(sqlite_database, tmp_path) as (twilio, fetcher):
        url = await _report_with_media(sqlite_database, twilio, phone_photo(40, 30), "image/jpeg")
        twilio.fail_next_media(1, 503)
        assert await fetcher.fetch_due() == 0
        report = await _report(sqlite_database)
        assert report.media_path is None and report.media_attempts == 1
        assert "503" in report.media_error and report.media_next_attempt_at > datetime.now(UTC)
        assert await fetcher.fetch_due() == 0  # not due again yet
        await _due_now(sqlite_database)
        assert await fetcher.fetch_due() == 1
        report = await _report(sqlite_database)
        kept = await asyncio.to_thread(Path(report.media_path).read_bytes)
        assert kept.startswith(b"\xff\xd8") and b"Exif" not in kept
        twilio.fail_next_media_delete(1, 500, 20500)
        assert await fetcher.delete_due() == 0 and len(twilio.media_held()) == 1
        [waiting] = await _pending(sqlite_database)
        assert waiting.ref == url and waiting.attempts == 1 and "500" in waiting.error
        assert AUTH_TOKEN not in waiting.error
        await _due_now(sqlite_database)
        assert await fetcher.delete_due() == 1
        assert twilio.media_held() == [] and await _pending(sqlite_database) == []


async def test_what_is_not_a_photo_is_not_kept_and_deleted_at_twilio(sqlite_database, tmp_path):
    await seed(sqlite_database)
    async with fetching(sqlite_database, tmp_path) as (twilio, fetcher):
        for content, kind, reason in (
            (b"%PDF-1.4 a list of names", "application/pdf", "not an image"),
            (b"\xff\xd8 not really a jpeg", "image/jpeg", "not an image"),
        ):
            await _report_with_media(sqlite_database, twilio, content, kind)
            assert await fetcher.fetch_due() == 0
            report = await _report(sqlite_database)
            assert report.media_path is None and report.media_next_attempt_at is None
            assert reason in report.media_error and report.description  # the report stays
            assert await fetcher.delete_due() == 1 and twilio.media_held() == []
        assert not [p for p in (tmp_path / "media").iterdir()]  # no partial file left
        # Gone at Twilio already (404): recorded, not tried again, nothing left to delete.
        url = await _report_with_media(sqlite_database, twilio, phone_photo(8, 8), "image/jpeg")
        sids = media_sids(url)
        assert sids is not None
        twilio.media_deleted.clear()
        del twilio._media[sids.media]
        assert await fetcher.fetch_due() == 0
        assert "404" in (await _report(sqlite_database)).media_error
        assert await fetcher.delete_due() == 1 and twilio.media_deleted == []
        # A URL of another host or account never gets the credentials.
        async with sqlite_database.transaction() as connection:
            await connection.execute(
                update(Report.__table__).values(
                    media_ref="https://example.org/photo.jpg",
                    media_next_attempt_at=datetime.now(UTC),
                )
            )
        assert await fetcher.fetch_due() == 0
        assert "not a Twilio media URL" in (await _report(sqlite_database)).media_error


async def test_too_large_is_refused(sqlite_database, tmp_path, monkeypatch):
    from gateway.channels import twilio_media

    monkeypatch.setattr(twilio_media, "MAX_BYTES", 1000)
    await seed(sqlite_database)
    async with fetching(sqlite_database, tmp_path) as (twilio, fetcher):
        await _report_with_media(sqlite_database, twilio, phone_photo(400, 300), "image/jpeg")
        assert await fetcher.fetch_due() == 0
        assert "too large" in (await _report(sqlite_database)).media_error
        assert await fetcher.delete_due() == 1 and twilio.media_held() == []
        async with sqlite_database.sessions() as session:
            assert await session.scalar(select(Report.media_path).where(Report.id == 1)) is None


async def test_a_purge_before_the_fetch_has_twilio_delete_the_photo(sqlite_database, tmp_path):
    from datetime import timedelta

    from storage import retention

    await seed(sqlite_database)
    later = datetime.now(UTC) + timedelta(days=800)  # past every report's two years
    async with fetching(sqlite_database, tmp_path, clock=lambda: later) as (twilio, fetcher):
        url = await _report_with_media(sqlite_database, twilio, phone_photo(8, 8), "image/jpeg")
        done = await retention.purge(sqlite_database, retention.Schedule(), later, "test")
        assert done["report_texts"] >= 1
        assert [row.ref for row in await _pending(sqlite_database)] == [url]
        assert await fetcher.fetch_due() == 0  # nothing left to fetch: the report forgot it
        assert await fetcher.delete_due() == 1 and twilio.media_held() == []
        assert (await _report(sqlite_database)).media_ref is None


async def test_a_photo_a_report_waits_for_is_not_deleted_at_twilio(sqlite_database, tmp_path):
    """Three days after it came in, a photo whose fetch is still being retried stays at
    Twilio; once it is fetched, it goes."""
    await seed(sqlite_database)
    async with fetching(sqlite_database, tmp_path) as (twilio, fetcher):
        url = await _report_with_media(sqlite_database, twilio, phone_photo(8, 8), "image/jpeg")
        now = datetime.now(UTC)
        async with sqlite_database.transaction() as connection:  # as when it came in, 3 days ago
            await provider_media.to_delete(connection, [("twilio", url)], now, at=now)
        twilio.fail_next_media(1, 503)
        assert await fetcher.fetch_due() == 0
        assert await fetcher.delete_due() == 0 and len(twilio.media_held()) == 1
        await _due_now(sqlite_database)
        assert await fetcher.fetch_due() == 1 and await fetcher.delete_due() == 1
        assert twilio.media_held() == [] and (await _report(sqlite_database)).media_path


async def test_migration_0022_has_older_whatsapp_photos_fetched(tmp_path):
    """Reports from before 0022 kept Twilio's URL as it was ("url"): a Twilio media URL is
    fetched (and deleted at Twilio) from now on; anything else is left as it was."""
    from sqlalchemy import text

    from storage.database import Database
    from storage.migrate import upgrade

    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    await upgrade(database.engine, "0020")
    twilio_url = (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{'a' * 32}"
        f"/Media/ME{'b' * 32}"
    )
    async with database.engine.begin() as connection:
        for n, ref in enumerate((twilio_url, "https://example.org/x.jpg"), 1):
            await connection.execute(
                text(
                    "INSERT INTO reports (id, channel, activity, activity_date, activity_month, "
                    "women, men, girls, boys, description, media_kind, media_ref, "
                    "media_attempts, status, submitted_at) VALUES (:id, 'whatsapp', 'formation', "
                    "'2026-11-01', '2026-11', 1, 0, 0, 0, 'x', 'url', :ref, 0, 'submitted', "
                    "'2026-11-01 10:00:00.000000')"
                ),
                {"id": n, "ref": ref},
            )
    await upgrade(database.engine)
    async with database.sessions() as session:
        rows = (await session.execute(select(Report).order_by(Report.id))).scalars().all()
        assert [(r.media_kind, r.media_next_attempt_at is not None) for r in rows] == [
            ("twilio", True),
            ("url", False),
        ]
        due = await report_store_due(database)
    assert [row.media_ref for row in due] == [twilio_url]
    await database.dispose()


async def report_store_due(database):
    from storage import reports as report_store

    async with database.transaction() as connection:
        return await report_store.due_media(connection, datetime.now(UTC))
