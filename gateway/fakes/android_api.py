"""A fake SMS Gateway for Android (capcom6/android-sms-gateway) speaking its wire format.

One instance is one phone: its REST API as the app serves it (local server: basic auth, paths at
the root; cloud or private server: the same paths under /3rdparty/v1, a bearer token), its SIMs,
its sending limit, and the signed webhooks it posts back (sms:sent, sms:delivered, sms:failed,
sms:received, system:ping). The official client (`android_sms_gateway.AsyncAPIClient`) is pointed
at `base_url`; tests make it go offline, hang or fail, and "text" it as a member would.

Wire facts reproduced here (the app's swagger, docs-web):
- POST /messages (also /message, the older path) takes {id?, textMessage{text} | message,
  phoneNumbers, simNumber?, withDeliveryReport, ttl?…} and answers 202 with the message state;
  an id already known is 409 "Message with the same ID already exists".
- GET /messages/{id} the state; /webhooks list, register (POST: a known id replaces), DELETE;
  GET /health {"status": "pass"|"fail", "checks": {…}}.
- A webhook body is {deviceId, event, id (the event's id), payload, webhookId}, signed with
  X-Signature = hex HMAC-SHA256(key, raw body + X-Timestamp), X-Timestamp in Unix seconds. A non-2xx
  answer is retried by the app (here: `retries` times, at once).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from gateway.fakes.limits import SlidingWindow

log = logging.getLogger(__name__)

CLOUD_PREFIX = "/3rdparty/v1"
EVENTS = frozenset(
    {
        "sms:received", "sms:data-received", "sms:sent", "sms:delivered", "sms:failed",
        "sms:cancelled", "system:ping", "mms:received", "mms:downloaded", "app:started",
    }
)  # fmt: skip
_PHONE = re.compile(r"^\+?[1-9]\d{7,14}$")


def sign(key: str, body: bytes, timestamp: str) -> str:
    """The app's signature: hex HMAC-SHA256 over the raw body followed by the timestamp."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


@dataclass
class SentSms:
    """One message the phone accepted (and, unless failed, handed to the radio)."""

    id: str
    to: str
    text: str
    sim: int
    at: float  # time.monotonic() when accepted
    with_delivery_report: bool
    state: str = "Pending"
    error: str | None = None


@dataclass
class Hook:
    id: str
    url: str
    event: str
    device_id: str | None = None


@dataclass
class Posted:
    """A webhook request the phone made, and what our server answered."""

    event: str
    body: dict[str, Any]
    status: int


