"""`benkadi gateways …` on a real database: secrets never shown back, errors naming the field,
webhooks registered on a fake phone through the official client."""

from __future__ import annotations

import json

import pytest

from gateway.fakes.android_api import FakeAndroidGateway
from gateway.settings import Settings
from storage import audit
from storage import gateways as store
from storage.types import utcnow
from tests import cli

SECRET, KEY = "pa55-word-s3cret", "signing-k3y-s3cret"


@pytest.fixture
def benkadi(database, capsys, monkeypatch):
    settings = Settings.from_env(
        {"BENKADI_DATABASE_URL": database.url, "BENKADI_PUBLIC_URL": "https://benkadi.example"}
    )
    monkeypatch.delenv("BENKADI_GATEWAY_PASSWORD", raising=False)
    monkeypatch.delenv("BENKADI_GATEWAY_SIGNING_KEY", raising=False)

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await cli.run(settings, *argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def add_phone(benkadi, name: str = "bamako-1", url: str = "http://192.168.1.20:8080"):
    return await benkadi(
        "gateways", "add", name, "--url", url, "--password", SECRET, "--signing-key", KEY,
        "--sim", "1:76 00 00 01:orange:0.02:2", "--sim", "2:+22365000001:moov",
    )  # fmt: skip


async def test_add_list_status_remove_never_showing_secrets(benkadi, database):
    code, out, _ = await add_phone(benkadi)
    assert code == 0 and "/webhooks/android/bamako-1" in out
    [gateway] = await store.load_gateways(database)
    assert [(s.slot, s.number, s.operator, s.rate_per_minute) for s in gateway.sims] == [
        (1, "+22376000001", "orange", 2.0),
        (2, "+22365000001", "moov", store.DEFAULT_SIM_RATE),
    ]
    assert gateway.password == SECRET and SECRET not in repr(gateway)
    for verb in (("list",), ("list", "--json"), ("status",), ("status", "--json")):
        code, out, err = await benkadi("gateways", *verb)
        assert code == 0 and "bamako-1" in out
        assert SECRET not in out + err and KEY not in out + err
    code, out, _ = await benkadi("gateways", "status", "--json")
    [row] = json.loads(out)
    assert row["up"] and [s["operator"] for s in row["sims"]] == ["orange", "moov"]
    assert [e["action"] for e in await audit.entries(database)] == ["gateway.add"]  # no secret
    code, out, _ = await benkadi("gateways", "set-rate", "bamako-1", "2", "20")
    assert code == 0 and "20 SMS per minute" in out
    assert (await store.load_gateways(database))[0].sims[1].rate_per_minute == 20.0
    code, _, err = await benkadi("gateways", "set-rate", "bamako-1", "3", "20")
    assert code == 2 and "benkadi: slot:" in err
    code, _, err = await benkadi("gateways", "set-rate", "bamako-1", "1", "0")
    assert code == 2 and "benkadi: rate:" in err
    code, out, _ = await benkadi("gateways", "remove", "bamako-1")
    assert code == 0 and await store.load_gateways(database) == []
    code, _, err = await benkadi("gateways", "remove", "bamako-1")
    assert code == 2 and "name" in err


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["Bad Name", "--url", "http://p:8080", "--sim", "1:+22376000001:orange"], "name"),
        (["p1", "--url", "ftp://p", "--sim", "1:+22376000001:orange"], "url"),
        (["p1", "--url", "http://sms:pw@p:8080", "--sim", "1:+22376000001:orange"], "url"),
        (["p1", "--url", "http://p:8080"], "sim"),
        (["p1", "--url", "http://p:8080", "--sim", "4:+22376000001:orange"], "sim"),
        (["p1", "--url", "http://p:8080", "--sim", "1:12:orange"], "sim"),
        (["p1", "--url", "http://p:8080", "--sim", "1:+22376000001:mtn"], "sim"),
        (["p1", "--url", "http://p:8080", "--sim", "1:+22376000001:orange:x"], "sim"),
        (["p1", "--url", "http://p:8080", "--sim", "1:+22376000001:orange:0:0"], "sim"),
        (
            ["p1", "--url", "http://p:8080", "--sim", "1:+22376000001:orange", "--hours", "8-20"],
            "hours",
        ),
    ],
)
async def test_errors_name_the_field(benkadi, database, argv, field):
    code, _, err = await benkadi(
        "gateways", "add", *argv, "--password", SECRET, "--signing-key", KEY
    )
    assert code == 2 and f"benkadi: {field}:" in err
    assert await store.load_gateways(database) == []


async def test_working_hours_on_add_and_set_hours(benkadi, database):
    code, _, _ = await benkadi(
        "gateways", "add", "p1", "--url", "http://p:8080", "--sim", "1:+22376000001:orange",
        "--password", SECRET, "--signing-key", KEY, "--hours", "08:00-20:00",
    )  # fmt: skip
    assert code == 0 and (await store.load_gateways(database))[0].working_hours == "08:00-20:00"
    code, out, _ = await benkadi("gateways", "status")
    assert "p1: sends 08:00-20:00 (Bamako time)" in out
    code, out, _ = await benkadi("gateways", "set-hours", "p1", "22:00 - 06:00")
    assert code == 0 and "sends 22:00-06:00" in out
    code, _, err = await benkadi("gateways", "set-hours", "p1", "25:00-06:00")
    assert code == 2 and "benkadi: hours:" in err
    code, out, _ = await benkadi("gateways", "set-hours", "p1", "off", "--json")
    assert code == 0 and json.loads(out)["working_hours"] is None
    assert (await store.load_gateways(database))[0].working_hours is None
    code, _, err = await benkadi("gateways", "set-hours", "nope", "off")
    assert code == 2 and "name" in err


