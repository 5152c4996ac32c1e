"""A fake Twilio Messages API speaking the real wire format, for tests and the simulator.

Point the real SDK at it with ``client.api.base_url = fake.base_url`` (and, for the Content API
of WhatsApp templates, ``client.content.base_url = fake.base_url``).

WhatsApp's rules are enforced as Twilio does: free text to a number that has not written in the
last 24 hours (as the fake saw it, or a test declared it) is accepted, then fails in its status
callback with 63016; outside the window only an approved template (ContentSid) goes. Templates
are served as the Content API's ``/v1/Content`` and ``/v1/ContentAndApprovals`` listings. Errors use Twilio's legacy
JSON error shape so the SDK raises ``TwilioRestException`` with the right ``code`` and ``status``;
status callbacks are form-encoded and signed like Twilio's (X-Twilio-Signature, HMAC-SHA1).

Media a member sent (WhatsApp/MMS) is kept as Twilio keeps it, until its Media resource is
deleted: the MediaUrl (``/2010-04-01/Accounts/AC…/Messages/MM…/Media/ME…``) wants the account's
basic auth and answers a redirect to the file (served with its content type, no auth, as
Twilio's CDN does); ``…/Media.json`` lists a message's media, ``…/Media/ME….json`` is one, and
DELETE on it answers 204, then everything about it 404. Tests queue errors on either.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import gsm0338  # noqa: F401 - registers the "gsm03.38" codec used to count segments
from aiohttp import web
from twilio.request_validator import RequestValidator

from gateway.fakes.limits import SlidingWindow

log = logging.getLogger(__name__)

# --- Provider quirks -----------------------------------------------------------------------------

API_VERSION = "2010-04-01"
MAX_BODY_LENGTH = 1600
# (HTTP status, message) per Twilio error code; "more_info" is always docs/errors/<code>.
ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource {path} was not found"),
    20429: (429, "Too Many Requests"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21654: (400, "A ContentSid must be specified if ContentVariables are provided."),
    21655: (400, "The ContentSid is Invalid"),
    21656: (400, "The ContentVariables Parameter is invalid"),
    21910: (400, "Invalid 'From' and 'To' pair. 'From' and 'To' should be of the same channel"),
}
# WhatsApp: free-form text only within 24 h of the member's last message.
WHATSAPP_WINDOW = timedelta(hours=24)
OUTSIDE_WINDOW = 63016  # "Failed to send freeform message because you are outside the window"
POLICY_VIOLATION = 63013  # a template value with a line break, a tab or more than four spaces
TOO_LONG_FOR_WHATSAPP = 63021  # a template's body with its values over 1,024 characters
WHATSAPP_TEMPLATE_MAX = 1024
_BAD_VALUE_RE = re.compile(r"[\n\t]| {5,}")
CONTENT_API_VERSION = "v1"
_CONTENT_SID_RE = re.compile(r"^HX[0-9a-fA-F]{32}$")
_VARIABLE_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
# E.164: "+" and 8–15 digits; WhatsApp addresses carry a "whatsapp:" channel prefix.
_ADDRESS_RE = re.compile(r"^(?:whatsapp:)?\+[1-9]\d{7,14}$")
# Parameters the SDK may repeat (serialize.map); always recorded as lists.
_LIST_PARAMS = frozenset({"MediaUrl", "PersistentAction"})
# A Messaging Service picks the sender later, so Twilio answers "accepted" with "from": null.
_SERVICE_SENDER = "+15005550006"
# GSM-7 vs UCS-2 segment sizes (single message, per part of a concatenated one).
_GSM7_SEGMENTS, _UCS2_SEGMENTS = (160, 153), (70, 67)


def count_segments(body: str) -> int:
    try:  # the gsm03.38 codec writes extension characters as two bytes, i.e. two septets
        units, (single, part) = len(body.encode("gsm03.38")), _GSM7_SEGMENTS
    except UnicodeEncodeError:
        units, (single, part) = len(body.encode("utf-16-le")) // 2, _UCS2_SEGMENTS
    return 1 if units <= single else math.ceil(units / part)


def _rfc2822(at: datetime) -> str:
    return format_datetime(at)  # "Thu, 24 Aug 2023 05:01:45 +0000", as Twilio writes dates


class _TwilioError(Exception):
    def __init__(self, code: int, status: int | None = None, message: str | None = None, **fmt):
        default_status, template = ERRORS.get(code, (400, "Error"))
        self.code, self.status = code, status or default_status
        self.message = message or template.format(**fmt)
        super().__init__(self.message)

    def response(self) -> web.Response:
        body = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else None
        return web.json_response(body, status=self.status, headers=headers)


@dataclass
class SentTwilioMessage:
    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    params: dict
    at: float  # time.monotonic()


class FakeTwilioAPI:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        rate_per_second: float | None = None,
        auto_callbacks: bool = False,
        callback_delay: float = 0.0,
        callbacks_before_answer: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.auto_callbacks = auto_callbacks
        self.callback_delay = callback_delay  # seconds before each automatic callback
        # Post the automatic callbacks, and wait for their answers, before answering the send
        # itself: Twilio's callbacks can reach the sender before its own REST answer does.
        self.callbacks_before_answer = callbacks_before_answer
        self.sent: list[SentTwilioMessage] = []
        self.requests: list[dict] = []  # {"method", "path", "params"} for every request
        self.callbacks: list[tuple[str, str, int]] = []  # (sid, status, HTTP status) posted
        self.throttled_count = 0
        self._rate = SlidingWindow(rate_per_second) if rate_per_second else None
        self._fail_queue: deque[_TwilioError] = deque()
        self._unsubscribed: set[str] = set()
        self._undeliverable: dict[str, int] = {}
        self._failing: dict[str, int] = {}  # WhatsApp number → error code of its "failed"
        self.clock = clock  # the window's clock: a test moves it
        self._last_inbound: dict[str, datetime] = {}  # "whatsapp:+223…" → last message in
        self._refused: dict[str, int] = {}  # sid → error its final callback carries
        self._contents: dict[str, dict] = {}  # HX sid → Content resource
        self._media: dict[str, dict] = {}  # ME sid → {"message", "content", "content_type", …}
        self._cdn: dict[str, str] = {}  # CDN token → ME sid
        self.media_deleted: list[str] = []  # ME sids deleted, in order
        self._media_fail_queue: deque[_TwilioError] = deque()
        self._delete_fail_queue: deque[_TwilioError] = deque()
        self._resources: dict[str, dict] = {}  # sid -> Message resource, kept current
        self._by_sid: dict[str, SentTwilioMessage] = {}
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._host, self._port = "127.0.0.1", 0

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        prefix = f"/{API_VERSION}/Accounts/{{account_sid}}"
        app.router.add_post(f"{prefix}/Messages.json", self._handle_create)
        app.router.add_get(f"{prefix}/Messages/{{sid}}.json", self._handle_fetch)
        media = f"{prefix}/Messages/{{sid}}/Media"
        one = f"{media}/{{media_sid:ME[0-9a-fA-F]{{32}}}}"
        app.router.add_get(f"{media}.json", self._handle_media_list)
        app.router.add_get(f"{one}.json", self._handle_media_fetch)
        app.router.add_delete(f"{one}.json", self._handle_media_delete)
        app.router.add_get(one, self._handle_media_content)
        app.router.add_get("/cdn/{token}", self._handle_cdn)
        app.router.add_get(f"/{CONTENT_API_VERSION}/Content", self._handle_contents)
        app.router.add_get(f"/{CONTENT_API_VERSION}/ContentAndApprovals", self._handle_contents)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        # A short shutdown timeout so stop() never hangs on a client's idle keep-alive.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self._host, self._port = host, self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session:
            await self._session.close()
            self._session = None
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTwilioAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    # --- test controls ---------------------------------------------------------------------------

    def fail_next(self, count: int, status: int, code: int, message: str) -> None:
        """The next `count` message creates fail with this Twilio error."""
        self._fail_queue.extend(_TwilioError(code, status, message) for _ in range(count))

    def fail_next_media(self, count: int, status: int = 503, code: int = 20503) -> None:
        """The next `count` requests for a media's content (its MediaUrl) fail so."""
        self._media_fail_queue.extend(
            _TwilioError(code, status, "Service Unavailable") for _ in range(count)
        )

    def fail_next_media_delete(self, count: int, status: int = 503, code: int = 20503) -> None:
        """The next `count` DELETEs of a Media resource fail so."""
        self._delete_fail_queue.extend(
            _TwilioError(code, status, "Service Unavailable") for _ in range(count)
        )

    def add_media(self, message_sid: str, content: bytes, content_type: str = "image/jpeg") -> str:
        """Media Twilio holds for a message a member sent; its MediaUrl."""
        sid = "ME" + uuid.uuid4().hex
        now = _rfc2822(datetime.now(UTC))
        self._media[sid] = {
            "message": message_sid, "content": content, "content_type": content_type,
            "date_created": now,
        }  # fmt: skip
        return f"{self.base_url}{self._media_path(message_sid, sid)}"

    def media_held(self, message_sid: str | None = None) -> list[str]:
        """ME sids Twilio still holds (of one message, or all)."""
        return [s for s, m in self._media.items() if message_sid in (None, m["message"])]

    def unsubscribe(self, number: str) -> None:
        self._unsubscribed.add(number)

    def resubscribe(self, number: str) -> None:
        self._unsubscribed.discard(number)

    def undeliverable(self, number: str, error_code: int = 30003) -> None:
        """Automatic callbacks for this number end in "undelivered" with `error_code`."""
        self._undeliverable[number] = error_code

    def whatsapp_failing(self, number: str, error_code: int = 63024) -> None:
        """WhatsApp messages to this number end "failed" with `error_code` in their callback
        (63024 invalid recipient, 63003 channel could not find the To address)."""
        self._failing[_whatsapp(number)] = error_code

    def declare_inbound(self, number: str, at: datetime | None = None) -> None:
        """The member wrote on WhatsApp at `at` (now by default): the 24 h window opens."""
        self._last_inbound[_whatsapp(number)] = at or self.clock()

    def inbound_params(
        self, number: str, body: str, to: str, media: tuple[tuple[bytes, str], ...] = ()
    ) -> dict[str, str]:
        """The form Twilio posts for a member's WhatsApp message, with its media (MM sid,
        NumMedia, MediaUrlN, MediaContentTypeN), the media then held here."""
        sid = ("MM" if media else "SM") + uuid.uuid4().hex
        params = {
            "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": self.account_sid,
            "From": _whatsapp(number), "To": _whatsapp(to), "Body": body,
            "NumMedia": str(len(media)), "NumSegments": "1", "SmsStatus": "received",
            "ApiVersion": API_VERSION,
        }  # fmt: skip
        for index, (content, content_type) in enumerate(media):
            params[f"MediaUrl{index}"] = self.add_media(sid, content, content_type)
            params[f"MediaContentType{index}"] = content_type
        return params

    def inside_window(self, to: str) -> bool:
        last = self._last_inbound.get(_whatsapp(to))
        return last is not None and self.clock() - last < WHATSAPP_WINDOW

    def add_template(
        self,
        name: str,
        language: str,
        body: str,
        variables: dict[str, str] | None = None,
        status: str = "approved",
    ) -> str:
        """A Content template of the account with its WhatsApp approval status; its sid."""
        sid = "HX" + uuid.uuid4().hex
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._contents[sid] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "friendly_name": name,
            "language": language,
            "variables": dict(variables or {}),
            "types": {"twilio/text": {"body": body}},
            "url": f"https://content.twilio.com/v1/Content/{sid}",
            "links": {
                "approval_fetch": f"https://content.twilio.com/v1/Content/{sid}/ApprovalRequests",
                "approval_create": (
                    f"https://content.twilio.com/v1/Content/{sid}/ApprovalRequests/whatsapp"
                ),
            },
            "date_created": now,
            "date_updated": now,
            "approval_requests": {
                "name": name,
                "category": "UTILITY",
                "content_type": "twilio/text",
                "status": status,
                "rejection_reason": "" if status != "rejected" else "Rejected by WhatsApp",
                "allow_category_change": True,
            },
        }
        return sid

    def set_template_status(self, sid: str, status: str) -> None:
        self._contents[sid]["approval_requests"]["status"] = status

    def messages_to(self, to: str) -> list[SentTwilioMessage]:
        return [m for m in self.sent if m.to == to]

    def resource(self, sid: str) -> dict:
        """The current Message resource JSON (status follows the callbacks sent)."""
        return dict(self._resources[sid])

    async def wait_for_messages(
        self,
        count: int,
        timeout: float = 5.0,
        to: str | None = None,
    ) -> list[SentTwilioMessage]:
        def matching() -> list[SentTwilioMessage]:
            return self.sent if to is None else self.messages_to(to)

        async with asyncio.timeout(timeout):
            while len(found := matching()) < count:
                self._changed.clear()
                await self._changed.wait()
        return list(found)

    async def drain_callbacks(self) -> None:
        """Wait for all automatic callbacks in flight."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def send_status_callback(
        self, sid: str, status: str, error_code: int | None = None
    ) -> int:
        """POST a signed status callback for message `sid` to its StatusCallback URL."""
        msg = self._by_sid[sid]
        if not msg.status_callback:
            raise ValueError(f"message {sid} has no StatusCallback")
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": self.account_sid,
            "From": msg.from_ or _SERVICE_SENDER,
            "To": msg.to,
            "ApiVersion": API_VERSION,
        }
        if msg.messaging_service_sid:
            params["MessagingServiceSid"] = msg.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        self._update_resource(sid, status, error_code)
        signature = RequestValidator(self.auth_token).compute_signature(msg.status_callback, params)
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": "TwilioProxy/1.1",
        }
        self._session = self._session or aiohttp.ClientSession()
        # aiohttp form-encodes a dict body as application/x-www-form-urlencoded.
        async with self._session.post(msg.status_callback, data=params, headers=headers) as resp:
            await resp.read()
            self.callbacks.append((sid, status, resp.status))
            return resp.status

    # --- HTTP ------------------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> dict:
        form = await request.post() if request.method == "POST" else request.query
        params: dict[str, Any] = {
            name: form.getall(name) if name in _LIST_PARAMS else form.getone(name) for name in form
        }
        self.requests.append({"method": request.method, "path": request.path, "params": params})
        return params

    def _authorize(self, request: web.Request) -> None:
        try:
            auth = aiohttp.BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            auth = None
        if auth is None or (auth.login, auth.password) != (self.account_sid, self.auth_token):
            raise _TwilioError(20003)
        if request.match_info.get("account_sid") != self.account_sid:
            raise _TwilioError(20404, path=request.path)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        await self._record(request)
        return _TwilioError(20404, path=request.path).response()

    async def _handle_fetch(self, request: web.Request) -> web.Response:
        await self._record(request)
        try:
            self._authorize(request)
            if request.match_info["sid"] not in self._resources:
                raise _TwilioError(20404, path=request.path)
        except _TwilioError as err:
            return err.response()
        return web.json_response(self._resources[request.match_info["sid"]])

    # --- media ---------------------------------------------------------------------------------

    def _media_path(self, message_sid: str, media_sid: str) -> str:
        return (
            f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"
        )

    def _media_resource(self, media_sid: str) -> dict:
        media = self._media[media_sid]
        return {
            "account_sid": self.account_sid,
            "content_type": media["content_type"],
            "date_created": media["date_created"],
            "date_updated": media["date_created"],
            "parent_sid": media["message"],
            "sid": media_sid,
            "uri": self._media_path(media["message"], media_sid) + ".json",
        }

    def _held(self, request: web.Request) -> str:
        """The ME sid of the request, if this message holds it; else Twilio's 404."""
        self._authorize(request)
        media_sid = request.match_info["media_sid"]
        media = self._media.get(media_sid)
        if media is None or media["message"] != request.match_info["sid"]:
            raise _TwilioError(20404, path=request.path)
        return media_sid

    async def _handle_media_list(self, request: web.Request) -> web.Response:
        params = await self._record(request)
        try:
            self._authorize(request)
        except _TwilioError as err:
            return err.response()
        message = request.match_info["sid"]
        size = int(params.get("PageSize") or 50)
        items = [self._media_resource(s) for s in self.media_held(message)][:size]
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message}/Media.json"
        return web.json_response(
            {
                "media_list": items, "end": max(len(items) - 1, 0), "start": 0, "page": 0,
                "page_size": size, "first_page_uri": f"{uri}?PageSize={size}&Page=0",
                "next_page_uri": None, "previous_page_uri": None,
                "uri": f"{uri}?PageSize={size}&Page=0",
            }
        )  # fmt: skip

    async def _handle_media_fetch(self, request: web.Request) -> web.Response:
        await self._record(request)
        try:
            media_sid = self._held(request)
        except _TwilioError as err:
            return err.response()
        return web.json_response(self._media_resource(media_sid))

    async def _handle_media_delete(self, request: web.Request) -> web.Response:
        await self._record(request)
        try:
            media_sid = self._held(request)
            if self._delete_fail_queue:
                raise self._delete_fail_queue.popleft()
        except _TwilioError as err:
            return err.response()
        del self._media[media_sid]
        for token in [t for t, s in self._cdn.items() if s == media_sid]:
            del self._cdn[token]
        self.media_deleted.append(media_sid)
        return web.Response(status=204)

    async def _handle_media_content(self, request: web.Request) -> web.Response:
        """The MediaUrl: a redirect to the file on the CDN, as Twilio answers it."""
        await self._record(request)
        try:
            media_sid = self._held(request)
            if self._media_fail_queue:
                raise self._media_fail_queue.popleft()
        except _TwilioError as err:
            return err.response()
        token = uuid.uuid4().hex
        self._cdn[token] = media_sid
        raise web.HTTPTemporaryRedirect(f"{self.base_url}/cdn/{token}")

    async def _handle_cdn(self, request: web.Request) -> web.Response:
        await self._record(request)
        media = self._media.get(self._cdn.get(request.match_info["token"], ""))
        if media is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=media["content"], content_type=media["content_type"])

    async def _handle_contents(self, request: web.Request) -> web.Response:
        """/v1/Content and /v1/ContentAndApprovals, paged as Twilio's v1 lists are (meta.key)."""
        params = await self._record(request)
        try:
            self._authorize_account(request)
        except _TwilioError as err:
            return err.response()
        with_approvals = request.path.endswith("ContentAndApprovals")
        try:
            size = max(1, min(1000, int(params.get("PageSize") or 50)))
            page = max(0, int(params.get("Page") or 0))
        except ValueError:
            return _TwilioError(20001, 400, "Invalid paging").response()
        items = [
            item if with_approvals else {k: v for k, v in item.items() if k != "approval_requests"}
            for item in self._contents.values()
        ]
        chunk = items[page * size : (page + 1) * size]
        url = f"{self.base_url}{request.path}"
        more = (page + 1) * size < len(items)
        key = "contents"
        return web.json_response(
            {
                key: chunk,
                "meta": {
                    "page": page,
                    "page_size": size,
                    "first_page_url": f"{url}?PageSize={size}&Page=0",
                    "previous_page_url": (
                        f"{url}?PageSize={size}&Page={page - 1}" if page else None
                    ),
                    "url": f"{url}?PageSize={size}&Page={page}",
                    "next_page_url": f"{url}?PageSize={size}&Page={page + 1}" if more else None,
                    "key": key,
                },
            }
        )

    def _authorize_account(self, request: web.Request) -> None:
        """The Content API has no account in its path: the credentials alone."""
        try:
            auth = aiohttp.BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            auth = None
        if auth is None or (auth.login, auth.password) != (self.account_sid, self.auth_token):
            raise _TwilioError(20003)

    async def _handle_create(self, request: web.Request) -> web.Response:
        params = await self._record(request)
        try:
            self._authorize(request)
            msg = self._accept(params)
        except _TwilioError as err:
            if err.status == 429:
                self.throttled_count += 1
            return err.response()
        if self.auto_callbacks and msg.status_callback and self.callbacks_before_answer:
            await self._auto_callbacks(msg)
        elif self.auto_callbacks and msg.status_callback:
            task = asyncio.create_task(self._auto_callbacks(msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response(self._resources[msg.sid], status=201)

    def _accept(self, params: dict) -> SentTwilioMessage:
        if self._fail_queue:
            raise self._fail_queue.popleft()
        to = params.get("To") or ""
        from_ = params.get("From") or None
        service = params.get("MessagingServiceSid") or None
        body = params.get("Body") or ""
        if not to:
            raise _TwilioError(21604)
        if not _ADDRESS_RE.match(to):
            raise _TwilioError(21211, to=to)
        if not from_ and not service:
            raise _TwilioError(21603)
        if not body and not params.get("MediaUrl") and not params.get("ContentSid"):
            raise _TwilioError(21602)
        if len(body) > MAX_BODY_LENGTH:
            raise _TwilioError(21617)
        if from_ and from_.startswith("whatsapp:") != to.startswith("whatsapp:"):
            raise _TwilioError(21910)
        if to in self._unsubscribed:
            raise _TwilioError(21610)
        content = self._content(params)
        if self._rate and not self._rate.admit(time.monotonic()):
            raise _TwilioError(20429)
        refused = self._whatsapp_refusal(to, content)
        if content is not None:
            body = content["body"]

        sid = "SM" + uuid.uuid4().hex
        callback = params.get("StatusCallback") or None
        msg = SentTwilioMessage(sid, to, from_, service, body, callback, params, time.monotonic())
        if refused is not None:
            self._refused[sid] = refused
        now = _rfc2822(datetime.now(UTC))
        path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        self._resources[sid] = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": service,
            "num_media": str(len(params.get("MediaUrl") or [])),
            "num_segments": str(count_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {
                "media": f"{path}/Media.json",
                "feedback": f"{path}/Feedback.json",
            },
            "to": to,
            "uri": f"{path}.json",
        }
        self._by_sid[sid] = msg
        self.sent.append(msg)
        self._changed.set()
        return msg

    def _content(self, params: dict) -> dict | None:
        """The template a message names (ContentSid), its variables filled in; None for text."""
        sid, raw = params.get("ContentSid"), params.get("ContentVariables")
        if not sid:
            if raw:
                raise _TwilioError(21654)
            return None
        if not _CONTENT_SID_RE.match(sid) or sid not in self._contents:
            raise _TwilioError(21655)
        template = self._contents[sid]
        try:
            values = json.loads(raw) if raw else {}
        except ValueError:
            raise _TwilioError(21656) from None
        if not isinstance(values, dict) or not all(
            isinstance(v, str) and v for v in values.values()
        ):
            raise _TwilioError(21656)
        text = template["types"]["twilio/text"]["body"]
        needed = set(_VARIABLE_RE.findall(text))
        if needed - set(values):
            raise _TwilioError(21656)
        body = _VARIABLE_RE.sub(lambda m: values[m.group(1)], text)
        refusal = None  # what WhatsApp says once Twilio hands it on: in the final callback
        if any(_BAD_VALUE_RE.search(v) for v in values.values()):
            refusal = POLICY_VIOLATION
        elif len(body) > WHATSAPP_TEMPLATE_MAX:
            refusal = TOO_LONG_FOR_WHATSAPP
        status = template["approval_requests"]["status"]
        return {"sid": sid, "body": body, "status": status, "refusal": refusal}

    def _whatsapp_refusal(self, to: str, content: dict | None) -> int | None:
        """The error the message's final callback will carry, if WhatsApp will not take it."""
        if not to.startswith("whatsapp:"):
            return None
        if to in self._failing:
            return self._failing[to]
        if content is not None and content["refusal"]:
            return int(content["refusal"])
        approved = content is not None and content["status"] == "approved"
        if not approved and not self.inside_window(to):
            return OUTSIDE_WINDOW
        return None

    def _update_resource(self, sid: str, status: str, error_code: int | None) -> None:
        resource = self._resources[sid]
        now = _rfc2822(datetime.now(UTC))
        resource.update(status=status, date_updated=now, error_code=error_code)
        if status == "sent" and resource["date_sent"] is None:
            resource["date_sent"] = now
        if resource["from"] is None:
            resource["from"] = _SERVICE_SENDER

    async def _auto_callbacks(self, msg: SentTwilioMessage) -> None:
        refused = self._refused.get(msg.sid)
        error_code = self._undeliverable.get(msg.to)
        final = ("undelivered", error_code) if error_code else ("delivered", None)
        steps = [("failed", refused)] if refused else [("sent", None), final]
        for status, code in steps:
            await asyncio.sleep(self.callback_delay)
            try:
                await self.send_status_callback(msg.sid, status, code)
            except (aiohttp.ClientError, OSError) as exc:  # receiver down: log, like Twilio
                log.warning("status callback %s for %s failed: %r", status, msg.sid, exc)
                self.callbacks.append((msg.sid, status, 0))
                return


def _whatsapp(number: str) -> str:
    return number if number.startswith("whatsapp:") else "whatsapp:" + number
