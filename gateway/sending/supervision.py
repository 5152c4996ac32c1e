"""Sending that cannot die quietly: what is started is kept running.

- `Backoff`: the wait before the next try, doubling up to a ceiling, back to the start once a
  run has lasted long enough to count as healthy.
- `ChannelStarter`: every channel is started at once; one that cannot start (Telegram
  unreachable, a token refused) is tried again in the background while the others send. The
  dispatcher sends on a channel only once it is up.
- `supervised`: a coroutine (the dispatcher's loops, the scheduler) that ends by an error is run
  again after a backoff; each restart is one log line.

Log lines name the error's type, never its text: an SDK's message can carry the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from gateway.channels.base import Channel
from gateway.sending.dispatcher import Dispatcher
from gateway.settings import Settings

log = logging.getLogger(__name__)

STARTING, UP, DOWN = "starting", "up", "down"


@dataclass
class Backoff:
    first: float = 1.0
    ceiling: float = 60.0
    healthy_after: float = 60.0  # a run this long resets the wait to `first`
    failures: int = 0

    def after(self, ran_for: float) -> float:
        """The wait before the next try, after a run (or a try) that lasted `ran_for` seconds."""
        if ran_for >= self.healthy_after:
            self.failures = 0
        self.failures += 1
        return min(self.ceiling, self.first * 2 ** (self.failures - 1))


def backoff_of(settings: Settings) -> Backoff:
    return Backoff(first=settings.restart_backoff, ceiling=settings.restart_backoff_max)


@dataclass
class ChannelState:
    state: str = STARTING
    since: float = field(default_factory=time.monotonic)
    failures: int = 0
    error: str | None = None  # the type of the last start error: no text, no secret

    def as_json(self) -> dict[str, object]:
        return {"state": self.state, "failures": self.failures, "error": self.error}


class ChannelStarter:
    def __init__(
        self,
        channels: Mapping[str, Channel],
        *,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self.channels = dict(channels)
        self.states = {name: ChannelState() for name in self.channels}
        self.up = {name: asyncio.Event() for name in self.channels}
        self._backoff = backoff
        self._retries: list[asyncio.Task[None]] = []

    def start_all(self) -> None:
        """Start every channel in the background, each trying again until it is up; nothing
        waits for a slow or refused one (the dispatcher waits on `up` per channel)."""
        for name in self.channels:
            self._retries.append(asyncio.create_task(self._keep_trying(name), name=f"start {name}"))

    async def _try(self, name: str) -> bool:
        state = self.states[name]
        try:
            await self.channels[name].start()
        except Exception as error:  # any failure to start is retried, whatever it is
            state.state, state.failures, state.error = DOWN, state.failures + 1, _kind(error)
            state.since = time.monotonic()
            return False
        state.state, state.error, state.since = UP, None, time.monotonic()
        self.up[name].set()
        return True

    async def _keep_trying(self, name: str) -> None:
        backoff = self._backoff()
        while not await self._try(name):
            wait = backoff.after(0.0)
            log.warning(
                "channel %s could not start (%s); trying again in %.0f s",
                name,
                self.states[name].error,
                wait,
            )
            await asyncio.sleep(wait)
        if backoff.failures:
            log.info("channel %s is up after %d failed starts", name, backoff.failures)

    def report(self) -> dict[str, dict[str, object]]:
        return {name: state.as_json() for name, state in self.states.items()}

    async def stop_all(self) -> None:
        for task in self._retries:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for name, channel in self.channels.items():
            try:
                await channel.stop()  # safe on a channel that never started
            except Exception as error:
                log.warning("channel %s did not stop cleanly (%s)", name, _kind(error))


def _kind(error: BaseException) -> str:
    return type(error).__name__


async def supervised(
    name: str,
    run: Callable[[], Awaitable[None]],
    stopped: Callable[[], bool],
    *,
    backoff: Backoff | None = None,
) -> None:
    """Run `run()` again after each error (or an unasked return) until `stopped()` says it
    was asked to stop; one log line per restart."""
    backoff = backoff or Backoff()
    while True:
        began = time.monotonic()
        try:
            await run()
            failure = None
        except Exception as error:
            failure = error
        if stopped():
            return
        wait = backoff.after(time.monotonic() - began)
        if failure is None:
            log.error("%s returned unasked; restarting in %.0f s", name, wait)
        else:
            # A bug's traceback is worth having; the log's formatter blanks any secret in it.
            log.error(
                "%s stopped on %s; restarting in %.0f s",
                name,
                _kind(failure),
                wait,
                exc_info=failure,
            )
        await asyncio.sleep(wait)


class InlineHealth:
    """The dispatcher running in this process, as readiness sees it."""

    def __init__(
        self, dispatcher: Dispatcher, starter: ChannelStarter, tasks: list[asyncio.Task[None]]
    ) -> None:
        self.dispatcher, self.starter, self.tasks = dispatcher, starter, tasks

    def wake(self) -> None:
        self.dispatcher.wake()

    def report(self) -> dict[str, object]:
        """The child's heartbeat carries this same report to its parent."""
        health = self.dispatcher.health()
        loops = health["loops"]
        assert isinstance(loops, dict)
        channels = {
            name: {**state, **loops.get(name, {}), **_routes(self.starter.channels[name])}
            for name, state in self.starter.report().items()
        }
        return {
            "alive": all(not task.done() for task in self.tasks),
            "stalled": health["stalled"],
            "channels": channels,
        }


def _routes(channel: Channel) -> dict[str, object]:
    """What a channel with routes (SMS: the phones, Twilio) says about them, for readiness."""
    report = getattr(channel, "routes_report", None)
    return {"routes": report()} if callable(report) else {}
