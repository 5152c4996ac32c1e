"""The fake SMS Gateway for Android, driven by the official client (android_sms_gateway)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from android_sms_gateway import AsyncAPIClient, Message, TextMessage, Webhook
from android_sms_gateway.ahttp import AiohttpAsyncHttpClient
from android_sms_gateway.enums import HealthStatus, ProcessState, WebhookEvent
from android_sms_gateway.errors import APIError, BadRequestError, UnauthorizedError

from gateway.fakes.android_api import FakeAndroidGateway, sign

TO = "+22376123456"


@pytest.fixture
async def phone() -> AsyncIterator[FakeAndroidGateway]:
    fake = FakeAndroidGateway(sims={1: "+22370000001", 2: "+22365000001"})
    await fake.start()
    yield fake
    await fake.stop()


def client_for(fake: FakeAndroidGateway, password: str | None = None) -> AsyncAPIClient:
    login = None if fake.cloud else fake.login
    return AsyncAPIClient(
        login,
        password or fake.password,
        base_url=fake.base_url,
        http_client=AiohttpAsyncHttpClient(aiohttp.ClientSession()),
    )


async def close(client: AsyncAPIClient) -> None:
    assert client.http is not None
    await client.http.__aexit__(None, None, None)


class Receiver:
    """Our side of the webhooks: records what the phone posts, checks its signature."""

    def __init__(self, key: str) -> None:
        self.key, self.got, self.status = key, [], 200
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        stamp = request.headers["X-Timestamp"]
        assert request.headers["X-Signature"] == sign(self.key, raw, stamp)
        self.got.append(json.loads(raw))
        return web.Response(status=self.status)


@pytest.fixture
async def receiver(phone: FakeAndroidGateway) -> AsyncIterator[Receiver]:
    receiver = Receiver(phone.signing_key)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    yield receiver
    await runner.cleanup()


async def test_send_with_our_id_sim_and_delivery_report_then_state(phone):
    client = client_for(phone)
    try:
        state = await client.send(
            Message(
                phone_numbers=[TO],
                text_message=TextMessage(text="I ni ce"),
                sim_number=2,
                with_delivery_report=True,
                id="bk-17",
            )
        )
        assert (state.id, state.state) == ("bk-17", ProcessState.Pending)
        [sms] = phone.sent
        assert (sms.to, sms.text, sms.sim, sms.with_delivery_report) == (TO, "I ni ce", 2, True)
        await phone.reports_done()
        later = await client.get_state("bk-17")
        assert later.state == ProcessState.Delivered
        assert [r.phone_number for r in later.recipients] == [TO]
    finally:
        await close(client)


async def test_the_same_id_twice_is_a_conflict_not_a_second_sms(phone):
    client = client_for(phone)
    message = Message(phone_numbers=[TO], text_message=TextMessage(text="x"), id="bk-1")
    try:
        await client.send(message)
        with pytest.raises(APIError) as raised:
            await client.send(message)
        assert raised.value.status_code == 409
        assert len(phone.sent) == 1
    finally:
        await close(client)


async def test_bad_input_wrong_credentials_and_failures(phone):
    client, wrong = client_for(phone), client_for(phone, password="nope")
    try:
        with pytest.raises(UnauthorizedError):
            await wrong.send(Message(phone_numbers=[TO], text_message=TextMessage(text="x")))
        with pytest.raises(BadRequestError):
            await client.send(Message(phone_numbers=["12"], text_message=TextMessage(text="x")))
        with pytest.raises(BadRequestError):  # no SIM 3 in this phone
            await client.send(
                Message(phone_numbers=[TO], text_message=TextMessage(text="x"), sim_number=3)
            )
        phone.fail_next(1, 503, "Service Unavailable")
        with pytest.raises(APIError) as raised:
            await client.send(Message(phone_numbers=[TO], text_message=TextMessage(text="x")))
        assert raised.value.status_code == 503
        assert phone.sent == []
    finally:
        await close(client)
        await close(wrong)


async def test_cloud_mode_takes_a_bearer_token_under_3rdparty():
    phone = FakeAndroidGateway(cloud=True, password="jwt-token")
    await phone.start()
    client = client_for(phone)
    try:
        assert phone.base_url.endswith("/3rdparty/v1")
        await client.send(Message(phone_numbers=[TO], text_message=TextMessage(text="x")))
        assert len(phone.sent) == 1
        assert (await client.health_check()).status == HealthStatus.PASS
    finally:
        await close(client)
        await phone.stop()


async def test_per_device_limit_refuses_beyond_it():
    phone = FakeAndroidGateway(limit=3, window=60)
    await phone.start()
    client = client_for(phone)
    try:
        for n in range(3):
            await client.send(Message(phone_numbers=[TO], text_message=TextMessage(text=f"{n}")))
        with pytest.raises(APIError) as raised:
            await client.send(Message(phone_numbers=[TO], text_message=TextMessage(text="4")))
        assert raised.value.status_code == 429 and phone.refused == 1
    finally:
        await close(client)
        await phone.stop()


async def test_offline_refuses_connections_and_hang_never_answers(phone):
    client = client_for(phone)
    try:
        await phone.go_offline()
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.health_check()
        await phone.come_back()
        assert (await client.health_check()).status == HealthStatus.PASS
        phone.hang()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.health_check(), 0.2)
    finally:
        await close(client)


async def test_webhooks_crud_and_signed_events_posted_back(phone, receiver):
    client = client_for(phone)
    try:
        events = (
            WebhookEvent.SMS_RECEIVED, WebhookEvent.SMS_SENT, WebhookEvent.SMS_DELIVERED,
            WebhookEvent.SMS_FAILED, WebhookEvent.SYSTEM_PING,
        )  # fmt: skip
        for event in events:
            await client.create_webhook(
                Webhook(id=f"benkadi-{event.value}", url=receiver.url, event=event)
            )
        # Registering the same id again replaces it (how register-webhooks stays idempotent).
        await client.create_webhook(
            Webhook(id="benkadi-sms:sent", url=receiver.url, event=WebhookEvent.SMS_SENT)
        )
        hooks = await client.get_webhooks()
        assert sorted(h.event.value for h in hooks) == sorted(e.value for e in events)

        phone.fail_number("+22376000000", "RESULT_ERROR_NO_SERVICE")
        await client.send(Message(phone_numbers=[TO], text_message=TextMessage(text="a"), id="m1"))
        await client.send(
            Message(phone_numbers=["+22376000000"], text_message=TextMessage(text="b"), id="m2")
        )
        await phone.reports_done()
        await phone.text("+22366112233", "INSCRIPTION", sim=2)
        await phone.ping()
        by_event = {}
        for body in receiver.got:
            assert set(body) == {"deviceId", "event", "id", "payload", "webhookId"}
            by_event.setdefault(body["event"], []).append(body["payload"])
        assert [p["messageId"] for p in by_event["sms:sent"]] == ["m1"]
        assert [p["messageId"] for p in by_event["sms:delivered"]] == ["m1"]
        [failed] = by_event["sms:failed"]
        assert (failed["messageId"], failed["reason"]) == ("m2", "RESULT_ERROR_NO_SERVICE")
        [received] = by_event["sms:received"]
        assert (received["phoneNumber"], received["message"], received["simNumber"]) == (
            "+22366112233", "INSCRIPTION", 2,
        )  # fmt: skip
        assert by_event["system:ping"][0]["health"]["status"] == "pass"
        assert len({body["id"] for body in receiver.got}) == len(receiver.got)  # event ids unique

        for hook in hooks:
            assert hook.id is not None
            await client.delete_webhook(hook.id)
        assert await client.get_webhooks() == []
    finally:
        await close(client)


async def test_a_refused_webhook_is_posted_again(phone, receiver):
    client = client_for(phone)
    try:
        await client.create_webhook(
            Webhook(id="r", url=receiver.url, event=WebhookEvent.SMS_RECEIVED)
        )
        receiver.status = 500
        [posted] = await phone.text("+22366112233", "x")
        assert posted.status == 500 and len(receiver.got) == 1 + phone.retries
        assert len({body["id"] for body in receiver.got}) == 1  # the same event each time
    finally:
        await close(client)
