"""The first Android phone on a server without Twilio: added while the service runs (the CLI,
against the same database), it is used at once — no restart: a member's SMS to it is answered
from it, a broadcast goes out through it, readiness counts it; removed, SMS is offered no more."""

from __future__ import annotations

import asyncio

import pytest

from gateway.channels.android import WEBHOOK_PATH, AndroidSender
from gateway.channels.base import enabled
from gateway.fakes.android_api import FakeAndroidGateway
from gateway.keys import CHANNELS, HEALTH
from storage import gateways as store
from storage.tokens import create_token
from tests import cli
from tests.harness import start_harness, stop_harness

MEMBER = "+22376123456"


async def readiness(harness, token: str) -> dict:
    url = harness.url + "/readyz"
    async with harness.http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        return await response.json()


async def api(harness, token: str, path: str, payload: dict | None = None) -> dict:
    url = harness.url + "/api/v1" + path
    headers = {"Authorization": f"Bearer {token}"}
    async with harness.http.post(url, json=payload or {}, headers=headers) as response:
        assert response.status in (200, 201), await response.text()
        return await response.json()


@pytest.fixture
async def no_sms(tmp_path):
    """The service running with Telegram only: no Twilio, no phone."""
    harness, runner = await start_harness(
        f"sqlite:///{tmp_path / 'benkadi.db'}", twilio_account_sid=None, twilio_auth_token=None
    )
    await asyncio.wait_for(harness.app[HEALTH].starter.up["sms"].wait(), 10)
    phone = FakeAndroidGateway(password="first-pa55", signing_key="first-key")
    await phone.start()
    yield harness, phone
    await stop_harness(harness, runner)
    await phone.stop()


async def test_the_first_phone_added_while_running_is_used_without_a_restart(no_sms, capsys):
    harness, phone = no_sms
    admin = await create_token(harness.database, "ops", "admin", actor="test")
    secretariat = await create_token(harness.database, "sec", "secretariat", actor="test")
    before = await readiness(harness, admin)
    assert before["channels"]["sms"]["routes"] == {"phones": 0, "phones_up": 0, "twilio": False}
    assert "sms" not in enabled(harness.app[CHANNELS])  # nothing to send with: not offered

    code = await cli.run(
        harness.settings, "gateways", "add", "bureau", "--url", phone.base_url,
        "--password", phone.password, "--signing-key", phone.signing_key,
        "--sim", "1:+22370000001:orange:0.01:600",  # 600 a minute: a quick test
    )  # fmt: skip
    assert code == 0, capsys.readouterr()
    [gateway] = await store.load_gateways(harness.database)
    sender = AndroidSender(gateway)
    await sender.start()
    await sender.register_webhooks(
        harness.settings.public_url + WEBHOOK_PATH.format(gateway="bureau")
    )
    await sender.stop()

    posted = await phone.text(MEMBER, "AIDE")  # the running service has not been restarted
    assert [p.status for p in posted] == [200]
    [reply] = await phone.wait_for(1, to=MEMBER, timeout=10)
    assert reply.sim == 1 and reply.text

    draft = {"texts": {"fr": "Atelier jeudi."}, "audience": {}}
    await _register(harness, phone)
    created = await api(harness, secretariat, "/broadcasts", draft)
    await api(harness, secretariat, f"/broadcasts/{created['id']}/send")
    [sent] = await phone.wait_for(1, to=REGISTERED, timeout=10)
    assert sent.text == "Atelier jeudi."

    after = await readiness(harness, admin)
    assert after["channels"]["sms"]["routes"] == {"phones": 1, "phones_up": 1, "twilio": False}
    assert after["status"] == "ready"

    code = await cli.run(harness.settings, "gateways", "remove", "bureau")
    assert code == 0, capsys.readouterr()
    await harness.app[CHANNELS]["sms"].reload()  # as its next round (5 s) would
    assert "sms" not in enabled(harness.app[CHANNELS])
    gone = await readiness(harness, admin)
    assert gone["channels"]["sms"]["routes"]["phones"] == 0


REGISTERED = "+22370112233"


async def _register(harness, phone: FakeAndroidGateway) -> None:
    """A member registered over SMS, through the new phone."""
    lines = ["Inscription", "Awa Traoré", "ONG Kènèya", "SIKASSO.", "Koutiala", "1 6", "1",
             "femme", "22", "oui", "1"]  # fmt: skip
    for line in lines:
        before = len([m for m in phone.sent if m.to == REGISTERED])
        await phone.text(REGISTERED, line)
        await phone.wait_for(before + 1, to=REGISTERED, timeout=10)
    [member] = await harness.members()
    assert member.name == "Awa Traoré"
    await harness.settle()
    phone.sent.clear()
