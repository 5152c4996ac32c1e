"""Sending from a second process: `benkadi serve --dispatch process` starts `benkadi dispatch`.

The web process then only takes webhooks in; the child claims and sends the outbox on the other
core. The parent wakes it through its standard input, one byte per "something was queued"; the
child leaves when that pipe closes, so it never outlives its parent.

The child is supervised: it writes a heartbeat line (JSON: alive, stalled loops, each channel's
state) on its standard output every BENKADI_HEARTBEAT_SECONDS. When it exits, or sends no heartbeat for
SILENT_BEATS of them (killed then), it is started again after a backoff, one log line per restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable

from gateway.sending.supervision import backoff_of
from gateway.settings import Settings, settings_env
from storage import heartbeats
from storage.database import Database
from storage.types import utcnow

log = logging.getLogger(__name__)
SILENT_BEATS = 6  # heartbeats missed in a row after which the child is taken for hung
STARTUP = 30.0  # seconds a fresh child has for its first heartbeat (imports, migrations' check)


class ChildDispatcher:
    """Stands where the in-process Dispatcher would: wake() pokes the child instead."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.silent = SILENT_BEATS * settings.heartbeat_seconds
        self.backoff = backoff_of(settings)
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._beat_at = 0.0  # monotonic time of the last heartbeat (or of the child's start)
        self._last: dict[str, object] = {}
        self._stopping = False
        self._supervisor: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name="dispatcher process")

    async def _spawn(self) -> None:
        self._last, self._beat_at = {}, time.monotonic()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "dispatch", "--wake-stdin",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=settings_env(self.settings),
        )  # fmt: skip

    async def _supervise(self) -> None:
        while True:
            process = self._process
            assert process is not None and process.stdout is not None
            began = time.monotonic()
            await self._listen(process.stdout)
            if not self._stopping and process.returncode is None:
                log.error(
                    "the dispatcher process sent no heartbeat for %.0f s: killing it", self.silent
                )
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            code = await process.wait()
            if self._stopping:
                return
            wait = self.backoff.after(time.monotonic() - began)
            self.restarts += 1
            log.error(
                "the dispatcher process exited (code %s); restarting it in %.0f s", code, wait
            )
            await asyncio.sleep(wait)
            if self._stopping:
                return
            await self._spawn()

    async def _listen(self, stdout: asyncio.StreamReader) -> None:
        """Heartbeats until the child's output ends or falls silent."""
        while True:
            silence = self.silent if self._last else self.silent + STARTUP
            try:
                line = await asyncio.wait_for(stdout.readline(), silence)
            except TimeoutError:
                return
            if not line:
                return
            try:
                beat = json.loads(line)
            except ValueError:
                continue  # not a heartbeat: nothing of ours writes anything else there
            if isinstance(beat, dict):
                self._last, self._beat_at = beat, time.monotonic()

    def report(self) -> dict[str, object]:
        process = self._process
        running = process is not None and process.returncode is None
        fresh = time.monotonic() - self._beat_at < self.silent  # before the first: not alive
        beat = self._last
        return {
            "alive": running and fresh and bool(beat.get("alive", False)),
            "stalled": beat.get("stalled", []),
            "channels": beat.get("channels", {}),
            "process": {
                "restarts": self.restarts,
                "heartbeat_age": round(time.monotonic() - self._beat_at, 1),
            },
        }

    def wake(self) -> None:
        process = self._process
        if process is None or process.stdin is None or process.stdin.is_closing():
            return
        with contextlib.suppress(BlockingIOError, BrokenPipeError, ConnectionResetError):
            process.stdin.write(b"\n")  # a full pipe means the child has wakes pending anyway

    async def stop(self) -> None:
        self._stopping = True
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            process.terminate()
            await process.wait()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor


async def wake_from_stdin(wake: Callable[[], None], stop: Callable[[], None]) -> None:
    """In the child: every line on stdin wakes the dispatcher; end of input stops it."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.readline():
        wake()
    stop()


async def heartbeat(report: Callable[[], dict[str, object]], every: float) -> None:
    """In the child: the dispatcher's health on standard output, one JSON line each time (a
    small write to a pipe the parent always reads: it does not block)."""
    while True:
        sys.stdout.write(json.dumps(report()) + "\n")
        sys.stdout.flush()
        await asyncio.sleep(every)


async def database_heartbeat(
    database: Database, report: Callable[[], dict[str, object]], every: float
) -> None:
    """On its own: the dispatcher's health in the database, for `serve`'s readiness. A write
    that fails (the database busy or down) is tried again at the next beat."""
    while True:
        try:
            await heartbeats.beat(database, report(), utcnow())
        except Exception as error:
            log.warning("the dispatcher's heartbeat was not written (%s)", type(error).__name__)
        await asyncio.sleep(every)


class NoDispatcher:
    """dispatch=off: another process sends; it finds the rows by polling."""

    def wake(self) -> None:
        pass

    def report(self) -> dict[str, object]:
        # Not known here: gateway/health.py reads the other process's heartbeats.
        return {"alive": False, "stalled": [], "channels": {}, "elsewhere": True}
