"""Report photos: fetched in the background into BENKADI_MEDIA_DIR, cleaned, and deleted at
the provider that still holds them.

A report keeps Telegram's file_id, or Twilio's MediaUrl (WhatsApp/MMS), from the moment it is
confirmed; the file itself is fetched here, outside the message's transaction (the webhook has
answered long before): python-telegram-bot's `get_file` then `download_to_drive`, or
`gateway/channels/twilio_media.py`. Every photo goes through `clean_photo` (no EXIF/GPS). A
failure (provider down, 5xx, 401) is recorded on the report and tried again later, waiting
longer each time; what trying again cannot change (404, not an image, too large) is recorded
and not tried again; the report itself is never lost. The local path is recorded once the file
is on disk. Then Twilio's copy is deleted there (`storage/provider_media.py`: deletions asked
by a fetch, an erasure or a purge, retried until Twilio says the media is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

from aiohttp import web
from telegram import Bot
from telegram.request import HTTPXRequest

from gateway.channels.twilio_media import MediaRefused, TwilioMedia
from gateway.inbound.photos import NotAnImage, clean_photo
from gateway.keys import DATABASE, SETTINGS
from storage import provider_media
from storage import reports as report_store
from storage.database import Database
from storage.types import utcnow

log = logging.getLogger(__name__)
MEDIA: web.AppKey[MediaFetcher] = web.AppKey("media")


class MediaFetcher:
    def __init__(
        self,
        database: Database,
        bot: Bot | None,
        media_dir: Path,
        interval: float,
        twilio: TwilioMedia | None = None,
        clock: Callable[[], datetime] = utcnow,  # a test's clock, as the scheduler's
    ) -> None:
        self.clock = clock
        self.database, self.bot, self.media_dir, self.interval = (
            database,
            bot,
            media_dir,
            interval,
        )
        self.twilio = twilio
        self.kinds = tuple(
            kind for kind, source in (("telegram", bot), ("twilio", twilio)) if source is not None
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
                await self.delete_due()
            except Exception:  # the database away a moment: try again at the next round
                log.exception("fetching report photos failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()

    async def fetch_due(self) -> int:
        """Fetch every photo due now; returns how many were saved."""
        async with self.database.transaction() as connection:
            due = await report_store.due_media(connection, self.clock(), self.kinds)
        saved = 0
        for row in due:
            kind, ref = row.media_kind, row.media_ref
            try:
                path = await self._download(row.id, kind, ref)
            except (NotAnImage, MediaRefused) as error:  # fetching again: the same answer
                log.warning("report %s: the photo is not kept (%s)", row.id, error)
                async with self.database.transaction() as connection:
                    await report_store.media_refused(
                        connection, row.id, str(error), ref, kind, self.clock()
                    )
                continue
            except Exception as error:
                log.warning("report %s: photo not fetched (%s); will retry", row.id, error)
                async with self.database.transaction() as connection:
                    await report_store.media_failed(
                        connection, row.id, row.media_attempts, str(error)[:500], self.clock()
                    )
                continue
            async with self.database.transaction() as connection:
                kept = await report_store.media_saved(
                    connection, row.id, str(path), ref, kind, self.clock()
                )
            if not kept:  # erased or purged while it was being fetched
                await asyncio.to_thread(path.unlink, True)
                continue
            saved += 1
        return saved

    async def delete_due(self) -> int:
        """Delete at the provider the photos it still holds and Benkadi no longer needs there;
        returns how many are gone."""
        if self.twilio is None:
            return 0
        async with self.database.transaction() as connection:
            due = await provider_media.due(connection, self.clock())
        gone = 0
        for row in due:
            try:
                await self.twilio.delete(row.ref)
            except MediaRefused:  # not a URL Benkadi can delete: nothing to ask
                pass
            except Exception as error:
                log.warning("a photo at Twilio not deleted yet (%s); will retry", error)
                async with self.database.transaction() as connection:
                    await provider_media.failed(
                        connection, row.id, row.attempts, str(error), self.clock()
                    )
                continue
            async with self.database.transaction() as connection:
                await provider_media.deleted(connection, row.id)
            gone += 1
        return gone

    async def _download(self, report_id: int, kind: str, ref: str) -> Path:
        await asyncio.to_thread(self.media_dir.mkdir, 0o700, parents=True, exist_ok=True)
        tag = secrets.token_hex(4)
        if kind == "twilio":
            assert self.twilio is not None
            target = self.media_dir / f"report-{report_id}-{tag}.jpg"
            partial = target.with_name(f"{target.name}.{os.getpid()}-{tag}.part")
            try:
                await self.twilio.download(ref, partial)
            except BaseException:
                await asyncio.to_thread(partial.unlink, True)
                raise
        else:
            assert self.bot is not None
            telegram_file = await self.bot.get_file(ref)
            suffix = Path(telegram_file.file_path or "").suffix or ".jpg"
            target = self.media_dir / f"report-{report_id}-{telegram_file.file_unique_id}{suffix}"
            # Unique per attempt: two processes on one PostgreSQL may fetch the same photo at once.
            partial = target.with_name(f"{target.name}.{os.getpid()}-{tag}.part")
            await telegram_file.download_to_drive(partial)
        cleaned = await asyncio.to_thread(clean_photo, partial)  # no EXIF/GPS kept (photos.py)
        cleaned.chmod(0o600)  # a member's photo: readable by Benkadi's user only
        target = target.with_suffix(cleaned.suffix)
        cleaned.replace(target)  # never a half-written file under the recorded name
        return target.resolve()


async def fetching(app: web.Application) -> AsyncIterator[None]:
    """The fetcher's lifecycle in the web app (where Telegram or Twilio is configured)."""
    settings = app[SETTINGS]
    token = settings.telegram_bot_token  # telegram_enabled, spelt out for the type checker
    bot = None
    if token:
        bot = Bot(
            token,
            base_url=settings.telegram_api_url + "/bot",
            base_file_url=settings.telegram_file_url,
            request=HTTPXRequest(read_timeout=30, connect_timeout=10),
        )
    twilio = None
    if settings.twilio_account_sid and settings.twilio_auth_token:
        twilio = TwilioMedia(
            settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_url
        )
        await twilio.start()
    if bot is None and twilio is None:
        yield
        return
    fetcher = MediaFetcher(
        app[DATABASE], bot, Path(settings.media_dir), settings.media_interval, twilio
    )
    app[MEDIA] = fetcher
    task = asyncio.create_task(fetcher.run(), name="media")
    try:
        yield
    finally:
        fetcher.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=10)
        if bot is not None:
            with contextlib.suppress(Exception):
                await bot.shutdown()
        if twilio is not None:
            with contextlib.suppress(Exception):
                await twilio.stop()


def wake(app: web.Application) -> None:
    fetcher = app.get(MEDIA)
    if fetcher is not None:
        fetcher.wake()
