"""The route layer under the SMS channel: Android phones' SIMs first, Twilio last.

`SmsRouter` is the "sms" channel the dispatcher sees (the channel contract): for each message it
picks a route with the pure policy (broadcasts/routing.py), waits for that SIM's turn at its
rate, and sends through the phone's official client. A phone that refuses the connection, answers
5xx, refuses the credentials or is at its limit did not take the message: the same message goes
at once to the next route, the failure counted against the phone; enough failures in a row and
the phone is down (persisted, so the console and other processes see it) until a health check or
a webhook from it says it is back. A timeout is ambiguous (the phone may have taken it): the
sender asks the phone for the message by our id (it has it: sent; it has not: the next route);
unanswered, the row is retried later by the dispatcher, by whichever route is up then — that
bounds how long a dead phone holds a row. One message per member per broadcast stays guaranteed
by the outbox (one row, sent once, its id the message id on every phone). Replies go first: a
broadcast's rows queue per SIM and take a turn only when it is due, so a reply waits one turn at
most, never behind a broadcast's backlog. A phone outside its working hours is no route.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from bot.vocabulary.operators import operator_of
from broadcasts.quiet_hours import QuietHours, parse_quiet_hours
from broadcasts.routing import SimRoute, choose
from gateway.channels.android import AndroidSender, RouteError
from gateway.channels.base import Channel, Outgoing, SendError
from gateway.logs import redact_also
from gateway.sending.pacing import WindowLimiter
from gateway.settings import Settings
from storage import gateways as store
from storage.database import Database
from storage.gateways import PROVIDER_ID_SEPARATOR, Gateway, Sim
from storage.types import utcnow

log = logging.getLogger(__name__)

FAILURES_TO_DOWN = 3  # failed sends or checks in a row before a phone is marked down
REFRESH_EVERY = 5.0  # seconds between reloads of the gateways (added, removed, up, down)
CHECK_EVERY = 30.0  # seconds between health checks of each phone
NO_ROUTE_WAIT = 10.0  # seconds the SMS channel waits when no route at all is up
TURN_CHECK = 1.0  # seconds between looks at a phone's health while a row waits its turn
SEEN_EVERY = 30.0  # seconds between recordings of a phone answering (not a write per SMS)
# A phone that pings (the app's system:ping, its interval set in the app) and has not for this
# long is down, whatever the API says: in cloud mode the health endpoint is the server's.
PING_SILENCE = timedelta(minutes=15)


class SmsRouter:
    name = "sms"
    paces_itself = True  # each SIM at its rate, Twilio's window here (paced_at)

    def __init__(
        self,
        database: Database,
        *,
        twilio: Channel | None = None,
        refresh_every: float = REFRESH_EVERY,
        check_every: float = CHECK_EVERY,
        failures_to_down: int = FAILURES_TO_DOWN,
        send_timeout: float = 15.0,
        ping_silence: timedelta = PING_SILENCE,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.twilio = twilio
        self._twilio_window: WindowLimiter | None = None  # set by paced_at
        self.refresh_every, self.check_every = refresh_every, check_every
        self.failures_to_down, self._send_timeout = failures_to_down, send_timeout
        self.clock, self.now, self.ping_silence = clock, now, ping_silence
        self._hours: dict[str, QuietHours | None] = {}  # working hours as written → parsed
        self.gateways: dict[int, Gateway] = {}
        self.senders: dict[int, AndroidSender] = {}
        self._free_at: dict[int, float] = {}  # SIM id → monotonic time its next SMS may go
        self._phone_free_at: dict[int, float] = {}  # gateway id → the same, phone-wide limit
        # Broadcast rows queue per SIM, taking a turn only when it is due: a reply takes the
        # next turn at once, never behind turns handed out to a broadcast.
        self._bulk_queue: dict[int, asyncio.Lock] = {}
        # One reload at a time (the periodic round, the console, a new phone's first webhooks):
        # a reload awaits between reading the gateways and storing their clients.
        self._refreshing = asyncio.Lock()
        self._bulk_waiting: dict[int, int] = {}  # SIM id → broadcast rows queued on it
        # As the phone counts: a send occupies its SIM's window from going out until a window
        # after its answer, so bunched arrivals (a stall, a slow answer) never exceed the rate.
        self._limiters: dict[tuple[str, int], tuple[float, WindowLimiter]] = {}
        self._failures: dict[int, int] = {}
        self._down: set[int] = set()
        self._seen_at: dict[int, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._sticky_wanted: dict[str, asyncio.Future[int | None]] = {}
        self._sticky_lookup: asyncio.Task[None] | None = None
        self.sent_by: dict[str, int] = {}  # route label → SMS sent since start (bench, status)

    @property
    def send_timeout(self) -> float:
        """Seconds a phone has to answer a send (and then the question whether it has it)."""
        return self._send_timeout

    @send_timeout.setter
    def send_timeout(self, seconds: float) -> None:
        # Every phone's sender now and every one made later: the route layer starts in the
        # background, so its senders may not exist yet when this is set.
        self._send_timeout = seconds
        for sender in self.senders.values():
            sender.timeout = seconds

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self.twilio is not None:
            await self.twilio.start()
        await self.refresh()
        self._tasks = [
            asyncio.create_task(self._every(self.refresh_every, self.refresh), name="sms-routes"),
            asyncio.create_task(self._every(self.check_every, self.check), name="sms-health"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sender in self.senders.values():
            await sender.stop()
        if self.twilio is not None:
            await self.twilio.stop()

    async def _every(self, seconds: float, job: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()  # type: ignore[misc]
            except Exception:  # a busy database or a phone gone: the next round tries again
                log.warning("SMS routes: %s failed", getattr(job, "__name__", job), exc_info=True)

    async def refresh(self) -> None:
        """Reload the gateways: new ones get a client, removed ones lose theirs; health as
        recorded (a ping or a check in another process brings a phone back)."""
        async with self._refreshing:
            await self._refresh()

    async def _refresh(self) -> None:
        loaded = {g.id: g for g in await store.load_gateways(self.database)}
        redact_also(secret for g in loaded.values() for secret in _secrets(g))
        for gateway_id in set(self.senders) - set(loaded):
            await self.senders.pop(gateway_id).stop()
        for gateway_id, gateway in loaded.items():
            old = self.gateways.get(gateway_id)
            if (
                old is None
                or gateway_id not in self.senders
                or _connection(old) != _connection(gateway)
            ):
                if gateway_id in self.senders:
                    await self.senders.pop(gateway_id).stop()
                sender = AndroidSender(gateway, timeout=self.send_timeout)
                await sender.start()
                self.senders[gateway_id] = sender
            else:
                self.senders[gateway_id].gateway = gateway
            if gateway.down_at is None:
                if gateway_id in self._down:  # back (a ping, a check in another process):
                    self._down.discard(gateway_id)
                    self._failures.pop(gateway_id, None)  # 3 failures in a row again to be down
            else:
                self._down.add(gateway_id)
        self.gateways = loaded

    @property
    def configured(self) -> bool:
        """Something to route to: a phone (up or not) or Twilio. Without, SMS is not offered
        (the channel still exists: a phone added later is used without a restart)."""
        return self.twilio is not None or bool(self.gateways)

    async def reload(self) -> None:
        """Gateways added or removed (the console, the API, a webhook from a phone not known
        yet): a started route layer refreshes now; one that does not send here (another process
        dispatches) only learns which gateways there are."""
        if self._tasks:
            await self.refresh()
        else:
            self.gateways = {g.id: g for g in await store.load_gateways(self.database)}

    def routes_report(self) -> dict[str, object]:
        """For readiness: the phones known and up, and whether Twilio is a route."""
        return {
            "phones": len(self.gateways),
            "phones_up": sum(self.up(gateway_id) for gateway_id in self.gateways),
            "twilio": self.twilio is not None,
        }

    async def check(self) -> None:
        """Ask every phone's health endpoint; a down phone that answers is up again. A phone
        that pings and fell silent is down until it pings again (its API may still answer)."""
        for gateway_id, sender in list(self.senders.items()):
            if self._silent(sender.gateway):
                await self._mark_silent(sender.gateway)
                continue
            up, error = await sender.healthy()
            await self._observe(gateway_id, up, error)

    def _silent(self, gateway: Gateway) -> bool:
        pinged = gateway.last_ping_at
        return pinged is not None and self.now() - pinged > self.ping_silence

    async def _mark_silent(self, gateway: Gateway) -> None:
        if gateway.id in self._down:
            return
        minutes = round(self.ping_silence.total_seconds() / 60)
        log.warning("SMS gateway %s is down: no ping for %d min", gateway.name, minutes)
        self._set_down(gateway.id)
        await self._persist(
            gateway.id, up=False, error=f"no ping for {minutes} min", down=True
        )  # fmt: skip

    def working(self, gateway: Gateway) -> bool:
        """Within the phone's working hours (Bamako time), or it has none."""
        if gateway.working_hours is None:
            return True
        if gateway.working_hours not in self._hours:
            try:
                self._hours[gateway.working_hours] = parse_quiet_hours(gateway.working_hours)
            except ValueError:  # written by hand in the database: ignored, said once
                log.warning("SMS gateway %s: bad working hours ignored", gateway.name)
                self._hours[gateway.working_hours] = None
        window = self._hours[gateway.working_hours]
        return window is None or window.contains(self.now())

    # --- routes ------------------------------------------------------------------------------
    def routes(self) -> list[SimRoute]:
        return [
            SimRoute(
                sim.id, gateway.name, sim.slot, sim.operator, sim.rate_per_minute,
                sim.price_per_segment, healthy=self.usable(gateway.id),
            )
            for gateway in self.gateways.values()
            for sim in gateway.sims
        ]  # fmt: skip

    def up(self, gateway_id: int) -> bool:
        gateway = self.gateways.get(gateway_id)
        return gateway is not None and gateway.enabled and gateway_id not in self._down

    def usable(self, gateway_id: int) -> bool:
        """Up, and within its working hours: a route for a message now."""
        return self.up(gateway_id) and self.working(self.gateways[gateway_id])

    def _sim(self, sim_id: int) -> tuple[Gateway, Sim]:
        for gateway in self.gateways.values():
            for sim in gateway.sims:
                if sim.id == sim_id:
                    return gateway, sim
        raise KeyError(sim_id)

    def _free(self) -> dict[int, float]:
        """When each SIM may send next: its own turn, or its phone's, whichever is later, after
        the broadcast rows queued on it."""
        free, now = {}, self.clock()
        for gateway in self.gateways.values():
            phone = self._phone_free_at.get(gateway.id, 0.0)
            for sim in gateway.sims:
                queued = self._bulk_waiting.get(sim.id, 0) * 60.0 / sim.rate_per_minute
                free[sim.id] = max(self._free_at.get(sim.id, 0.0), phone, now) + queued
        return free

    def _reserve(self, gateway: Gateway, sim: Sim, late: float = 0.0) -> float:
        """Take the SIM's next turn; seconds to wait for it. `late`: how far behind now the
        turn may be counted (a waiter woken a little after its turn keeps the pace)."""
        now = self.clock()
        at = max(
            now - late, self._free_at.get(sim.id, 0.0), self._phone_free_at.get(gateway.id, 0.0)
        )
        self._free_at[sim.id] = at + 60.0 / sim.rate_per_minute
        if gateway.rate_per_minute:
            self._phone_free_at[gateway.id] = at + 60.0 / gateway.rate_per_minute
        return max(0.0, at - now)

    async def _wait_turn(self, gateway: Gateway, sim: Sim, bulk: bool = False) -> bool:
        """Wait for the SIM's turn, looking every second whether its phone is still up: a row
        never waits out a long turn on a phone that died meanwhile. False: it did. A reply
        takes the next turn; a broadcast row queues and takes one only once it is due."""
        if bulk:
            return await self._wait_bulk_turn(gateway, sim)
        deadline = self.clock() + self._reserve(gateway, sim)
        while (left := deadline - self.clock()) > 0:
            await asyncio.sleep(min(left, TURN_CHECK))
            if not self.usable(gateway.id):
                return False
        return self.usable(gateway.id)

    async def _wait_bulk_turn(self, gateway: Gateway, sim: Sim) -> bool:
        self._bulk_waiting[sim.id] = self._bulk_waiting.get(sim.id, 0) + 1
        try:
            async with self._bulk_queue.setdefault(sim.id, asyncio.Lock()):  # FIFO, one waits
                while True:
                    if not self.usable(gateway.id):
                        return False
                    now = self.clock()
                    due = max(
                        self._free_at.get(sim.id, 0.0), self._phone_free_at.get(gateway.id, 0.0)
                    )
                    if due <= now:
                        # Woken a little late, the turn counts from when it was due (the pace
                        # kept); a SIM idle for longer starts from now (no burst).
                        behind = now - due
                        self._reserve(gateway, sim, late=behind if behind < 1.0 else 0.0)
                        return True
                    await asyncio.sleep(min(due - now, TURN_CHECK))
        finally:
            self._bulk_waiting[sim.id] -= 1

    def _limiter(self, kind: str, key: int, per_minute: float) -> WindowLimiter:
        known = self._limiters.get((kind, key))
        if known is None or known[0] != per_minute:  # new, or its rate changed
            known = (per_minute, WindowLimiter(per_minute / 60.0))
            self._limiters[(kind, key)] = known
        return known[1]

    @contextlib.asynccontextmanager
    async def _turn(self, gateway: Gateway, sim: Sim) -> AsyncIterator[None]:
        limiters = [self._limiter("sim", sim.id, sim.rate_per_minute)]
        if gateway.rate_per_minute:
            limiters.append(self._limiter("phone", gateway.id, gateway.rate_per_minute))
        taken: list[WindowLimiter] = []
        try:
            for limiter in limiters:
                await limiter.acquire()
                taken.append(limiter)
            yield
        finally:
            for limiter in taken:
                limiter.release()

    async def _sticky(self, recipient: str) -> int | None:
        """The recipient's sticky SIM, read when the send starts (so the first reply to someone
        who just texted already has it); the sends of one batch share one query."""
        if not self.gateways:
            return None
        future = self._sticky_wanted.get(recipient)
        if future is None:
            future = self._sticky_wanted[recipient] = asyncio.get_running_loop().create_future()
            if self._sticky_lookup is None or self._sticky_lookup.done():
                self._sticky_lookup = asyncio.create_task(self._look_up_sticky())
        return await asyncio.shield(future)

    async def _look_up_sticky(self) -> None:
        await asyncio.sleep(0)  # let the sends started together ask first
        while self._sticky_wanted:
            wanted, self._sticky_wanted = self._sticky_wanted, {}
            try:
                async with self.database.read_engine.connect() as connection:
                    found = await store.sticky_sims(connection, sorted(wanted))
            except Exception as error:  # the sends fail retryably; the next lookup tries again
                for future in wanted.values():
                    if not future.done():
                        future.set_exception(error)
                continue
            for recipient, future in wanted.items():
                if not future.done():
                    future.set_result(found.get(recipient))

    # --- the channel contract ----------------------------------------------------------------
    async def send(self, message: Outgoing) -> str:
        operator = operator_of(message.recipient)
        sticky = await self._sticky(message.recipient)
        avoided = self._failed_by_radio(message)  # never again the SIM whose radio failed it
        tried = set(avoided)
        last: SendError | None = None
        while True:
            sim_route = choose(
                operator, self.routes(), sticky=sticky, free_at=self._free(), exclude=tried
            )
            if sim_route is None:
                break
            gateway, sim = self._sim(sim_route.id)
            if not await self._wait_turn(gateway, sim, message.bulk):  # went down meanwhile
                tried.add(sim.id)
                continue
            failure: SendError | None = None
            async with self._turn(gateway, sim):
                if not self.usable(gateway.id):  # went down while this one waited its turn
                    tried.add(sim.id)
                    continue
                # Caught in here: a frozen SendError cannot pass through a context manager.
                try:
                    sent = await self.senders[gateway.id].send(sim, message)
                except SendError as error:
                    failure = error
            if failure is not None:
                if not isinstance(failure, RouteError):  # the message's fault, not the phone's
                    raise failure
                await self._observe(gateway.id, False, str(failure))
                if not failure.unsent:
                    raise failure
                tried.add(sim.id)
                last = failure
                continue
            await self._observe(gateway.id, True, None)
            self.sent_by[sim_route.label] = self.sent_by.get(sim_route.label, 0) + 1
            return sent
        if avoided and not self._elsewhere(avoided):
            # Its radio failed it and no other route exists at all: failed, with that reason.
            raise SendError(
                "no-route", "the phone's radio failed it and there is no other route",
                retryable=False,
            )  # fmt: skip
        if self.twilio is not None:
            twilio_id = await self._send_twilio(self.twilio, message)
            self.sent_by["twilio"] = self.sent_by.get("twilio", 0) + 1
            return twilio_id
        reason = f"no SMS route is up ({last})" if last else "no SMS route is up"
        # Not the row's fault: the channel waits, no attempt lost.
        raise SendError("no-route", reason, retryable=True, retry_after=NO_ROUTE_WAIT)

    def _failed_by_radio(self, message: Outgoing) -> set[int]:
        """The SIMs not to use for a row a phone's radio failed: the one that failed it (the
        phone's every SIM when the report did not say which)."""
        if message.reroute_from is None:
            return set()
        name = message.reroute_from.split(PROVIDER_ID_SEPARATOR, 1)[0]
        return {
            sim.id
            for gateway in self.gateways.values()
            if gateway.name == name
            for sim in gateway.sims
            if message.reroute_slot is None or sim.slot == message.reroute_slot
        }

    def _elsewhere(self, avoided: set[int]) -> bool:
        """Another route exists (up or not): Twilio, or an enabled phone's SIM not avoided."""
        return self.twilio is not None or any(
            sim.id not in avoided
            for gateway in self.gateways.values()
            if gateway.enabled
            for sim in gateway.sims
        )

    def paced_at(self, per_second: float) -> None:
        """The dispatcher's rate for "sms" (BENKADI_SMS_RATE): it spaces the sends; the window
        as Twilio counts it is kept here, around Twilio's requests only."""
        self._twilio_window = WindowLimiter(per_second)

    async def _send_twilio(self, twilio: Channel, message: Outgoing) -> str:
        """Twilio never more in a window than it counts (the dispatcher's limiter, moved here)."""
        limiter = self._twilio_window
        if limiter is None:
            return await twilio.send(message)
        await limiter.acquire()
        try:
            return await twilio.send(message)
        finally:
            limiter.release()

    async def _observe(self, gateway_id: int, up: bool, error: str | None) -> None:
        """Count a phone's answer; persist what changes its health (and, now and then, that it
        answered)."""
        now = self.clock()
        if up:
            was_failing = self._failures.pop(gateway_id, 0) or gateway_id in self._down
            self._down.discard(gateway_id)
            if was_failing or now - self._seen_at.get(gateway_id, -SEEN_EVERY) >= SEEN_EVERY:
                self._seen_at[gateway_id] = now
                await self._persist(gateway_id, up=True, error=None, down=False)
            return
        failures = self._failures[gateway_id] = self._failures.get(gateway_id, 0) + 1
        down = failures >= self.failures_to_down
        if down and gateway_id not in self._down:
            gateway = self.gateways.get(gateway_id)
            name = gateway.name if gateway else gateway_id
            log.warning("SMS gateway %s is down after %d failures", name, failures)
            self._set_down(gateway_id)
        await self._persist(gateway_id, up=False, error=error, down=down)

    def _set_down(self, gateway_id: int) -> None:
        self._down.add(gateway_id)
        # The turns its SIMs had given out are void: back up, it starts afresh.
        gateway = self.gateways.get(gateway_id)
        for sim in gateway.sims if gateway else ():
            self._free_at.pop(sim.id, None)
        self._phone_free_at.pop(gateway_id, None)

    async def _persist(self, gateway_id: int, *, up: bool, error: str | None, down: bool) -> None:
        try:
            await store.record_health(
                self.database, gateway_id, up=up, error=error, down=down, now=utcnow()
            )
        except Exception:  # health is advisory: sending goes on
            log.warning("recording a gateway's health failed", exc_info=True)


