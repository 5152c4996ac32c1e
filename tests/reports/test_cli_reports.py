"""`benkadi reports …` in this process on a real database, and the photo fetcher's retries."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select, update
from telegram import Bot

from gateway.fakes import FakeTelegramAPI
from gateway.inbound.media import MediaFetcher
from storage import audit
from storage.models import Report
from tests.harness import TOKEN
from tests.reports.test_api_reports import TOTALS_SHOWN, seed
from tests.reports.test_photos import phone_photo


async def test_list_validate_summary_export(benkadi, sqlite_database, tmp_path):
    await seed(sqlite_database)
    code, out, _ = await benkadi("reports", "list", "--region", "kayes")
    assert code == 0 and len(out.splitlines()) == 3 and "F10 H5 FI2 G1" in out
    code, out, _ = await benkadi("reports", "validate", "2")
    assert code == 0 and "validated" in out
    code, out, _ = await benkadi("reports", "list", "--status", "validated", "--json")
    assert [r["id"] for r in json.loads(out)] == [2]
    code, out, _ = await benkadi("reports", "summary", "--json")
    assert [row["total"] for row in json.loads(out)] == [22, 3, 35]
    target = tmp_path / "reports.xlsx"
    code, _out, err = await benkadi("reports", "export", "--format", "xlsx", "-o", str(target))
    assert code == 0 and f"written to {target}" in err
    workbook = load_workbook(io.BytesIO(target.read_bytes()), read_only=True)
    totals = [list(row) for row in workbook["totaux"].iter_rows(values_only=True)][1:]
    assert totals == TOTALS_SHOWN  # an export hides counts under 5
    assert any(e["action"] == "reports.export" for e in await audit.entries(sqlite_database))
    code, _out, err = await benkadi("reports", "list", "--from", "yesterday")
    assert code == 2 and "from: must be a date" in err
    code, _out, err = await benkadi("reports", "validate", "99")
    assert code == 2 and "no report 99" in err


async def test_photo_fetch_failures_are_retried_later(sqlite_database, tmp_path):
    await seed(sqlite_database)
    now = datetime.now(UTC)
    async with sqlite_database.transaction() as connection:
        await connection.execute(
            update(Report.__table__)
            .where(Report.__table__.c.id == 1)
            .values(media_kind="telegram", media_ref="AgAC-late", media_next_attempt_at=now)
        )
    async with FakeTelegramAPI(TOKEN) as telegram:
        bot = Bot(TOKEN, base_url=telegram.base_url, base_file_url=telegram.base_file_url)
        fetcher = MediaFetcher(sqlite_database, bot, tmp_path / "media", interval=0.05)
        assert await fetcher.fetch_due() == 0  # Telegram does not know the file (yet)
        async with sqlite_database.sessions() as session:
            report = await session.get(Report, 1)
        assert report.media_path is None and report.media_attempts == 1
        assert "invalid file_id" in report.media_error.lower()
        assert report.media_next_attempt_at > now + timedelta(seconds=20)
        assert await fetcher.fetch_due() == 0  # not due again yet
        telegram.add_file("AgAC-late", b"not a picture", "photos/file_1.jpg")
        async with sqlite_database.transaction() as connection:
            await connection.execute(
                update(Report.__table__).values(media_next_attempt_at=datetime.now(UTC))
            )
        assert await fetcher.fetch_due() == 0  # not an image: not kept, not fetched again
        async with sqlite_database.sessions() as session:
            report = await session.get(Report, 1)
        assert report.media_path is None and report.media_next_attempt_at is None
        assert "not an image" in report.media_error and not list((tmp_path / "media").iterdir())
        telegram.add_file("AgAC-late", phone_photo(32, 24), "photos/file_1.jpg")
        async with sqlite_database.transaction() as connection:
            await connection.execute(
                update(Report.__table__).values(media_next_attempt_at=datetime.now(UTC))
            )
        assert await fetcher.fetch_due() == 1
        async with sqlite_database.sessions() as session:
            path = await session.scalar(select(Report.media_path).where(Report.id == 1))
        kept = await asyncio.to_thread(Path(path).read_bytes)
        assert path.endswith(".jpg") and kept.startswith(b"\xff\xd8") and b"Exif" not in kept
        await bot.shutdown()
