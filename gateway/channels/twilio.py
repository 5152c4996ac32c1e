"""SMS and WhatsApp through Twilio: signed inbound webhooks, sending with the twilio SDK."""

from __future__ import annotations

import asyncio
import logging
import re

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.model import Inbound
from bot.service import Received
from bot.vocabulary.phones import normalise_phone
from gateway.channels.base import CREDENTIALS_PAUSE, SendError

log = logging.getLogger(__name__)

WHATSAPP_PREFIX = "whatsapp:"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

# Twilio error codes that say something about the address, not the moment.
ADDRESS_STATE_BY_CODE = {
    21610: "opted_out",  # recipient replied STOP
    21211: "invalid",  # invalid To
    21614: "invalid",  # not a mobile number
    21612: "invalid",  # cannot route to this number
    21408: "invalid",  # region not enabled
}
RETRYABLE_CODES = {20500, 20503, 30001}  # server errors, queue overflow
TOO_MANY_REQUESTS = 20429
BAD_CREDENTIALS = 20003
THROTTLE_PAUSE = 1.0  # seconds

# Status callbacks: MessageStatus → outbox status. Intermediate ones change nothing.
FINAL_STATUS = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}


class SignatureError(Exception):
    pass


def verify_signature(auth_token: str, url: str, params, signature: str | None) -> None:
    """Twilio signs the public URL and every posted parameter, including ones added later."""
    if not signature or not RequestValidator(auth_token).validate(url, params, signature):
        raise SignatureError("bad X-Twilio-Signature")


def parse_inbound(params) -> Received:
    """A Twilio inbound message webhook → Received. Raises KeyError/ValueError when malformed."""
    sid, sender = params["MessageSid"], params["From"]
    if not sid or not sender:
        raise ValueError("MessageSid and From are required")
    channel = "whatsapp" if sender.startswith(WHATSAPP_PREFIX) else "sms"
    number = sender.removeprefix(WHATSAPP_PREFIX)
    # Twilio sends E.164 already; parsing with phonenumbers costs more than the rest of the
    # request, so it is kept for what does not look like E.164 (short codes stay as given).
    address = number if E164.match(number) else (normalise_phone(number) or number)
    body = params.get("Body", "")
    # WhatsApp/MMS: the first attachment's URL is kept (a report's photo); fetched by no one.
    media = params.get("MediaUrl0") if (params.get("NumMedia") or "0") != "0" else None
    return Received(channel, address, sid, Inbound(channel, body, media=media or None))


def classify(error: Exception) -> SendError:
    if isinstance(error, TwilioRestException):
        code = error.code or error.status
        if code in ADDRESS_STATE_BY_CODE:
            return SendError(
                str(code), error.msg, retryable=False, address_state=ADDRESS_STATE_BY_CODE[code]
            )
        if error.status == 401 or code == BAD_CREDENTIALS:
            log.error(
                "Twilio refused the credentials (%s): check TWILIO_ACCOUNT_SID/AUTH_TOKEN", code
            )
            return SendError(str(code), error.msg, retryable=True, retry_after=CREDENTIALS_PAUSE)
        if code == TOO_MANY_REQUESTS or error.status == 429:
            # The row backs off like any retryable failure; the channel also pauses a moment so
            # the rows behind it do not hit the same wall.
            return SendError(str(code), error.msg, retryable=True, pause=THROTTLE_PAUSE)
        retryable = code in RETRYABLE_CODES or error.status >= 500
        return SendError(str(code), error.msg, retryable=retryable)
    if isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return SendError("network", repr(error), retryable=True)
    return SendError("error", repr(error), retryable=True)


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
    ) -> None:
        self.name = name
        self._credentials = (account_sid, auth_token)
        self._api_url = api_url
        self._status_callback = status_callback
        self._from = from_
        self._service = messaging_service_sid
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    async def start(self) -> None:
        # Built inside the running loop; max_retries stays None: a retried POST can send twice.
        self._http = AsyncTwilioHttpClient(timeout=15)
        self._client = Client(*self._credentials, http_client=self._http)
        self._client.api.base_url = self._api_url

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def send(self, recipient: str, body: str, choices: list[list[str]] | None) -> str:
        assert self._client is not None, "start() first"
        prefix = WHATSAPP_PREFIX if self.name == "whatsapp" else ""
        params: dict = {"to": prefix + recipient, "body": body}
        if self._service:
            params["messaging_service_sid"] = self._service
        if self._from:
            params["from_"] = self._from if self._from.startswith(prefix) else prefix + self._from
        if self._status_callback:
            params["status_callback"] = self._status_callback
        try:
            message = await self._client.messages.create_async(**params)
        except Exception as error:
            raise classify(error) from error
        return message.sid
