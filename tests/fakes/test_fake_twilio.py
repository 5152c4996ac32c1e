"""The fake Twilio API, exercised through the real twilio SDK (async client)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from gateway.fakes.twilio_api import FakeTwilioAPI, count_segments

SID = "AC" + "1" * 32
TOKEN = "auth-token-secret"
FROM = "+15005550006"
TO = "+22376123456"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilioAPI]:
    async with FakeTwilioAPI(SID, TOKEN) as api:
        yield api


@pytest.fixture
async def client(fake: FakeTwilioAPI) -> AsyncIterator[Client]:
    http = AsyncTwilioHttpClient()  # built inside the running loop, as the SDK requires
    c = Client(SID, TOKEN, http_client=http)
    c.api.base_url = fake.base_url
    yield c
    await http.close()


@dataclass
class Receiver:
    """A tiny status-callback endpoint that checks X-Twilio-Signature like our gateway will."""

    url: str = ""
    calls: list[tuple[dict, bool]] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    validator = RequestValidator(TOKEN)

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        ok = validator.validate(str(request.url), form, request.headers["X-Twilio-Signature"])
        rec.calls.append((dict(form), ok))
        return web.Response(status=204 if ok else 403)

    app = web.Application()
    app.router.add_post("/twilio/status", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/twilio/status?channel=sms"
    yield rec
    await runner.cleanup()


async def test_create_returns_full_message_resource(fake: FakeTwilioAPI, client: Client) -> None:
    msg = await client.messages.create_async(
        to=TO, from_=FROM, body="I ni ce! Réunion à 10h", status_callback="https://x.test/cb"
    )
    assert msg.sid.startswith("SM") and len(msg.sid) == 34
    assert (msg.to, msg.from_, msg.body) == (TO, FROM, "I ni ce! Réunion à 10h")
    assert msg.status == "queued" and msg.direction == "outbound-api"
    assert msg.account_sid == SID and msg.api_version == "2010-04-01"
    assert msg.num_segments == "1" and msg.error_code is None and msg.price is None
    assert msg.date_created is not None and msg.date_created.tzinfo is not None
    assert msg.uri == f"/2010-04-01/Accounts/{SID}/Messages/{msg.sid}.json"

    [sent] = fake.messages_to(TO)
    assert (sent.sid, sent.status_callback) == (msg.sid, "https://x.test/cb")
    assert fake.requests[0]["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    fetched = await client.messages(msg.sid).fetch_async()
    assert fetched.sid == msg.sid


async def test_messaging_service_whatsapp_and_segments(fake: FakeTwilioAPI, client: Client) -> None:
    msg = await client.messages.create_async(
        to="whatsapp:" + TO, messaging_service_sid="MG" + "2" * 32, body="ɛ" * 71
    )
    assert msg.status == "accepted" and msg.from_ is None
    assert msg.num_segments == "2"  # one non-GSM character makes it UCS-2: 71 > 70
    assert fake.sent[0].messaging_service_sid == "MG" + "2" * 32
    assert (count_segments("a" * 160), count_segments("a" * 161), count_segments("€" * 80)) == (
        1,
        2,
        1,
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "22376123456", "from_": FROM, "body": "x"}, 21211),
        ({"to": "+223", "from_": FROM, "body": "x"}, 21211),
        ({"to": TO, "body": "x"}, 21603),
        ({"to": TO, "from_": FROM}, 21602),
        ({"to": TO, "from_": FROM, "body": "x" * 1601}, 21617),
        ({"to": "whatsapp:" + TO, "from_": FROM, "body": "x"}, 21910),
    ],
)
async def test_validation_errors(client: Client, fake: FakeTwilioAPI, kwargs: dict, code: int):
    with pytest.raises(TwilioRestException) as exc:
        await client.messages.create_async(**kwargs)
    assert (exc.value.code, exc.value.status) == (code, 400)
    assert fake.sent == []


async def test_unsubscribed_and_injected_failures(fake: FakeTwilioAPI, client: Client) -> None:
    fake.unsubscribe(TO)
    with pytest.raises(TwilioRestException) as exc:
        await client.messages.create_async(to=TO, from_=FROM, body="x")
    assert (exc.value.code, exc.value.status) == (21610, 400)
    assert "unsubscribed" in exc.value.msg

    fake.fail_next(1, 429, 20429, "Too Many Requests")
    fake.fail_next(1, 500, 20500, "Internal Server Error")
    for code, status in ((20429, 429), (20500, 500)):
        with pytest.raises(TwilioRestException) as exc:
            await client.messages.create_async(to="+22365000000", from_=FROM, body="x")
        assert (exc.value.code, exc.value.status) == (code, status)
    await client.messages.create_async(to="+22365000000", from_=FROM, body="x")
    assert fake.throttled_count == 1
    assert len(fake.sent) == 1 and len(fake.requests) == 4


async def test_bad_credentials_and_wrong_account(fake: FakeTwilioAPI) -> None:
    http = AsyncTwilioHttpClient()
    try:
        bad = Client(SID, "wrong", http_client=http)
        bad.api.base_url = fake.base_url
        with pytest.raises(TwilioRestException) as exc:
            await bad.messages.create_async(to=TO, from_=FROM, body="x")
        assert (exc.value.code, exc.value.status) == (20003, 401)

        other = Client(SID, TOKEN, account_sid="AC" + "9" * 32, http_client=http)
        other.api.base_url = fake.base_url
        with pytest.raises(TwilioRestException) as exc:
            await other.messages.create_async(to=TO, from_=FROM, body="x")
        assert (exc.value.code, exc.value.status) == (20404, 404)
    finally:
        await http.close()
    assert fake.sent == []


async def test_rate_limit() -> None:
    async with FakeTwilioAPI(SID, TOKEN, rate_per_second=2) as api:
        http = AsyncTwilioHttpClient()
        try:
            client = Client(SID, TOKEN, http_client=http)
            client.api.base_url = api.base_url
            for _ in range(2):
                await client.messages.create_async(to=TO, from_=FROM, body="x")
            with pytest.raises(TwilioRestException) as exc:
                await client.messages.create_async(to=TO, from_=FROM, body="x")
            assert (exc.value.code, exc.value.status) == (20429, 429)
        finally:
            await http.close()
        assert api.throttled_count == 1 and len(api.sent) == 2


async def test_signed_status_callback(
    fake: FakeTwilioAPI, client: Client, receiver: Receiver
) -> None:
    msg = await client.messages.create_async(
        to=TO, from_=FROM, body="x", status_callback=receiver.url
    )
    assert await fake.send_status_callback(msg.sid, "undelivered", error_code=30003) == 204
    [(form, valid)] = receiver.calls
    assert valid
    assert form == {
        "MessageSid": msg.sid,
        "SmsSid": msg.sid,
        "MessageStatus": "undelivered",
        "SmsStatus": "undelivered",
        "AccountSid": SID,
        "From": FROM,
        "To": TO,
        "ApiVersion": "2010-04-01",
        "ErrorCode": "30003",
    }
    fetched = await client.messages(msg.sid).fetch_async()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)


async def test_auto_callbacks(receiver: Receiver) -> None:
    async with FakeTwilioAPI(SID, TOKEN, auto_callbacks=True) as api:
        http = AsyncTwilioHttpClient()
        try:
            client = Client(SID, TOKEN, http_client=http)
            client.api.base_url = api.base_url
            api.undeliverable("+22365000000", 30006)
            ok = await client.messages.create_async(
                to=TO, from_=FROM, body="a", status_callback=receiver.url
            )
            bad = await client.messages.create_async(
                to="+22365000000", from_=FROM, body="b", status_callback=receiver.url
            )
            await client.messages.create_async(to=TO, from_=FROM, body="no callback")
            await api.wait_for_messages(3, timeout=1)
            await api.drain_callbacks()
        finally:
            await http.close()
    statuses = {
        (f["MessageSid"], f["MessageStatus"], f.get("ErrorCode")) for f, _ in receiver.calls
    }
    assert statuses == {
        (ok.sid, "sent", None),
        (ok.sid, "delivered", None),
        (bad.sid, "sent", None),
        (bad.sid, "undelivered", "30006"),
    }
    assert all(valid for _, valid in receiver.calls)
    assert sorted((status, code) for _, status, code in api.callbacks) == [
        ("delivered", 204),
        ("sent", 204),
        ("sent", 204),
        ("undelivered", 204),
    ]


async def test_wait_for_messages_times_out(fake: FakeTwilioAPI) -> None:
    with pytest.raises(TimeoutError):
        await fake.wait_for_messages(1, timeout=0.05, to=TO)


async def test_callbacks_can_come_before_the_answer_to_the_send(receiver: Receiver) -> None:
    async with FakeTwilioAPI(SID, TOKEN, auto_callbacks=True, callbacks_before_answer=True) as api:
        http = AsyncTwilioHttpClient()
        try:
            client = Client(SID, TOKEN, http_client=http)
            client.api.base_url = api.base_url
            msg = await client.messages.create_async(
                to=TO, from_=FROM, body="a", status_callback=receiver.url
            )
            # Answered only now: both callbacks were already posted, and answered.
            assert [(f["MessageSid"], f["MessageStatus"]) for f, _ in receiver.calls] == [
                (msg.sid, "sent"),
                (msg.sid, "delivered"),
            ]
        finally:
            await http.close()
