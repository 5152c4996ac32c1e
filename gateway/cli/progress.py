"""Progress on stderr while a broadcast goes out or an export is written: rich's bar in a
terminal; elsewhere (a log file, CI) plain lines that say the same, `2/4  sent 2 · failed 1`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from storage.outbox.states import OutboxStatus

PENDING = (OutboxStatus.QUEUED,)  # still to be sent; every other status is an outcome
SHOWN = (  # the outcomes, in the order the line gives them
    OutboxStatus.SENT,
    OutboxStatus.DELIVERED,
    OutboxStatus.FAILED,
    OutboxStatus.UNDELIVERED,
    OutboxStatus.SKIPPED,
    OutboxStatus.CANCELLED,
)
STALL_HINT = 10.0  # seconds without change before suggesting that no dispatcher is running
PLAIN_EVERY = 2.0  # seconds between plain lines of an export's count


def counts(status: Mapping[str, Any]) -> tuple[int, int, dict[str, int]]:
    """(done, total, totals) from a get_status() answer."""
    totals = {key: int(value) for key, value in (status.get("totals") or {}).items()}
    done = sum(value for key, value in totals.items() if key not in PENDING)
    total = max(int(status.get("recipients") or 0), done)
    return done, total, totals


def outcomes(totals: Mapping[str, int]) -> str:
    return " · ".join(f"{key} {totals[key]}" for key in SHOWN if totals.get(key))


def line(status: Mapping[str, Any]) -> str:
    """The plain line: `done/total  sent 2 · delivered 1 · failed 1`."""
    done, total, totals = counts(status)
    return f"{done}/{total}  {outcomes(totals)}".rstrip()


def pending(status: Mapping[str, Any]) -> int:
    return sum(int((status.get("totals") or {}).get(key, 0)) for key in PENDING)


def bar(stream: TextIO) -> Progress:
    """rich's bar with done/total, elapsed time and a description, drawn on `stream`."""
    return Progress(
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(file=stream, highlight=False),
    )


async def follow(
    fetch: Callable[[], Awaitable[Mapping[str, Any]]],
    stream: TextIO = sys.stderr,
    interval: float = 0.5,
) -> Mapping[str, Any] | None:
    """Show the sending until nothing is queued; the last status, or None after Ctrl-C.

    Ctrl-C stops the watching, not the sending: the outbox rows are already queued.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers there
        loop.add_signal_handler(signal.SIGINT, stop.set)
    drawn = bar(stream) if stream.isatty() else None
    task = drawn.add_task("", total=None) if drawn else None

    def say(text: str) -> None:
        if drawn:
            drawn.console.print(text, markup=False)
        else:
            stream.write(text + "\n")
            stream.flush()

    last, changed_at, hinted = "", time.monotonic(), False
    try:
        if drawn:
            drawn.start()
        while True:
            status = await fetch()
            text = line(status)
            if text != last:
                if drawn and task is not None:
                    done, total, totals = counts(status)
                    drawn.update(task, completed=done, total=total, description=outcomes(totals))
                else:
                    say(text)
                last, changed_at = text, time.monotonic()
            if not pending(status):
                return status
            if not hinted and time.monotonic() - changed_at > STALL_HINT:
                hinted = True
                say("nothing sent for a while: is `benkadi serve` or `benkadi dispatch` running?")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if stop.is_set():
                say("stopped watching; sending goes on")
                return None
    finally:
        if drawn:
            drawn.stop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)


class RowCount:
    """The rows of an export as they are read: a bar in a terminal, else a line `done/total
    members` every PLAIN_EVERY seconds and at the end; nothing at all unless `shown`."""

    def __init__(self, total: int, stream: TextIO, what: str, shown: bool = True) -> None:
        self.total, self.stream, self.what, self.shown = total, stream, what, shown
        self.done, self.said_at = 0, 0.0
        self.drawn = bar(stream) if shown and stream.isatty() else None
        self.task = self.drawn.add_task(what, total=total) if self.drawn else None
        if self.drawn:
            self.drawn.start()

    def advance(self, rows: int) -> None:
        self.done += rows
        if self.drawn and self.task is not None:
            self.drawn.update(self.task, completed=self.done)
            return
        now = time.monotonic()
        if self.shown and (now - self.said_at >= PLAIN_EVERY or self.done >= self.total):
            self.said_at = now
            self.stream.write(f"{self.done}/{self.total} {self.what}\n")
            self.stream.flush()

    def close(self) -> None:
        if self.drawn:
            self.drawn.stop()

    def counting(
        self, rows: AsyncIterable[Sequence[Any]], batch: int
    ) -> AsyncIterator[Sequence[Any]]:
        """`rows` as they are, counted `batch` at a time."""

        async def counted() -> AsyncIterator[Sequence[Any]]:
            waiting = 0
            async for row in rows:
                yield row
                waiting += 1
                if waiting == batch:
                    self.advance(waiting)
                    waiting = 0
            if waiting:
                self.advance(waiting)

        return counted()
