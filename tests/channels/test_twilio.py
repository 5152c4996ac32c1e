"""Twilio, from recorded payloads: inbound SMS/WhatsApp/MMS, status callbacks, REST errors."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from multidict import CIMultiDict
from twilio.request_validator import RequestValidator

from bot.model import Inbound, Received
from gateway.channels.base import CREDENTIALS_PAUSE, Malformed, Outgoing, SendError, WebhookRequest
from gateway.channels.twilio import (
    MESSAGES_PATH,
    STATUS_PATH,
    THROTTLE_PAUSE,
    MessagesWebhook,
    StatusWebhook,
    TwilioChannel,
)
from storage.outbox.delivery import StatusReport
from storage.outbox.states import AddressState, OutboxStatus
from tests.channels.runner import (
    RecordedTwilio,
    RequestCase,
    SendCase,
    run_request_case,
    run_send_case,
)

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

ACCOUNT = "AC" + "1" * 32
AUTH_TOKEN = "9f" * 16
SECRETS = (AUTH_TOKEN,)
PUBLIC_URL = "https://benkadi.example.org"
SID = "SM0123456789abcdef0123456789abcdef"
MM = "MM0123456789abcdef0123456789abcdef"
MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/ME1"


def body(text: str) -> bytes:
    """A recorded form body, with the test account's SID in it."""
    return text.replace("{ACCOUNT}", ACCOUNT).replace("{SID}", SID).replace("{MM}", MM).encode()


def signed(path: str, case: RequestCase, signed_query: str | None = None) -> WebhookRequest:
    """The request as Twilio posts it: X-Twilio-Signature over the full URL and the form."""
    query = f"?{case.query}" if case.query else ""
    url = PUBLIC_URL + path + query
    signed_url = url if signed_query is None else f"{PUBLIC_URL}{path}?{signed_query}"
    params = dict(parse_qsl(case.body.decode("utf-8", "replace"), keep_blank_values=True))
    signature = RequestValidator(AUTH_TOKEN).compute_signature(signed_url, params)
    return WebhookRequest(
        url=url,
        query=dict(parse_qsl(case.query)),
        headers=CIMultiDict({"X-Twilio-Signature": signature}),
        body=case.body,
    )


def sms(
    address: str, text: str, sid: str = SID, media: str | None = None, others: tuple = ()
) -> Received:
    return Received("sms", address, sid, Inbound("sms", text, media=media, other_media=others))


def whatsapp(address: str, text: str, sid: str = SID, media: str | None = None) -> Received:
    return Received("whatsapp", address, sid, Inbound("whatsapp", text, media=media))


# --- the messages webhook ---------------------------------------------------------------------
SMS_FORM = (
    "ToCountry=ML&ToState=&SmsMessageSid={SID}&NumMedia=0&ToCity=&FromZip=&SmsSid={SID}"
    "&FromState=&SmsStatus=received&FromCity=&Body={BODY}&FromCountry=ML&To=%2B22320000000"
    "&ToZip=&NumSegments=1&MessageSid={SID}&AccountSid={ACCOUNT}&From={FROM}"
    "&ApiVersion=2010-04-01"
)
WHATSAPP_FORM = (
    "SmsMessageSid={SID}&NumMedia=0&ProfileName=Awa&MessageType=text&SmsSid={SID}"
    "&WaId=22376123456&SmsStatus=received&Body=PROFIL&To=whatsapp%3A%2B14155238886"
    "&NumSegments=1&ReferralNumMedia=0&MessageSid={SID}&AccountSid={ACCOUNT}"
    "&From=whatsapp%3A%2B22376123456&ApiVersion=2010-04-01"
)
WHATSAPP_PHOTO_FORM = (
    "MediaContentType0=image%2Fjpeg&SmsMessageSid={MM}&NumMedia=1&ProfileName=Awa"
    "&MessageType=image&SmsSid={MM}&WaId=22376123456&SmsStatus=received&Body="
    "&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0&MessageSid={MM}"
    f"&AccountSid={{ACCOUNT}}&From=whatsapp%3A%2B22376123456&MediaUrl0={MEDIA.replace(':', '%3A').replace('/', '%2F')}"
    "&ApiVersion=2010-04-01"
)
MMS_FORM = (
    "ToCountry=ML&MediaContentType0=image%2Fjpeg&MediaContentType1=image%2Fpng"
    "&SmsMessageSid={MM}&NumMedia=2&SmsSid={MM}&SmsStatus=received&Body=Rapport+atelier"
    f"&To=%2B22320000000&MediaUrl0={MEDIA.replace(':', '%3A').replace('/', '%2F')}"
    "&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fsecond&NumSegments=1&MessageSid={MM}"
    "&AccountSid={ACCOUNT}&From=%2B22376123456&ApiVersion=2010-04-01"
)


