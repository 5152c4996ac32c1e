"""SMS and WhatsApp through Twilio: one code, two channels that differ by their settings.

In: the messages webhook (members writing) and the status webhook (what became of a message
sent), both signed with the account's auth token (X-Twilio-Signature over the URL and the form).
Out: the twilio SDK's `messages.create`, asking for a status callback that carries the outbox
row's id, so that the callback finds its row by primary key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.model import Inbound, Received
from bot.vocabulary.phones import normalise_phone
from gateway.channels.base import (
    CREDENTIALS_PAUSE,
    Malformed,
    Outgoing,
    Parsed,
    SendError,
    StatusReport,
    WebhookRequest,
    redact,
)
from storage.outbox.states import AddressState, OutboxStatus

log = logging.getLogger(__name__)

MESSAGES_PATH = "/webhooks/twilio/sms"  # also WhatsApp's: the From prefix tells them apart
STATUS_PATH = "/webhooks/twilio/status"
FORM = "application/x-www-form-urlencoded"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@dataclass(frozen=True)
class ChannelSettings:
    address_prefix: str  # how Twilio writes this channel's addresses: "whatsapp:+223…"


# The channels Twilio carries, told apart by the prefix of their addresses.
CHANNELS: dict[str, ChannelSettings] = {
    "sms": ChannelSettings(address_prefix=""),
    "whatsapp": ChannelSettings(address_prefix="whatsapp:"),
}


def channel_of(address: str) -> str:
    prefixed = (
        name
        for name, c in CHANNELS.items()
        if c.address_prefix and address.startswith(c.address_prefix)
    )
    return next(prefixed, "sms")


# --- error codes (https://www.twilio.com/docs/api/errors) -------------------------------------
# What a code says about the address, not the moment: the row fails, the address is marked.
ADDRESS_STATE_BY_CODE: dict[int, AddressState] = {
    21610: AddressState.OPTED_OUT,  # the recipient replied STOP
    21211: AddressState.INVALID,  # invalid To
    21614: AddressState.INVALID,  # not a mobile number
    21612: AddressState.INVALID,  # cannot route to this number
    21408: AddressState.INVALID,  # region not enabled
    63024: AddressState.INVALID,  # WhatsApp: invalid message recipient
    63003: AddressState.INVALID,  # WhatsApp: the channel could not find the To address
}
# WhatsApp cannot carry this message to this member, which says nothing against their other
# channels: a broadcast row goes once on the next one. 63016: outside the 24 h window (free
# text refused); 63024/63003: not a WhatsApp number; 63013/63021: a template WhatsApp would not
# carry (a value on several lines, too long) — SMS carries the text.
FALL_BACK_CODES = frozenset({63016, 63024, 63003, 63013, 63021})
RETRYABLE_CODES = frozenset({20500, 20503, 30001})  # server errors, queue overflow
TOO_MANY_REQUESTS = 20429
BAD_CREDENTIALS = 20003
THROTTLE_PAUSE = 1.0  # seconds the channel slows down after a 429

# Status callbacks: MessageStatus → outbox status. Intermediate ones (queued, sending,
# accepted, scheduled…) change nothing.
FINAL_STATUS: dict[str, OutboxStatus] = {
    "sent": OutboxStatus.SENT,
    "delivered": OutboxStatus.DELIVERED,
    "read": OutboxStatus.DELIVERED,
    "undelivered": OutboxStatus.UNDELIVERED,
    "failed": OutboxStatus.FAILED,
}


def classify(error: Exception, secrets: tuple[str, ...] = ()) -> SendError:
    """A send failure, once: the dispatcher decides from the flags of the SendError only."""
    if isinstance(error, TwilioRestException | TwilioServiceException):
        status = int(error.status or 0)
        code = int(error.code or status)
        message = redact(
            error.msg if isinstance(error, TwilioRestException) else error.title, secrets
        )
        if code in ADDRESS_STATE_BY_CODE or code in FALL_BACK_CODES:
            state = ADDRESS_STATE_BY_CODE.get(code)
            return SendError(
                str(code),
                message,
                retryable=False,
                address_state=state,
                fall_back=code in FALL_BACK_CODES,
            )
        if status == 401 or code == BAD_CREDENTIALS:
            log.error(
                "Twilio refused the credentials (%s): check TWILIO_ACCOUNT_SID/AUTH_TOKEN", code
            )
            return SendError(str(code), message, retryable=True, retry_after=CREDENTIALS_PAUSE)
        if code == TOO_MANY_REQUESTS or status == 429:
            # The row backs off like any retryable failure; the channel also pauses a moment so
            # the rows behind it do not hit the same wall.
            return SendError(str(code), message, retryable=True, pause=THROTTLE_PAUSE)
        retryable = code in RETRYABLE_CODES or status >= 500
        return SendError(str(code), message, retryable=retryable)
    if isinstance(error, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return SendError("network", redact(repr(error), secrets), retryable=True)
    return SendError("error", redact(repr(error), secrets), retryable=True)


# --- in ---------------------------------------------------------------------------------------
class _SignedWebhook:
    content_type: ClassVar[str | None] = FORM  # signed over form parameters: nothing else is

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def verify(self, request: WebhookRequest) -> bool:
        """Twilio signs the public URL and every posted parameter, including ones added later."""
        signature = request.headers.get("X-Twilio-Signature")
        try:
            params = request.form
        except Malformed:
            return False
        return bool(signature) and self._validator.validate(request.url, params, signature)


def parse_message(params: Mapping[str, str]) -> Received:
    """A member's message (SMS, WhatsApp, MMS) → Received."""
    sid, sender = params.get("MessageSid"), params.get("From")
    if not sid or not sender:
        raise Malformed("malformed Twilio message: MessageSid and From are required")
    channel = channel_of(sender)
    number = sender.removeprefix(CHANNELS[channel].address_prefix)
    # Twilio sends E.164 already; parsing with phonenumbers costs more than the rest of the
    # request, so it is kept for what does not look like E.164 (short codes stay as given).
    address = number if E164.match(number) else (normalise_phone(number) or number)
    body = params.get("Body", "")
    # WhatsApp/MMS: the first attachment is a report's photo (fetched, cleaned, then deleted at
    # Twilio: gateway/inbound/media.py); the others are only deleted at Twilio.
    count = params.get("NumMedia") or "0"
    found = range(min(int(count), 10)) if count.isdigit() else range(0)
    urls = [url for n in found if (url := params.get(f"MediaUrl{n}"))]
    inbound = Inbound(channel, body, media=urls[0] if urls else None, other_media=tuple(urls[1:]))
    return Received(channel, address, sid, inbound)


