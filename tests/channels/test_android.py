"""The Android adapter's pure parts: the signature, parsing the app's webhooks, classifying
failures (recorded payloads in the app's documented shape)."""

from __future__ import annotations

import json

import aiohttp
import pytest
from android_sms_gateway.errors import APIError, BadRequestError, UnauthorizedError

from bot.vocabulary.operators import operator_of
from gateway.channels import android
from gateway.channels.base import Malformed, SendError
from gateway.fakes.android_api import sign
from storage.outbox.states import AddressState, OutboxStatus

pytestmark = pytest.mark.unit
NOW = 1_764_590_400.0
KEY = "k3y"


def headers(body: bytes, stamp: float = NOW, key: str = KEY) -> dict[str, str]:
    return {"X-Signature": sign(key, body, str(int(stamp))), "X-Timestamp": str(int(stamp))}


def test_signature_over_body_and_timestamp_within_five_minutes():
    body = b'{"event":"system:ping"}'
    assert android.verify(KEY, headers(body), body, NOW)
    assert android.verify(KEY, headers(body, NOW - 299), body, NOW)
    assert not android.verify(KEY, headers(body, NOW - 301), body, NOW)
    assert not android.verify(KEY, headers(body, NOW + 301), body, NOW)
    assert not android.verify("other", headers(body), body, NOW)
    assert not android.verify(KEY, headers(body), body + b" ", NOW)
    assert not android.verify(KEY, {"X-Timestamp": str(int(NOW))}, body, NOW)
    assert not android.verify(KEY, {**headers(body), "X-Timestamp": "soon"}, body, NOW)


def event(name: str, payload: dict, event_id: str = "ev-1") -> bytes:
    return json.dumps(
        {"deviceId": "d", "event": name, "id": event_id, "payload": payload, "webhookId": "w"}
    ).encode()


def test_received_is_keyed_on_the_event_id_and_keeps_the_sim():
    body = event("sms:received", {"messageId": "abc", "message": "Inscription",
                                  "phoneNumber": "76 12 34 56", "simNumber": 2,
                                  "receivedAt": "2026-12-01T10:00:00.000+00:00"})  # fmt: skip
    parsed = android.parse(body, "phone-a")
    assert parsed.received is not None and parsed.slot == 2
    received = parsed.received
    assert (received.channel, received.address, received.provider_id) == (
        "sms", "+22376123456", "android:ev-1",
    )  # fmt: skip
    assert received.inbound.text == "Inscription"


@pytest.mark.parametrize("sender", ["Orange", "OrangeMoney", "36050", "7777"])
def test_an_sms_from_an_operator_name_or_short_code_is_ignored(sender):
    body = event("sms:received", {"messageId": "abc", "message": "Votre solde est de 100 F",
                                  "phoneNumber": sender, "simNumber": 1})  # fmt: skip
    parsed = android.parse(body, "phone-a")
    assert not parsed.known and parsed.received is None


def test_reports_find_their_row_by_our_message_id():
    sent = android.parse(event("sms:sent", {"messageId": "bk-42", "phoneNumber": "+1"}), "p")
    assert sent.report is not None
    assert (sent.report.outbox_id, sent.report.provider_id, sent.report.status) == (
        42, "p/bk-42", OutboxStatus.SENT,
    )  # fmt: skip
    delivered = android.parse(event("sms:delivered", {"messageId": "bk-42"}), "p").report
    assert delivered is not None and delivered.status == OutboxStatus.DELIVERED
    failed = android.parse(
        event("sms:failed", {"messageId": "bk-7", "reason": "RESULT_INVALID_ARGUMENTS"}), "p"
    ).report
    assert failed is not None
    assert (failed.status, failed.address_state) == (OutboxStatus.FAILED, AddressState.INVALID)
    assert not failed.reroute  # the number's fault: no other route will do better
    radio = android.parse(
        event("sms:failed", {"messageId": "bk-7", "reason": "RESULT_ERROR_NO_SERVICE",
                             "simNumber": 2}), "p"
    ).report  # fmt: skip
    assert radio is not None and radio.address_state is None
    assert (radio.reroute, radio.route_slot) == (True, 2)  # the radio's: another route, once
    assert not sent.report.reroute and not delivered.reroute
    theirs = android.parse(event("sms:sent", {"messageId": "f00"}), "p").report
    assert theirs is not None and theirs.outbox_id is None  # not ours: found by no row


@pytest.mark.parametrize(
    "body",
    [
        b"{", b"[]", b'"x"', json.dumps({"event": "sms:sent"}).encode(),
        event("sms:received", {"message": "x"}), event("sms:sent", {}),
        json.dumps({"event": "sms:sent", "id": "e", "payload": []}).encode(),
    ],
)  # fmt: skip
def test_malformed_bodies(body):
    with pytest.raises(Malformed):
        android.parse(body, "p")


def test_unknown_events_are_ignored_and_ping_is_known():
    assert not android.parse(event("mms:received", {}), "p").known
    assert android.parse(event("system:ping", {"health": {}}), "p").known


def test_classify_what_the_phone_said():
    invalid = android.classify(BadRequestError("x", 400, {"message": "invalid phone number"}))
    assert (invalid.retryable, invalid.address_state) == (False, AddressState.INVALID)
    assert not android.classify(BadRequestError("x", 400, {"message": "bad sim"})).retryable
    for error in (
        UnauthorizedError("x", 401, {}),
        APIError("x", 429, {}),
        APIError("x", 503, {}),
        aiohttp.ClientConnectorError(
            aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None),  # type: ignore[call-arg]
            OSError(111, "refused"),
        ),
    ):
        routed = android.classify(error)
        assert isinstance(routed, android.RouteError) and routed.unsent and routed.retryable
    for ambiguous in (TimeoutError(), aiohttp.ServerDisconnectedError()):
        routed = android.classify(ambiguous)
        assert isinstance(routed, android.RouteError) and not routed.unsent
    assert type(android.classify(ValueError("bug"))) is SendError


def test_secrets_never_in_the_reason():
    error = android.classify(APIError("x", 500, {"message": "bad token s3cret"}), ("s3cret",))
    assert "s3cret" not in str(error)


def test_message_ids_are_our_rows():
    assert android.message_id(17) == "bk-17"
    assert android.outbox_id_of("bk-17") == 17
    assert android.message_id(17, rerouted=True) == "bk-17r"  # its send after a radio failure
    assert android.outbox_id_of("bk-17r") == 17 and android.outbox_id_of("bk-r") is None
    assert android.outbox_id_of("bk-x") is None and android.outbox_id_of("17") is None


def test_operators_from_phonenumbers_carrier_data_match_malis_ranges():
    assert [operator_of(f"+223{p}123456") for p in ("70", "79", "82", "83", "90", "94")] == [
        "orange"
    ] * 6
    assert [operator_of(f"+223{p}123456") for p in ("60", "66", "69", "89", "95", "99")] == [
        "moov"
    ] * 6
    assert {operator_of(f"+223{p}123456") for p in ("50", "51", "52", "53")} == {"telecel"}
    assert operator_of("+22380123456") is None  # 80: valid, no operator in the data: any SIM
    assert operator_of("+33612345678") is None and operator_of("garbage") is None
