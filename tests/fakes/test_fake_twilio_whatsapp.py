"""The fake Twilio's WhatsApp rules (the 24 h window, templates) and its Content API listing,
exercised through the real twilio SDK."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from gateway.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.test_fake_twilio import SID, TOKEN, Receiver, receiver  # noqa: F401 - fixture

FROM = "whatsapp:+15005550006"
TO = "+22376123456"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeTwilioAPI]:
    async with FakeTwilioAPI(SID, TOKEN, auto_callbacks=True, clock=clock) as api:
        yield api


@pytest.fixture
async def client(fake: FakeTwilioAPI) -> AsyncIterator[Client]:
    http = AsyncTwilioHttpClient()
    c = Client(SID, TOKEN, http_client=http)
    c.api.base_url = fake.base_url
    c.content.base_url = fake.base_url
    yield c
    await http.close()


async def final_status(fake: FakeTwilioAPI, receiver: Receiver, sid: str) -> tuple[str, str]:  # noqa: F811
    await fake.drain_callbacks()
    form = [form for form, _ok in receiver.calls if form["MessageSid"] == sid][-1]
    return form["MessageStatus"], form.get("ErrorCode", "")


async def test_free_text_inside_the_window_is_delivered(fake, client, receiver, clock):  # noqa: F811
    fake.declare_inbound(TO)
    clock.now += timedelta(hours=23, minutes=59)
    sent = await client.messages.create_async(
        to="whatsapp:" + TO, from_=FROM, body="Merci", status_callback=receiver.url
    )
    assert await final_status(fake, receiver, sent.sid) == ("delivered", "")


async def test_free_text_outside_the_window_fails_with_63016(fake, client, receiver, clock):  # noqa: F811
    fake.declare_inbound(TO)
    clock.now += timedelta(hours=24, minutes=1)
    sent = await client.messages.create_async(
        to="whatsapp:" + TO, from_=FROM, body="Alerte", status_callback=receiver.url
    )
    assert sent.status == "queued"  # accepted first, as Twilio does; refused in the callback
    assert await final_status(fake, receiver, sent.sid) == ("failed", "63016")
    # Never written at all: outside too. SMS has no window.
    other = await client.messages.create_async(
        to="whatsapp:+22376000001", from_=FROM, body="Alerte", status_callback=receiver.url
    )
    assert await final_status(fake, receiver, other.sid) == ("failed", "63016")


async def test_an_approved_template_goes_outside_the_window(fake, client, receiver):  # noqa: F811
    sid = fake.add_template("benkadi_alerte", "fr", "Alerte Benkadi : {{1}}", {"1": "texte"})
    sent = await client.messages.create_async(
        to="whatsapp:" + TO,
        from_=FROM,
        content_sid=sid,
        content_variables=json.dumps({"1": "réunion mardi"}),
        status_callback=receiver.url,
    )
    assert sent.body == "Alerte Benkadi : réunion mardi"
    assert fake.sent[-1].params["ContentSid"] == sid
    assert await final_status(fake, receiver, sent.sid) == ("delivered", "")


async def test_a_template_not_approved_is_free_text_to_whatsapp(fake, client, receiver):  # noqa: F811
    sid = fake.add_template("benkadi_bm", "bm", "{{1}}", {"1": "x"}, status="pending")
    sent = await client.messages.create_async(
        to="whatsapp:" + TO, from_=FROM, content_sid=sid,
        content_variables=json.dumps({"1": "a"}), status_callback=receiver.url,
    )  # fmt: skip
    assert await final_status(fake, receiver, sent.sid) == ("failed", "63016")


@pytest.mark.parametrize(
    ("sid", "variables", "code"),
    [
        ("HX" + "0" * 32, {"1": "a"}, 21655),  # no such template
        ("nope", {"1": "a"}, 21655),
        (None, {"1": "a"}, 21654),  # variables without a template
        ("known", {"1": ""}, 21656),  # an empty variable
        ("known", {}, 21656),  # a variable missing
    ],
)
async def test_template_errors_have_twilio_codes(fake, client, sid, variables, code):
    known = fake.add_template("t", "fr", "{{1}}", {"1": "x"})
    params = {"to": "whatsapp:" + TO, "from_": FROM, "body": "x" if sid is None else None}
    params = {k: v for k, v in params.items() if v is not None}
    if sid is not None:
        params["content_sid"] = known if sid == "known" else sid
    params["content_variables"] = json.dumps(variables)
    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(**params)
    assert caught.value.code == code and caught.value.status == 400


async def test_invalid_whatsapp_recipients_fail_in_the_callback(fake, client, receiver):  # noqa: F811
    fake.declare_inbound(TO)
    fake.whatsapp_failing(TO, 63024)
    sent = await client.messages.create_async(
        to="whatsapp:" + TO, from_=FROM, body="x", status_callback=receiver.url
    )
    assert await final_status(fake, receiver, sent.sid) == ("failed", "63024")


async def test_content_api_lists_templates_with_approvals_over_pages(fake, client):
    for n in range(3):
        fake.add_template(f"t{n}", "fr", "{{1}}", {"1": "x"}, status="approved")
    fake.add_template("t3", "bm", "x", {}, status="rejected")
    listed = await client.content.v1.content_and_approvals.list_async(page_size=2)
    assert [(c.friendly_name, c.language) for c in listed] == [
        ("t0", "fr"), ("t1", "fr"), ("t2", "fr"), ("t3", "bm"),
    ]  # fmt: skip
    assert [c.approval_requests["status"] for c in listed] == ["approved"] * 3 + ["rejected"]
    assert listed[0].types == {"twilio/text": {"body": "{{1}}"}}
    plain = await client.content.v1.contents.list_async()
    assert len(plain) == 4 and plain[0].variables == {"1": "x"}
    paths = [r["path"] for r in fake.requests]
    assert "/v1/ContentAndApprovals" in paths and "/v1/Content" in paths


async def test_content_api_needs_the_credentials(fake):
    http = AsyncTwilioHttpClient()
    try:
        c = Client(SID, "wrong", http_client=http)
        c.content.base_url = fake.base_url
        # The SDK's pages raise the plain TwilioException, the answer attached.
        with pytest.raises(TwilioException) as caught:
            await c.content.v1.content_and_approvals.list_async()
        assert caught.value.args[1].status_code == 401
    finally:
        await http.close()


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("deux\nlignes", 63013),  # a line break in a value
        ("a     b", 63013),  # more than four spaces
        ("x" * 1100, 63021),  # the body over 1,024 characters
    ],
)
async def test_whatsapp_refuses_template_values_it_cannot_carry(
    fake,
    client,
    receiver,  # noqa: F811 - the fixture
    value,
    code,
):
    sid = fake.add_template("t", "fr", "Benkadi : {{1}}", {"1": "x"})
    sent = await client.messages.create_async(
        to="whatsapp:" + TO, from_=FROM, content_sid=sid,
        content_variables=json.dumps({"1": value}), status_callback=receiver.url,
    )  # fmt: skip
    assert await final_status(fake, receiver, sent.sid) == ("failed", str(code))