def sms_form(text: str, sender: str) -> bytes:
    return body(SMS_FORM.replace("{BODY}", text).replace("{FROM}", sender))


MESSAGE_CASES = [
    RequestCase(
        "an SMS", sms_form("INSCRIPTION", "%2B22376123456"), (sms("+22376123456", "INSCRIPTION"),)
    ),
    RequestCase(
        "an SMS in Bambara letters",
        sms_form("S%C6%90B%C6%90N", "%2B22376123456"),
        (sms("+22376123456", "SƐBƐN"),),
    ),
    RequestCase(
        "an SMS from a number not in E.164",
        sms_form("AIDE", "76123456"),
        (sms("+22376123456", "AIDE"),),
    ),
    RequestCase("an SMS from a short code", sms_form("x", "36000"), (sms("36000", "x"),)),
    RequestCase("a WhatsApp text", body(WHATSAPP_FORM), (whatsapp("+22376123456", "PROFIL"),)),
    RequestCase(
        "a WhatsApp photo",
        body(WHATSAPP_PHOTO_FORM),
        (whatsapp("+22376123456", "", sid=MM, media=MEDIA),),
    ),
    RequestCase(
        "an MMS with two photos: the first for the report, the second only to delete",
        body(MMS_FORM),
        (
            sms(
                "+22376123456",
                "Rapport atelier",
                sid=MM,
                media=MEDIA,
                others=("https://api.twilio.com/second",),
            ),
        ),
    ),
    RequestCase(
        "no MessageSid, no From",
        body("AccountSid={ACCOUNT}&Body=hello"),
        Malformed,
    ),
    RequestCase("not UTF-8: cannot be what Twilio signed", b"Body=\xff\xfe&From=x", genuine=False),
]


@pytest.mark.parametrize("case", MESSAGE_CASES, ids=str)
def test_messages_webhook(case: RequestCase, caplog: pytest.LogCaptureFixture) -> None:
    run_request_case(
        MessagesWebhook(AUTH_TOKEN), signed(MESSAGES_PATH, case), case, SECRETS, caplog
    )


# --- the status webhook -----------------------------------------------------------------------
STATUS_FORM = (
    "SmsSid={SID}&SmsStatus={STATUS}&MessageStatus={STATUS}&To=%2B22376123456"
    "&MessageSid={SID}&AccountSid={ACCOUNT}&From=%2B22320000000&ApiVersion=2010-04-01"
)


def status_form(status: str, extra: str = "") -> bytes:
    return body(STATUS_FORM.replace("{STATUS}", status) + extra)


def report(status: OutboxStatus, outbox_id: int | None = 42, **error) -> StatusReport:
    return StatusReport(SID, status, outbox_id, **error)


