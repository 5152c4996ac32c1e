"""Sending from a second process: `benkadi serve --dispatch process` starts `benkadi dispatch`.

The web process then only takes webhooks in; the child claims and sends the outbox on the other
core. The parent wakes it through its standard input, one byte per "something was queued"; the
child leaves when that pipe closes, so it never outlives its parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from gateway.settings import Settings, settings_env

log = logging.getLogger(__name__)


class ChildDispatcher:
    """Stands where the in-process Dispatcher would: wake() pokes the child instead."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "dispatch", "--wake-stdin",
            stdin=asyncio.subprocess.PIPE, env=settings_env(self.settings),
        )  # fmt: skip

    def wake(self) -> None:
        process = self._process
        if process is None or process.stdin is None or process.stdin.is_closing():
            return
        with contextlib.suppress(BlockingIOError, BrokenPipeError, ConnectionResetError):
            process.stdin.write(b"\n")  # a full pipe means the child has wakes pending anyway

    async def stop(self) -> None:
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


async def wake_from_stdin(wake, stop) -> None:
    """In the child: every line on stdin wakes the dispatcher; end of input stops it."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.readline():
        wake()
    stop()


class NoDispatcher:
    """dispatch=off: another process sends; it finds the rows by polling."""

    def wake(self) -> None:
        pass