class MessagesWebhook(_SignedWebhook):
    path: ClassVar[str] = MESSAGES_PATH

    def parse(self, request: WebhookRequest) -> Parsed:
        return Parsed((parse_message(request.form),))

    def answer(self, parsed: Parsed, notice: str | None) -> web.Response:
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")  # no reply in TwiML


def parse_status(params: Mapping[str, str], query: Mapping[str, str]) -> StatusReport | None:
    """A status callback → StatusReport; None for intermediate statuses (queued, sending…)."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        raise Malformed("MessageSid and MessageStatus are required")
    outbox_id = query.get("id")
    if outbox_id is not None and not outbox_id.isdigit():
        raise Malformed("id is the outbox row's number")
    final = FINAL_STATUS.get(status)
    if final is None:
        return None
    error_code = params.get("ErrorCode") or None
    code = int(error_code) if error_code and error_code.isdigit() else None
    state = ADDRESS_STATE_BY_CODE.get(code) if code is not None else None
    return StatusReport(
        provider_id=sid,
        status=final,
        outbox_id=int(outbox_id) if outbox_id is not None else None,
        error_code=error_code,
        error_message=f"Twilio {status}" if error_code else None,
        address_state=state,
        fall_back=code in FALL_BACK_CODES
        and final in (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED),
    )


class StatusWebhook(_SignedWebhook):
    path: ClassVar[str] = STATUS_PATH

    def parse(self, request: WebhookRequest) -> Parsed:
        report = parse_status(request.form, request.query)
        return Parsed((report,) if report is not None else ())

    def answer(self, parsed: Parsed, notice: str | None) -> web.Response:
        return web.Response(status=204)


# --- out --------------------------------------------------------------------------------------
class TwilioChannel:
    """One instance per channel: "sms" and "whatsapp" share the code with other settings."""

    def __init__(
        self,
        name: str,
        account_sid: str,
        auth_token: str,
        api_url: str,
        status_callback: str | None,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        http_client: AsyncHttpClient | None = None,  # tests replay recorded answers through it
    ) -> None:
        self.name = name
        self._prefix = CHANNELS[name].address_prefix
        self._credentials = (account_sid, auth_token)
        self._api_url = api_url
        self._status_callback = status_callback  # the status webhook's public URL
        self._from = from_
        self._service = messaging_service_sid
        self._given_http = http_client
        self._http: AsyncHttpClient | None = None
        self._client: Client | None = None

    async def start(self) -> None:
        # Built inside the running loop; max_retries stays None: a retried POST can send twice.
        self._http = self._given_http or AsyncTwilioHttpClient(timeout=15)
        self._client = Client(*self._credentials, http_client=self._http)
        self._client.api.base_url = self._api_url

    async def stop(self) -> None:
        if isinstance(self._http, AsyncTwilioHttpClient) and self._given_http is None:
            await self._http.close()  # a client given is its giver's to close

    def status_callback_url(self, outbox_id: int) -> str | None:
        """Where Twilio reports on this row: signed with its query, so the id cannot be forged."""
        if not self._status_callback:
            return None
        return f"{self._status_callback}?{urlencode({'id': outbox_id})}"

    async def send(self, message: Outgoing) -> str:
        assert self._client is not None, "start() first"
        prefix = self._prefix
        params: dict[str, Any] = {"to": prefix + message.recipient}
        if message.content_sid:  # a template: WhatsApp outside the 24 h window
            params["content_sid"] = message.content_sid
            params["content_variables"] = json.dumps(dict(message.content_variables or {}))
        else:
            params["body"] = message.body
        if self._service:
            params["messaging_service_sid"] = self._service
        if self._from:
            params["from_"] = self._from if self._from.startswith(prefix) else prefix + self._from
        callback = self.status_callback_url(message.outbox_id)
        if callback:
            params["status_callback"] = callback
        try:
            sent = await self._client.messages.create_async(**params)
        except Exception as error:  # every failure is classified once, here
            raise classify(error, (self._credentials[1],)) from error
        return str(sent.sid)