STATUS_CASES = [
    RequestCase(
        "sent", status_form("sent"), (report(OutboxStatus.SENT),), query="id=42", status=204
    ),
    RequestCase(
        "delivered, with the carrier's receipt time",
        status_form("delivered", "&RawDlrDoneDate=2411251030"),
        (report(OutboxStatus.DELIVERED),),
        query="id=42",
        status=204,
    ),
    RequestCase(
        "read, on WhatsApp: delivered",
        status_form("read", "&ChannelPrefix=whatsapp"),
        (report(OutboxStatus.DELIVERED),),
        query="id=42",
        status=204,
    ),
    RequestCase(
        "undelivered, unreachable handset",
        status_form("undelivered", "&ErrorCode=30003"),
        (report(OutboxStatus.UNDELIVERED, error_code="30003", error_message="Twilio undelivered"),),
        query="id=42",
        status=204,
    ),
    RequestCase(
        "failed: the member replied STOP to Twilio",
        status_form("failed", "&ErrorCode=21610"),
        (
            report(
                OutboxStatus.FAILED,
                error_code="21610",
                error_message="Twilio failed",
                address_state=AddressState.OPTED_OUT,
            ),
        ),
        query="id=42",
        status=204,
    ),
    RequestCase(
        "failed: not a valid number",
        status_form("failed", "&ErrorCode=21211"),
        (
            report(
                OutboxStatus.FAILED,
                error_code="21211",
                error_message="Twilio failed",
                address_state=AddressState.INVALID,
            ),
        ),
        query="id=42",
        status=204,
    ),
    *(
        RequestCase(f"{status}: nothing to record", status_form(status), query="id=42", status=204)
        for status in ("queued", "accepted", "sending", "scheduled")
    ),
    RequestCase(
        "a row sent before the URL carried its id",
        status_form("delivered"),
        (report(OutboxStatus.DELIVERED, outbox_id=None),),
        status=204,
    ),
    RequestCase("an id that is not a row's", status_form("sent"), Malformed, query="id=abc"),
    RequestCase(
        "no MessageStatus", body("MessageSid={SID}&AccountSid={ACCOUNT}"), Malformed, query="id=1"
    ),
]


@pytest.mark.parametrize("case", STATUS_CASES, ids=str)
def test_status_webhook(case: RequestCase, caplog: pytest.LogCaptureFixture) -> None:
    run_request_case(StatusWebhook(AUTH_TOKEN), signed(STATUS_PATH, case), case, SECRETS, caplog)


def test_the_row_id_cannot_be_forged() -> None:
    """Twilio signs the URL with its query: a callback for row 1 does not pass for row 2."""
    case = RequestCase("delivered", status_form("delivered"), query="id=2", genuine=False)
    request = signed(STATUS_PATH, case, signed_query="id=1")
    assert not StatusWebhook(AUTH_TOKEN).verify(request)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: WebhookRequest(r.url, r.query, CIMultiDict(), r.body),  # no signature
        lambda r: WebhookRequest(r.url, r.query, r.headers, r.body.replace(b"AIDE", b"STOP")),
        lambda r: WebhookRequest(r.url.replace("https", "http"), r.query, r.headers, r.body),
    ],
    ids=["unsigned", "body changed", "another URL"],
)
def test_forged_requests_are_refused(tamper) -> None:
    case = RequestCase("an SMS", sms_form("AIDE", "%2B22376123456"))
    request = signed(MESSAGES_PATH, case)
    assert MessagesWebhook(AUTH_TOKEN).verify(request)
    assert not MessagesWebhook(AUTH_TOKEN).verify(tamper(request))
    assert not MessagesWebhook("0" * 32).verify(request)  # another account's token


# --- sending: recorded REST answers through the twilio SDK ------------------------------------
def error_body(code: int, status: int, message: str, **more) -> tuple[int, dict]:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
        **more,
    }