@dataclass
class FakeAndroidGateway:
    login: str | None = "sms"
    password: str = "fake-password"
    sims: dict[int, str] = field(default_factory=lambda: {1: "+22370000001"})
    device_id: str = field(default_factory=lambda: secrets.token_hex(10))
    signing_key: str = "fake-signing-key"
    cloud: bool = False  # serve under /3rdparty/v1 and take the password as a bearer token
    limit: int | None = None  # at most `limit` messages accepted in `window` seconds
    window: float = 60.0
    retries: int = 2  # webhook redeliveries after a non-2xx answer
    auto_report: bool = True  # post sms:sent (and sms:delivered when asked) after each send
    sent: list[SentSms] = field(default_factory=list)
    posted: list[Posted] = field(default_factory=list)
    refused: int = 0  # sends refused over the limit
    answer_delay: float = 0.0  # seconds between taking a message and answering (a slow link)
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.hooks: dict[str, Hook] = {}
        self._messages: dict[str, SentSms] = {}
        self._window = SlidingWindow(1.0)
        if self.limit is not None:
            self._window.window, self._window.capacity = self.window, self.limit
        self._fail: list[tuple[int, str]] = []  # (HTTP status, message) for the next sends
        self._fail_numbers: dict[str, str] = {}  # number → the radio's failure reason
        self._fail_sims: dict[int, str] = {}  # SIM slot → its radio's failure reason
        self._answering = asyncio.Event()  # cleared: requests hang until it is set again
        self._answering.set()
        self._taking = asyncio.Event()  # cleared: sends hang untaken, other calls answer
        self._taking.set()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}" + (CLOUD_PREFIX if self.cloud else "")

    async def start(self) -> None:
        app = web.Application()
        prefix = CLOUD_PREFIX if self.cloud else ""
        app.router.add_post(prefix + "/messages", self._send)
        app.router.add_post(prefix + "/message", self._send)
        app.router.add_get(prefix + "/messages/{id}", self._state)
        app.router.add_get(prefix + "/message/{id}", self._state)
        app.router.add_get(prefix + "/webhooks", self._list_hooks)
        app.router.add_post(prefix + "/webhooks", self._add_hook)
        app.router.add_delete(prefix + "/webhooks/{id}", self._delete_hook)
        app.router.add_get(prefix + "/health", self._health)
        app.router.add_get("/_fake/stats", self._stats)  # not the app's: for bench/android.py
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await self._listen()
        self._http = aiohttp.ClientSession()

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()
        if not self.port:
            server = self._site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        self._answering.set()  # hung and stalled requests end, so the server can close
        self._taking.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests make the phone do --------------------------------------------------------
    async def go_offline(self) -> None:
        """The phone leaves the network: new connections are refused, open ones dropped
        unanswered, no webhook goes out."""
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def come_back(self) -> None:
        if self._site is None:
            await self._listen()

    def hang(self, on: bool = True) -> None:
        """Accept connections and never answer (a phone asleep behind a flaky Wi-Fi)."""
        if on:
            self._answering.clear()
        else:
            self._answering.set()

    def stall_sends(self, on: bool = True) -> None:
        """Sends hang untaken (a stuck radio queue) while the rest of the API answers."""
        if on:
            self._taking.clear()
        else:
            self._taking.set()

    @property
    def online(self) -> bool:
        return self._site is not None

    def fail_next(self, count: int, status: int = 500, message: str = "Internal Server Error"):
        self._fail += [(status, message)] * count

    def fail_number(self, number: str, reason: str = "RESULT_ERROR_GENERIC_FAILURE") -> None:
        """Sends to this number are accepted, then the radio fails them (sms:failed)."""
        self._fail_numbers[number] = reason

    def fail_sim(self, slot: int, reason: str | None = "RESULT_ERROR_NO_SERVICE") -> None:
        """Sends from this SIM are accepted, then its radio fails them (sms:failed): no signal
        on that operator, say. None: it works again."""
        if reason is None:
            self._fail_sims.pop(slot, None)
        else:
            self._fail_sims[slot] = reason

    async def text(self, sender: str, message: str, sim: int = 1) -> list[Posted]:
        """A member texts the SIM in `sim`: the app posts sms:received to its webhooks."""
        payload = {
            "messageId": hashlib.sha1(f"{sender}{message}".encode()).hexdigest()[:16],
            "message": message,
            "phoneNumber": sender,
            "sender": sender,
            "recipient": self.sims.get(sim),
            "simNumber": sim,
            "receivedAt": datetime.now(UTC).isoformat(),
        }
        return await self.emit("sms:received", payload)

    async def ping(self) -> list[Posted]:
        return await self.emit("system:ping", {"health": await self._health_body()})

    async def emit(self, event: str, payload: dict[str, Any]) -> list[Posted]:
        """Post one event to every webhook registered for it, signed, retried on non-2xx."""
        if not self.online:
            return []
        posted = []
        for hook in [h for h in self.hooks.values() if h.event == event]:
            body = {
                "deviceId": self.device_id,
                "event": event,
                "id": uuid.uuid4().hex,
                "payload": payload,
                "webhookId": hook.id,
            }
            posted.append(await self._post(hook.url, event, body))
        return posted

    async def _post(self, url: str, event: str, body: dict[str, Any]) -> Posted:
        assert self._http is not None
        raw = json.dumps(body).encode()
        status = 0
        for _ in range(1 + self.retries):
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Signature": sign(self.signing_key, raw, timestamp),
                "X-Timestamp": timestamp,
            }
            try:
                async with self._http.post(url, data=raw, headers=headers) as response:
                    status = response.status
            except aiohttp.ClientError:
                status = 0
            if 200 <= status < 300:
                break
        done = Posted(event, body, status)
        self.posted.append(done)
        self._changed.set()
        return done

    async def wait_for(self, count: int, timeout: float = 5.0, to: str | None = None):
        """The first `count` messages sent (to one number, if given), waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.sent if to is None or m.to == to]
            if len(found) >= count:
                return found[:count]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(found)} of {count} messages sent")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.1))
            except TimeoutError:
                pass

    async def reports_done(self, timeout: float = 5.0) -> None:
        """Every webhook the sends caused has been posted."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    # --- the API -----------------------------------------------------------------------------
    def _authorised(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        if self.cloud:
            expected = f"Bearer {self.password}"
        else:
            credentials = base64.b64encode(f"{self.login}:{self.password}".encode()).decode()
            expected = f"Basic {credentials}"
        return hmac.compare_digest(given, expected)

    async def _guard(self, request: web.Request) -> None:
        await self._answering.wait()
        if request.transport is None or request.transport.is_closing():
            raise web.HTTPServiceUnavailable()  # the caller gave up while the phone hung
        if not self.online:  # a kept-alive connection to a phone that left: dropped
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()
        if not self._authorised(request):
            raise _error(401, "Unauthorized")

    async def _send(self, request: web.Request) -> web.Response:
        await self._guard(request)
        await self._taking.wait()
        if self._fail:
            status, message = self._fail.pop(0)
            raise _error(status, message)
        try:
            body = await request.json()
        except ValueError:
            raise _error(400, "invalid JSON") from None
        text = (body.get("textMessage") or {}).get("text") or body.get("message")
        numbers = body.get("phoneNumbers") or []
        if not text or not numbers:
            raise _error(400, "message and phoneNumbers are required")
        sim = body.get("simNumber") or 1
        if sim not in self.sims:
            raise _error(400, f"invalid SIM number {sim}")
        if request.query.get("skipPhoneValidation") != "true":
            bad = [n for n in numbers if not _PHONE.match(n)]
            if bad:
                raise _error(400, f"invalid phone number: {bad[0]}")
        message_id = body.get("id") or uuid.uuid4().hex
        if message_id in self._messages:
            raise _error(409, "Message with the same ID already exists")
        now = time.monotonic()
        if self.limit is not None and not self._window.admit(now):
            self.refused += 1
            raise _error(429, "Too Many Requests")
        report = bool(body.get("withDeliveryReport", True))
        for number in numbers:
            sms = SentSms(message_id, number, text, sim, now, report)
            self.sent.append(sms)
        self._messages[message_id] = sms
        self._changed.set()
        if self.auto_report:
            task = asyncio.create_task(self._report(sms))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self.answer_delay:  # taken, but the answer comes late: the caller may time out
            await asyncio.sleep(self.answer_delay)
        return web.json_response(self._state_body(sms), status=202)

    async def _report(self, sms: SentSms) -> None:
        """The radio's verdict, as the app reports it: sent then delivered, or failed."""
        await asyncio.sleep(0)
        base = {"messageId": sms.id, "phoneNumber": sms.to, "simNumber": sms.sim}
        reason = self._fail_numbers.get(sms.to) or self._fail_sims.get(sms.sim)
        stamp = datetime.now(UTC).isoformat()
        if reason is not None:
            sms.state, sms.error = "Failed", reason
            await self.emit("sms:failed", {**base, "failedAt": stamp, "reason": reason})
            return
        sms.state = "Sent"
        await self.emit("sms:sent", {**base, "partsCount": 1, "sentAt": stamp})
        if sms.with_delivery_report:
            sms.state = "Delivered"
            await self.emit("sms:delivered", {**base, "deliveredAt": stamp})

    def _state_body(self, sms: SentSms) -> dict[str, Any]:
        recipients = [
            {"phoneNumber": m.to, "state": m.state, "error": m.error}
            for m in self.sent
            if m.id == sms.id
        ]
        return {
            "id": sms.id,
            "deviceId": self.device_id,
            "state": sms.state,
            "isHashed": False,
            "isEncrypted": False,
            "recipients": recipients,
            "states": {sms.state: datetime.now(UTC).isoformat()},
        }

    async def _state(self, request: web.Request) -> web.Response:
        await self._guard(request)
        sms = self._messages.get(request.match_info["id"])
        if sms is None:
            raise _error(404, "message not found")
        return web.json_response(self._state_body(sms))

    async def _list_hooks(self, request: web.Request) -> web.Response:
        await self._guard(request)
        return web.json_response(
            [
                {"id": h.id, "url": h.url, "event": h.event, "deviceId": h.device_id}
                for h in self.hooks.values()
            ]
        )

    async def _add_hook(self, request: web.Request) -> web.Response:
        await self._guard(request)
        try:
            body = await request.json()
        except ValueError:
            raise _error(400, "invalid JSON") from None
        url, event = body.get("url"), body.get("event")
        if not url or event not in EVENTS:
            raise _error(400, "url and a known event are required")
        hook = Hook(body.get("id") or uuid.uuid4().hex, url, event, body.get("deviceId"))
        self.hooks[hook.id] = hook  # a known id: replaced
        answer = {"id": hook.id, "url": hook.url, "event": hook.event}
        return web.json_response(answer, status=201)

    async def _delete_hook(self, request: web.Request) -> web.Response:
        await self._guard(request)
        self.hooks.pop(request.match_info["id"], None)
        return web.Response(status=204)

    async def _health_body(self) -> dict[str, Any]:
        status = "fail" if self._fail else "pass"
        return {
            "status": status,
            "version": "1.x-fake",
            "releaseId": 1,
            "checks": {
                "messages:failed": {
                    "status": "pass",
                    "description": "Failed messages for last hour",
                    "observedValue": sum(m.state == "Failed" for m in self.sent),
                    "observedUnit": "messages",
                },
            },
        }

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"sent": len(self.sent), "refused": self.refused, "to": [m.to for m in self.sent]}
        )

    async def _health(self, request: web.Request) -> web.Response:
        await self._guard(request)
        return web.json_response(await self._health_body())


def _error(status: int, message: str) -> web.HTTPException:
    """The app's error shape: {"message": …}, with the status it uses."""
    body = json.dumps({"message": message})
    return _STATUS[status](text=body, content_type="application/json")


_STATUS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    429: web.HTTPTooManyRequests,
    500: web.HTTPInternalServerError,
    502: web.HTTPBadGateway,
    503: web.HTTPServiceUnavailable,
}
