"""SMS through Android phones running SMS Gateway for Android (capcom6/android-sms-gateway).

Out: the official client (`android_sms_gateway.AsyncAPIClient`), one per phone: the SIM slot
chosen per message, a delivery report asked for, and our outbox row's id as the message id, so a
retry to the same phone is refused as a duplicate (409) rather than sent twice.
In: one webhook URL per phone, /webhooks/android/<gateway>, signed with the phone's signing key
(X-Signature: hex HMAC-SHA256 of the raw body followed by X-Timestamp). Its events: sms:received
(a member's SMS, de-duplicated on the event id — the app's messageId is not unique), sms:sent,
sms:delivered, sms:failed (status reports found by the row id in messageId), system:ping.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from android_sms_gateway import AsyncAPIClient, Message, TextMessage, Webhook
from android_sms_gateway.ahttp import AiohttpAsyncHttpClient
from android_sms_gateway.enums import HealthStatus, WebhookEvent
from android_sms_gateway.errors import APIError

from bot.model import Inbound, Received
from bot.vocabulary.phones import normalise_phone
from gateway.channels.base import Malformed, Outgoing, SendError, redact
from storage.gateways import Gateway, Sim, provider_id
from storage.outbox.delivery import StatusReport
from storage.outbox.states import AddressState, OutboxStatus

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/android/{gateway}"
MESSAGE_ID_PREFIX = "bk-"  # "bk-<outbox row id>": ours, and the row a report is about
MAX_CLOCK_SKEW = 300  # seconds: a signed request older or newer than this is refused
SEND_TIMEOUT = 15.0  # seconds a phone has to accept a message
# The events register-webhooks asks each phone for.
EVENTS = (
    WebhookEvent.SMS_RECEIVED,
    WebhookEvent.SMS_SENT,
    WebhookEvent.SMS_DELIVERED,
    WebhookEvent.SMS_FAILED,
    WebhookEvent.SYSTEM_PING,
)
STATUS_BY_EVENT = {
    "sms:sent": OutboxStatus.SENT,
    "sms:delivered": OutboxStatus.DELIVERED,
    "sms:failed": OutboxStatus.FAILED,
}
# Android's SmsManager results that say the number itself is wrong (others: radio, service…).
INVALID_REASONS = ("RESULT_INVALID_ARGUMENTS", "RESULT_INVALID_SMS_FORMAT", "RESULT_ERROR_NULL_PDU")


REROUTED_SUFFIX = "r"  # "bk-<row id>r": its second send, after a radio failure (once)


def message_id(outbox_id: int, rerouted: bool = False) -> str:
    """Our id on the phone. A re-routed row's second send has its own: the phone that failed
    the first may send it from its other SIM, and would refuse the same id (409)."""
    return f"{MESSAGE_ID_PREFIX}{outbox_id}{REROUTED_SUFFIX if rerouted else ''}"


def outbox_id_of(message_id: str) -> int | None:
    number = message_id.removeprefix(MESSAGE_ID_PREFIX).removesuffix(REROUTED_SUFFIX)
    return int(number) if message_id.startswith(MESSAGE_ID_PREFIX) and number.isdigit() else None


# --- errors -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RouteError(SendError):
    """A failure of the phone, not of the message: `unsent` when the phone surely did not take it
    (refused connection, 5xx, bad credentials, its limit), so another route may send it now."""

    unsent: bool = False


def classify(error: Exception, secrets: tuple[str, ...] = ()) -> SendError:
    if isinstance(error, APIError):
        status = error.status_code or 0
        detail = redact(_detail(error), secrets)
        if status == 400:
            if "phone" in detail.lower():  # the app's own validation of the number
                return SendError("400", detail, retryable=False, address_state=AddressState.INVALID)
            return SendError("400", detail, retryable=False)
        if status in (401, 403):
            log.error("an Android gateway refused the credentials (%s): check them", status)
            return RouteError(str(status), detail, retryable=True, unsent=True)
        if status == 429:
            return RouteError("429", detail, retryable=True, unsent=True)
        return RouteError(str(status or "error"), detail, retryable=True, unsent=status >= 500)
    if isinstance(error, aiohttp.ClientConnectionError) and not isinstance(
        error, aiohttp.ServerDisconnectedError | aiohttp.ServerTimeoutError
    ):
        return RouteError("offline", redact(repr(error), secrets), retryable=True, unsent=True)
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        # Ambiguous: the phone may have taken it. The sender asks it (the message by our id);
        # still unknown: retried later, by whichever route is up.
        return RouteError("timeout", "the phone did not answer in time", retryable=True)
    if isinstance(error, aiohttp.ClientError | OSError):
        return RouteError("network", redact(repr(error), secrets), retryable=True)
    return SendError("error", redact(repr(error), secrets), retryable=True)


def _detail(error: APIError) -> str:
    response = error.response if isinstance(error.response, dict) else {}
    return str(response.get("message") or error)


# --- out --------------------------------------------------------------------------------------
class AndroidSender:
    """One phone's API through the official client."""

    def __init__(self, gateway: Gateway, timeout: float = SEND_TIMEOUT) -> None:
        self.gateway = gateway
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncAPIClient | None = None

    async def start(self) -> None:
        # No retries inside: a POST retried blindly could send twice; the router decides.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        g = self.gateway
        self._client = AsyncAPIClient(
            g.login, g.password, base_url=g.base_url,
            http_client=AiohttpAsyncHttpClient(self._session),
        )  # fmt: skip

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def client(self) -> AsyncAPIClient:
        assert self._client is not None, "start() first"
        return self._client

    async def send(self, sim: Sim, message: Outgoing) -> str:
        """Send from one SIM; the provider id recorded on the row ("<gateway>/bk-<row id>")."""
        ours = message_id(message.outbox_id, rerouted=message.reroute_from is not None)
        sms = Message(
            phone_numbers=[message.recipient],
            text_message=TextMessage(text=message.body),
            sim_number=sim.slot,
            with_delivery_report=True,
            id=ours,
            device_id=self.gateway.device_id,
        )
        try:
            await asyncio.wait_for(self.client.send(sms), self.timeout)
        except APIError as error:
            if error.status_code == 409:  # this phone has it already: a retry, not a resend
                return provider_id(self.gateway.name, ours)
            raise classify(error, (self.gateway.password,)) from error
        except Exception as error:
            failure = classify(error, (self.gateway.password,))
            if failure.code != "timeout":
                raise failure from error
            if await self._has(ours):  # it took it, the answer was lost: sent, not resent
                return provider_id(self.gateway.name, ours)
            raise failure from error
        return provider_id(self.gateway.name, ours)

    async def _has(self, ours: str) -> bool:
        """After a send timed out: ask the phone for the message by our id. True: it has it;
        False: it has not (404), so another route may send it now (RouteError, unsent);
        anything else leaves it ambiguous (the timeout is raised, the row retried later)."""
        try:
            await asyncio.wait_for(self.client.get_state(ours), self.timeout)
        except APIError as error:
            if error.status_code == 404:
                raise RouteError(
                    "timeout", "the phone did not answer in time and does not have it",
                    retryable=True, unsent=True,
                ) from error  # fmt: skip
            return False
        except Exception:
            return False
        return True

    async def healthy(self) -> tuple[bool, str | None]:
        try:
            health = await asyncio.wait_for(self.client.health_check(), self.timeout)
        except Exception as error:
            return False, str(classify(error, (self.gateway.password,)))
        if health.status == HealthStatus.FAIL:
            return False, "health check: fail"
        return True, None

    async def register_webhooks(self, url: str) -> list[str]:
        """One webhook per event, with ids of our own: running it again replaces them."""
        done = []
        for event in EVENTS:
            hook = Webhook(
                id=f"benkadi-{event.value.replace(':', '-')}",
                url=url,
                event=event,
                device_id=self.gateway.device_id,
            )
            try:
                await self.client.create_webhook(hook)
            except Exception as error:
                raise classify(error, (self.gateway.password,)) from error
            done.append(event.value)
        return done


