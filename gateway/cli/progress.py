"""A terminal progress bar for a broadcast being sent, read from its status until nothing waits."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TextIO

PENDING = ("queued",)  # outbox statuses still to be sent; every other one is an outcome
SHOWN = ("sent", "delivered", "failed", "undelivered", "skipped", "cancelled")
STALL_HINT = 10.0  # seconds without change before suggesting that no dispatcher is running


def counts(status: Mapping[str, Any]) -> tuple[int, int, dict[str, int]]:
    """(done, total, totals) from a get_status() answer."""
    totals = {key: int(value) for key, value in (status.get("totals") or {}).items()}
    done = sum(value for key, value in totals.items() if key not in PENDING)
    total = max(int(status.get("recipients") or 0), done)
    return done, total, totals


def line(status: Mapping[str, Any], width: int = 30) -> str:
    done, total, totals = counts(status)
    filled = width if total == 0 else width * done // total
    parts = [f"{key} {totals[key]}" for key in SHOWN if totals.get(key)]
    return f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total}  " + " · ".join(parts)


def pending(status: Mapping[str, Any]) -> int:
    return sum(int((status.get("totals") or {}).get(key, 0)) for key in PENDING)


async def follow(
    fetch: Callable[[], Awaitable[Mapping[str, Any]]],
    stream: TextIO = sys.stderr,
    interval: float = 0.5,
) -> Mapping[str, Any] | None:
    """Redraw the bar until nothing is queued; the last status, or None after Ctrl-C.

    Ctrl-C stops the watching, not the sending: the outbox rows are already queued.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers there
        loop.add_signal_handler(signal.SIGINT, stop.set)
    tty = stream.isatty()
    last, changed_at, hinted = "", time.monotonic(), False
    try:
        while True:
            status = await fetch()
            text = line(status)
            if text != last:
                stream.write(("\r" + text + "\x1b[K") if tty else text + "\n")
                stream.flush()
                last, changed_at = text, time.monotonic()
            if not pending(status):
                if tty:
                    stream.write("\n")
                return status
            if not hinted and time.monotonic() - changed_at > STALL_HINT:
                hinted = True
                stream.write(
                    ("\n" if tty else "")
                    + "nothing sent for a while: is `benkadi serve` or `benkadi dispatch` running?\n"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if stop.is_set():
                stream.write(("\n" if tty else "") + "stopped watching; sending goes on\n")
                return None
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
