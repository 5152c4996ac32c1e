"""Report photos: Telegram files fetched in the background into BENKADI_MEDIA_DIR.

A report keeps Telegram's file_id from the moment it is confirmed; the file itself is fetched
here, outside the message's transaction, with python-telegram-bot (`get_file` then
`download_to_drive`). A failure (Telegram down, file gone) is recorded on the report and tried
again later, waiting longer each time; the local path is recorded once the file is on disk.
WhatsApp/MMS photos are Twilio media URLs: kept as they are, nothing to fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from telegram import Bot
from telegram.request import HTTPXRequest

from gateway.inbound.photos import NotAnImage, clean_photo
from gateway.keys import DATABASE, SETTINGS
from storage import reports as report_store
from storage.database import Database
from storage.types import utcnow

log = logging.getLogger(__name__)
MEDIA: web.AppKey[MediaFetcher] = web.AppKey("media")


class MediaFetcher:
    def __init__(self, database: Database, bot: Bot, media_dir: Path, interval: float) -> None:
        self.database, self.bot, self.media_dir, self.interval = (
            database,
            bot,
            media_dir,
            interval,
        )
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.fetch_due()
            except Exception:  # the database away a moment: try again at the next round
                log.exception("fetching report photos failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()

    async def fetch_due(self) -> int:
        """Fetch every photo due now; returns how many were saved."""
        async with self.database.transaction() as connection:
            due = await report_store.due_media(connection, utcnow())
        saved = 0
        for row in due:
            try:
                path = await self._download(row.id, row.media_ref)
            except NotAnImage as error:  # fetching it again would give the same file
                log.warning("report %s: the photo is not an image; not kept", row.id)
                async with self.database.transaction() as connection:
                    await report_store.media_refused(connection, row.id, str(error))
                continue
            except Exception as error:
                log.warning("report %s: photo not fetched (%s); will retry", row.id, error)
                async with self.database.transaction() as connection:
                    await report_store.media_failed(
                        connection, row.id, row.media_attempts, str(error)[:500], utcnow()
                    )
                continue
            async with self.database.transaction() as connection:
                await report_store.media_saved(connection, row.id, str(path))
            saved += 1
        return saved

    async def _download(self, report_id: int, file_id: str) -> Path:
        telegram_file = await self.bot.get_file(file_id)
        suffix = Path(telegram_file.file_path or "").suffix or ".jpg"
        target = self.media_dir / f"report-{report_id}-{telegram_file.file_unique_id}{suffix}"
        await asyncio.to_thread(self.media_dir.mkdir, 0o700, parents=True, exist_ok=True)
        # Unique per attempt: two processes on one PostgreSQL may fetch the same photo at once.
        partial = target.with_name(f"{target.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
        await telegram_file.download_to_drive(partial)
        cleaned = await asyncio.to_thread(clean_photo, partial)  # no EXIF/GPS kept (photos.py)
        cleaned.chmod(0o600)  # a member's photo: readable by Benkadi's user only
        target = target.with_suffix(cleaned.suffix)
        cleaned.replace(target)  # never a half-written file under the recorded name
        return target.resolve()


async def fetching(app: web.Application) -> AsyncIterator[None]:
    """The fetcher's lifecycle in the web app (only where Telegram is configured)."""
    settings = app[SETTINGS]
    token = settings.telegram_bot_token  # telegram_enabled, spelt out for the type checker
    if not token:
        yield
        return
    bot = Bot(
        token,
        base_url=settings.telegram_api_url + "/bot",
        base_file_url=settings.telegram_file_url,
        request=HTTPXRequest(read_timeout=30, connect_timeout=10),
    )
    fetcher = MediaFetcher(app[DATABASE], bot, Path(settings.media_dir), settings.media_interval)
    app[MEDIA] = fetcher
    task = asyncio.create_task(fetcher.run(), name="media")
    try:
        yield
    finally:
        fetcher.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=10)
        with contextlib.suppress(Exception):
            await bot.shutdown()


def wake(app: web.Application) -> None:
    fetcher = app.get(MEDIA)
    if fetcher is not None:
        fetcher.wake()