# --- in ---------------------------------------------------------------------------------------
def verify(key: str, headers: Mapping[str, str], body: bytes, now: float) -> bool:
    """The app's signature over the raw body and X-Timestamp, and a timestamp within 5 minutes."""
    signature, stamp = headers.get("X-Signature", ""), headers.get("X-Timestamp", "")
    if not signature or not stamp.isdigit() or abs(now - int(stamp)) > MAX_CLOCK_SKEW:
        return False
    expected = hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.lower())


@dataclass(frozen=True)
class AndroidEvent:
    """A webhook, parsed: what it is about, for whom."""

    event: str
    event_id: str
    received: Received | None = None
    slot: int | None = None  # the SIM a member texted
    report: StatusReport | None = None
    known: bool = True  # an event we do not use: answered 200, nothing stored


def parse(body: bytes, gateway: str) -> AndroidEvent:
    """A webhook body → AndroidEvent; Malformed (400) when it is not one."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Malformed("the body is not JSON") from None
    if not isinstance(data, dict):
        raise Malformed("the body is not a JSON object")
    event, event_id, payload = data.get("event"), data.get("id"), data.get("payload")
    if not isinstance(event, str) or not isinstance(event_id, str) or not event_id:
        raise Malformed("event and id are required")
    if not isinstance(payload, dict):
        raise Malformed("payload must be an object")
    if event == "sms:received":
        return _received(event_id, payload)
    if event in STATUS_BY_EVENT:
        return AndroidEvent(event, event_id, report=_report(event, payload, gateway))
    return AndroidEvent(event, event_id, known=event == "system:ping")


def _received(event_id: str, payload: Mapping[str, Any]) -> AndroidEvent:
    sender, text = payload.get("phoneNumber") or payload.get("sender"), payload.get("message")
    if not isinstance(sender, str) or not isinstance(text, str):
        raise Malformed("phoneNumber and message are required")
    address = normalise_phone(sender)
    if address is None:
        # An operator's own SMS (alphanumeric "Orange", a short code such as 36050): no member
        # sent it, and a reply to a short code could subscribe the SIM to a paid service.
        return AndroidEvent("sms:received", event_id, known=False)
    slot = payload.get("simNumber")
    # The event id, not messageId: the app derives messageId from the content (not unique).
    received = Received("sms", address, f"android:{event_id}"[:64], Inbound("sms", text))
    return AndroidEvent("sms:received", event_id, received, slot if isinstance(slot, int) else None)


def _report(event: str, payload: Mapping[str, Any], gateway: str) -> StatusReport:
    ours = payload.get("messageId")
    if not isinstance(ours, str) or not ours:
        raise Malformed("messageId is required")
    reason = payload.get("reason") if event == "sms:failed" else None
    invalid = isinstance(reason, str) and any(r in reason for r in INVALID_REASONS)
    slot = payload.get("simNumber")
    return StatusReport(
        provider_id=provider_id(gateway, ours),
        status=STATUS_BY_EVENT[event],
        outbox_id=outbox_id_of(ours),
        error_code="failed" if reason is not None else None,
        error_message=str(reason)[:500] if reason is not None else None,
        address_state=AddressState.INVALID if invalid else None,
        # The radio failed (no signal, a generic failure): not the number's fault, another
        # route may carry it (once).
        reroute=event == "sms:failed" and not invalid,
        route_slot=slot if isinstance(slot, int) and not isinstance(slot, bool) else None,
    )