def _secrets(gateway: Gateway) -> tuple[str, ...]:
    """The spellings of a gateway's password a log could carry: as is, and as Basic auth."""
    basic = f"{gateway.login}:{gateway.password}".encode() if gateway.login else b""
    return (gateway.password, base64.b64encode(basic).decode() if basic else "")


def _connection(gateway: Gateway) -> tuple[object, ...]:
    return (gateway.base_url, gateway.login, gateway.password, gateway.device_id)


async def reload_routes(channels: dict[str, Channel], gateway_id: int | None = None) -> None:
    """A gateway was added or removed (or one not known yet wrote): the route layer, if this
    process has one, reloads now rather than at its next round. With `gateway_id`: only when
    that gateway is not known yet."""
    router = channels.get("sms")
    if not isinstance(router, SmsRouter):
        return
    if gateway_id is not None and gateway_id in router.gateways:
        return
    try:
        await router.reload()
    except Exception:  # a busy database: its next round reloads
        log.warning("reloading the SMS routes failed", exc_info=True)


async def with_routes(
    database: Database, channels: dict[str, Channel], settings: Settings
) -> dict[str, Channel]:
    """The channels with "sms" behind the route layer: Twilio's SMS channel, if configured,
    becomes its last route. Always there, even with no phone and no Twilio (then not
    `configured`: SMS is not offered), so that a phone added later is used without a restart."""
    routed = dict(channels)
    router = SmsRouter(database, twilio=channels.get("sms"))
    router.gateways = {g.id: g for g in await store.load_gateways(database)}  # senders at start
    routed["sms"] = router
    return routed


async def sms_route_exists(database: Database, settings: Settings) -> bool:
    """Whether an SMS could go out at all: Twilio configured, or an Android phone known (up or
    not). Without, SMS rows wait in the outbox (the route layer's "no-route": no attempt lost)
    until one is added; a directory import says so of the invitations it queued."""
    if settings.twilio_enabled:
        return True
    return bool(await store.load_gateways(database))