async def test_missing_secret_names_the_field(benkadi):
    code, _, err = await benkadi(
        "gateways", "add", "p1", "--url", "http://p:8080", "--sim", "1:+22376000001:orange"
    )
    assert code == 2 and "benkadi: password:" in err


async def test_a_name_taken_is_refused(benkadi):
    assert (await add_phone(benkadi))[0] == 0
    code, _, err = await add_phone(benkadi)
    assert code == 2 and "benkadi: name:" in err


async def test_register_webhooks_points_each_event_at_us(benkadi):
    phone = FakeAndroidGateway(password=SECRET, signing_key=KEY)
    await phone.start()
    try:
        assert (await add_phone(benkadi, url=phone.base_url))[0] == 0
        for _ in range(2):  # again: replaced, not doubled
            code, out, _ = await benkadi("gateways", "register-webhooks")
            assert code == 0, out
        urls = {hook.url for hook in phone.hooks.values()}
        assert urls == {"https://benkadi.example/webhooks/android/bamako-1"}
        assert sorted(h.event for h in phone.hooks.values()) == sorted(
            ["sms:received", "sms:sent", "sms:delivered", "sms:failed", "system:ping"]
        )
        await phone.go_offline()
        code, out, _ = await benkadi("gateways", "register-webhooks", "bamako-1")
        assert code == 1 and "failed" in out and SECRET not in out
        code, _, err = await benkadi("gateways", "register-webhooks", "nowhere")
        assert code == 2 and "benkadi: name:" in err
    finally:
        await phone.stop()


async def test_preview_says_what_each_route_carries(benkadi, database):
    from storage.types import utcnow
    from tests.factories import add_member

    assert (await add_phone(benkadi))[0] == 0
    async with database.transaction() as connection:
        for n, number in enumerate(("+22376000011", "+22376000012", "+22366000013")):
            await add_member(
                connection, name=f"M{n}", region="kayes", now=utcnow(), addresses=[("sms", number)]
            )
    code, out, _ = await benkadi("broadcasts", "preview", "--text=fr=Réunion jeudi à Kayes.")
    assert code == 0, out
    assert "SMS by route:" in out and "on 1 phone" in out
    assert "bamako-1/sim1 (orange): 2 members, 2 segments, ≈ 0.04" in out
    assert "bamako-1/sim2 (moov): 1 member, 1 segment, ≈ 0.00" in out


async def test_a_cli_broadcast_reaches_sms_members_over_phones_alone(benkadi, database):
    """With Android phones and no Twilio, SMS is a channel for the CLI's previews and sends too
    (its routes are the phones), not only for `benkadi serve`."""
    from gateway.cli.common import enabled_channels

    env = {"BENKADI_DATABASE_URL": database.url, "TELEGRAM_BOT_TOKEN": "123:abc"}
    settings = Settings.from_env(env | {"TELEGRAM_WEBHOOK_SECRET": "s3cret-s3cret"})
    assert await enabled_channels(settings, database) == (["telegram"], None)
    await add_phone(benkadi)
    assert await enabled_channels(settings, database) == (["sms", "telegram"], None)


async def test_set_connection_changes_url_and_secrets_keeping_sims_and_sticky_routes(
    benkadi, database, monkeypatch
):
    await add_phone(benkadi)
    [gateway] = await store.load_gateways(database)
    async with database.transaction() as connection:
        await store.set_sticky(connection, "+22366123456", gateway.sims[1].id, utcnow())
    monkeypatch.setenv("BENKADI_GATEWAY_PASSWORD", "new-pa55")
    code, out, err = await benkadi(
        "gateways", "set-connection", "bamako-1", "--url", "http://192.168.1.31:8080",
        "--password", "--signing-key", "new-k3y",
    )  # fmt: skip
    assert code == 0 and "password, signing_key, url changed" in out
    assert "new-pa55" not in out + err and "new-k3y" not in out + err
    [changed] = await store.load_gateways(database)
    assert (changed.base_url, changed.password) == ("http://192.168.1.31:8080", "new-pa55")
    async with database.read_engine.connect() as connection:
        assert await store.webhook_key(connection, "bamako-1") == (gateway.id, "new-k3y")
    assert [s.id for s in changed.sims] == [s.id for s in gateway.sims]
    async with database.read_engine.connect() as connection:
        sticky = await store.sticky_sims(connection, ["+22366123456"])
    assert sticky == {"+22366123456": gateway.sims[1].id}  # the member keeps her number
    entry = (await audit.entries(database))[0]  # the newest
    assert entry["action"] == "gateway.connection" and "new-pa55" not in json.dumps(entry)
    code, _, err = await benkadi("gateways", "set-connection", "bamako-1")
    assert code == 2 and "url" in err and "nothing to change" in err
    code, _, err = await benkadi("gateways", "set-connection", "bamako-1", "--url", "ftp://x")
    assert code == 2 and "url" in err
    code, _, err = await benkadi("gateways", "set-connection", "nowhere", "--url", "http://a:1")
    assert code != 0 and "nowhere" in err