RFC_9457_429 = (
    429,
    {
        "type": "https://www.twilio.com/docs/errors/20429",
        "title": "Too Many Requests",
        "status": 429,
        "code": 20429,
        "detail": "Slow down",
    },
)
CREATED = (201, {"sid": SID, "status": "queued", "to": "+22376123456", "body": "Bonjour"})
SEND_CASES = [
    SendCase("accepted", CREATED, SID),
    SendCase(
        "21610: unsubscribed recipient",
        error_body(21610, 400, "Attempt to send to unsubscribed recipient"),
        SendError("21610", "", False, address_state=AddressState.OPTED_OUT),
        "unsubscribed",
    ),
    SendCase(
        "21211: not a valid number (the number it names is not kept)",
        error_body(21211, 400, "The 'To' number +22376123456 is not a valid phone number."),
        SendError("21211", "", False, address_state=AddressState.INVALID),
        "The 'To' number +*** is not a valid phone number.",
    ),
    SendCase(
        "21614: not a mobile number",
        error_body(21614, 400, "'To' number is not a valid mobile number"),
        SendError("21614", "", False, address_state=AddressState.INVALID),
    ),
    SendCase(
        "21617: too long, the message's fault",
        error_body(21617, 400, "The concatenated message body exceeds the 1600 character limit."),
        SendError("21617", "", False),
    ),
    SendCase(
        "20429: too many requests",
        error_body(20429, 429, "Too Many Requests"),
        SendError("20429", "", True, pause=THROTTLE_PAUSE),
    ),
    SendCase(
        "20429 in the RFC 9457 shape of newer APIs",
        RFC_9457_429,
        SendError("20429", "", True, pause=THROTTLE_PAUSE),
        "Too Many Requests",
    ),
    SendCase(
        "20003: wrong credentials",
        error_body(
            20003, 401, "Authenticate", detail="Your AccountSid or AuthToken was incorrect."
        ),
        SendError("20003", "", True, retry_after=CREDENTIALS_PAUSE),
    ),
    SendCase(
        "20500: server error",
        error_body(20500, 500, "An internal server error has occurred"),
        SendError("20500", "", True),
    ),
    SendCase(
        "503 with an HTML page",
        (503, "<html><body>Service Unavailable</body></html>"),
        SendError("503", "", True),
    ),
    SendCase(
        "connection refused",
        aiohttp.ClientConnectionError("Cannot connect to host api.twilio.com:443"),
        SendError("network", "", True),
    ),
    SendCase("timed out", TimeoutError(), SendError("network", "", True)),
    SendCase(
        "an unforeseen failure that quotes the token",
        RuntimeError(f"session closed while signing with {AUTH_TOKEN}"),
        SendError("error", "", True),
        "***",
    ),
]


@pytest.mark.parametrize("case", SEND_CASES, ids=str)
async def test_send(case: SendCase, caplog: pytest.LogCaptureFixture) -> None:
    http = RecordedTwilio()
    http.answers.append(case.answer)
    channel = TwilioChannel(
        "sms", ACCOUNT, AUTH_TOKEN, "https://api.twilio.test", PUBLIC_URL + STATUS_PATH,
        from_="+22320000000", http_client=http,
    )  # fmt: skip
    await channel.start()
    try:
        message = Outgoing(42, "+22376123456", "Bonjour")
        await run_send_case(channel, message, case, SECRETS, caplog)
    finally:
        await channel.stop()
    [sent] = http.requests
    assert sent["data"]["StatusCallback"] == f"{PUBLIC_URL}{STATUS_PATH}?{urlencode({'id': 42})}"


async def test_whatsapp_is_the_same_code_with_its_prefix() -> None:
    http = RecordedTwilio()
    http.answers.append(CREATED)
    channel = TwilioChannel(
        "whatsapp", ACCOUNT, AUTH_TOKEN, "https://api.twilio.test", None,
        from_="+14155238886", http_client=http,
    )  # fmt: skip
    await channel.start()
    assert await channel.send(Outgoing(7, "+22376123456", "I ni ce")) == SID
    [sent] = http.requests
    assert (sent["data"]["To"], sent["data"]["From"]) == (
        "whatsapp:+22376123456",
        "whatsapp:+14155238886",
    )
    assert "StatusCallback" not in sent["data"]  # none asked for
