"""The HTTP API end to end: tokens and roles, drafts refused by field, broadcasts sent for real
through the SDKs to the fake providers, cancellation, the audit log."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from gateway.api.common import PREFIX
from gateway.app import create_app
from gateway.fakes import FakeTelegramAPI, FakeTwilioAPI
from gateway.settings import Settings
from storage.models import AdminToken, Broadcast, Organisation
from storage.tokens import authenticate, create_token, list_tokens
from tests import harness as h
from tests.factories import add_member
from tests.templates import copy_migrated_sqlite

AWA, BINTOU, CHAT = "+22376123456", "+22365432100", 4242


@pytest.fixture
async def app_harness(tmp_path):
    """The whole app (create_app) with both channels on the fake providers."""
    telegram, twilio = FakeTelegramAPI(h.TOKEN), FakeTwilioAPI(h.ACCOUNT_SID, h.AUTH_TOKEN)
    await telegram.start()
    await twilio.start()
    listening = h.listening_socket()
    port = listening.getsockname()[1]
    copy_migrated_sqlite(tmp_path / "benkadi.db")  # the app finds it at head
    settings = Settings.from_env(
        {
            "BENKADI_DATABASE_URL": f"sqlite:///{tmp_path / 'benkadi.db'}",
            "BENKADI_PORT": str(port),
            "TELEGRAM_BOT_TOKEN": h.TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": "s3cret-api",
            "TELEGRAM_API_URL": telegram.root_url,
            "TWILIO_ACCOUNT_SID": h.ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": h.AUTH_TOKEN,
            "TWILIO_FROM": h.BENKADI_NUMBER,
            "TWILIO_API_URL": twilio.base_url,
        },
        migrate_on_start=True,
        dispatch_interval=0.05,
    )
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, listening).start()
    running = h.Harness(
        f"http://127.0.0.1:{port}", settings, app, telegram, twilio, aiohttp.ClientSession()
    )
    yield running
    await h.stop_harness(running, runner)


@pytest.fixture
async def tokens(app_harness) -> dict[str, str]:
    return {
        role: await create_token(app_harness.database, f"{role}-1", role, actor="test")
        for role in ("viewer", "secretariat", "admin")
    }


async def call(harness, method: str, path: str, token: str | None = None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with harness.http.request(
        method, harness.url + PREFIX + path, headers=headers, **kwargs
    ) as response:
        return response.status, await response.json(), response.headers


async def add_members(database) -> None:
    """Awa on SMS, Bintou on Telegram (Bambara), and one without consent who gets nothing."""
    now = datetime.now(UTC)
    async with database.transaction() as connection:
        org = await connection.scalar(
            Organisation.__table__.insert()
            .values(name="ONG Kènèya", name_key="ong keneya", kind="ong", listed=True)
            .returning(Organisation.__table__.c.id)
        )
        people = [
            ("Awa", "sikasso", "fr", now, "sms", AWA),
            ("Bintou", "kayes", "bm", now, "telegram", str(CHAT)),
            ("Sans accord", "kayes", "fr", None, "sms", BINTOU),
        ]
        for name, region, language, consent, channel, address in people:
            await add_member(
                connection, name=name, region=region, language=language, now=now,
                organisation_id=org, addresses=[(channel, address)], consented=consent is not None,
            )  # fmt: skip


async def broadcast_count(harness) -> int:
    async with harness.database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Broadcast))


DRAFT = {
    "title": "Réunion",
    "texts": {"fr": "Réunion de la coordination jeudi à 9h.", "bm": "Ɲɔgɔnye bɛ kɛ alamisadon."},
    "audience": {"themes": ["vbg"]},
}


async def test_missing_wrong_or_revoked_token_is_401(app_harness, tokens):
    for token in (None, "bk_not-a-real-token", "Basic abc"):
        status, payload, headers = await call(app_harness, "GET", "/broadcasts", token)
        assert status == 401 and payload["error"]
        assert headers["WWW-Authenticate"].startswith("Bearer")
    status, payload, _ = await call(app_harness, "GET", "/tokens", tokens["admin"])
    viewer_id = next(t["id"] for t in payload["tokens"] if t["role"] == "viewer")
    status, _, _ = await call(app_harness, "DELETE", f"/tokens/{viewer_id}", tokens["admin"])
    assert status == 200
    status, payload, headers = await call(app_harness, "GET", "/broadcasts", tokens["viewer"])
    assert status == 401 and "revoked" in payload["error"]


async def test_roles(app_harness, tokens):
    viewer, secretariat = tokens["viewer"], tokens["secretariat"]
    assert (await call(app_harness, "GET", "/broadcasts", viewer))[0] == 200
    for method, path in (
        ("POST", "/broadcasts"),
        ("POST", "/broadcasts/preview"),
        ("POST", "/broadcasts/1/send"),
        ("POST", "/broadcasts/1/cancel"),
        ("GET", "/audit"),
        ("GET", "/tokens"),
    ):
        status, payload, _ = await call(app_harness, method, path, viewer, json=DRAFT)
        assert status == 403, (method, path)
        assert "viewer" in payload["error"]
    for method, path in (("GET", "/audit"), ("GET", "/tokens"), ("POST", "/tokens")):
        status, _, _ = await call(app_harness, method, path, secretariat, json={})
        assert status == 403, (method, path)
    assert await broadcast_count(app_harness) == 0


async def test_bad_drafts_name_the_field_and_create_nothing(app_harness, tokens):
    await add_members(app_harness.database)
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    cases = [
        ({**DRAFT, "texts": {"fr": "  "}}, "texts.fr"),
        ({**DRAFT, "texts": {"fr": "x" * 1601}}, "texts.fr"),
        ({**DRAFT, "texts": {"fr": "Bonjour", "bm": ""}}, "texts.bm"),
        # 801 letters, but 1,602 once ɲ is spelt ny to fit GSM-7, as it would be sent
        ({**DRAFT, "texts": {"fr": "Bonjour", "bm": "ɲ" * 801}}, "texts.bm"),
        ({**DRAFT, "texts": {"fr": "😀" * 801}}, "texts.fr"),  # two UTF-16 units each
        ({**DRAFT, "audience": {"regions": ["atlantis"]}}, "audience.regions"),
        ({**DRAFT, "audience": {"themes": ["football"]}}, "audience.themes"),
        ({**DRAFT, "audience": {"organisations": ["ONG Inconnue"]}}, "audience.organisations"),
        ({**DRAFT, "send_at": past}, "send_at"),
        ([1, 2], "body"),
    ]
    only_create = [
        ({**DRAFT, "send_at": "2999-01-01T08:00", "send": True}, "send"),
        ({**DRAFT, "send": "yes"}, "send"),
    ]
    for path, more in (("/broadcasts", only_create), ("/broadcasts/preview", [])):
        for payload, field in cases + more:
            status, answer, _ = await call(
                app_harness, "POST", path, tokens["secretariat"], json=payload
            )
            assert (status, answer.get("field")) == (400, field), (path, payload, answer)
            assert answer["error"]
        status, answer, _ = await call(
            app_harness, "POST", path, tokens["secretariat"], data=b"{not json"
        )
        assert (status, answer["field"]) == (400, "body")
    assert await broadcast_count(app_harness) == 0


async def test_preview_then_create_and_send_to_the_providers(app_harness, tokens):
    await add_members(app_harness.database)
    secretariat = tokens["secretariat"]
    status, preview, _ = await call(
        app_harness, "POST", "/broadcasts/preview", secretariat, json=DRAFT
    )
    assert status == 200
    assert preview["recipients"] == 2
    assert preview["reached"]["by_channel"] == {"telegram": 1, "whatsapp": 0, "sms": 1}
    assert preview["excluded"]["by_reason"]["no_consent"] == 1
    assert await broadcast_count(app_harness) == 0  # a preview creates nothing

    status, created, headers = await call(
        app_harness, "POST", "/broadcasts", secretariat, json={**DRAFT, "send": True}
    )
    assert status == 201 and created["queued"] == 2 and created["status"] == "sending"
    assert headers["Location"] == f"{PREFIX}/broadcasts/{created['id']}"
    await app_harness.settle()
    [sms] = app_harness.twilio.messages_to(AWA)
    assert sms.body.startswith("Réunion de la coordination")
    [telegram] = await app_harness.tg_replies(CHAT, 1)
    assert telegram.text == DRAFT["texts"]["bm"]  # her language, as written

    status, report, _ = await call(
        app_harness, "GET", f"/broadcasts/{created['id']}", tokens["viewer"]
    )
    assert status == 200
    assert report["recipients"] == 2
    assert report["counts"] == {"sms": {"sent": 1}, "telegram": {"sent": 1}}
    assert report["totals"] == {"sent": 2} and report["failures"] == []
    status, listed, _ = await call(app_harness, "GET", "/broadcasts", tokens["viewer"])
    assert [b["id"] for b in listed["broadcasts"]] == [created["id"]]

    status, again, _ = await call(
        app_harness, "POST", f"/broadcasts/{created['id']}/send", secretariat
    )
    assert status == 409 and "sending" in again["error"]


async def test_draft_then_send_and_unknown_ids(app_harness, tokens):
    await add_members(app_harness.database)
    secretariat = tokens["secretariat"]
    status, created, _ = await call(app_harness, "POST", "/broadcasts", secretariat, json=DRAFT)
    assert (status, created["status"], created["recipients"]) == (201, "draft", 0)
    assert app_harness.twilio.sent == []
    status, sent, _ = await call(
        app_harness, "POST", f"/broadcasts/{created['id']}/send", secretariat
    )
    assert (status, sent["queued"], sent["status"]) == (200, 2, "sending")
    for method, path in (
        ("GET", "/broadcasts/999"),
        ("POST", "/broadcasts/999/send"),
        ("POST", "/broadcasts/999/cancel"),
        ("GET", "/broadcasts/99999999999999"),
    ):
        status, answer, _ = await call(app_harness, method, path, secretariat)
        assert status == 404 and answer["error"], (method, path)


async def test_cancel_a_scheduled_broadcast(app_harness, tokens):
    await add_members(app_harness.database)
    secretariat = tokens["secretariat"]
    status, created, _ = await call(
        app_harness,
        "POST",
        "/broadcasts",
        secretariat,
        json={**DRAFT, "send_at": "2999-11-25T08:00"},
    )
    assert (status, created["status"]) == (201, "scheduled")
    assert created["send_at"].startswith("2999-11-25T08:00")  # 08:00 in Bamako is 08:00 UTC
    path = f"/broadcasts/{created['id']}"
    status, cancelled, _ = await call(app_harness, "POST", path + "/cancel", secretariat)
    assert (status, cancelled["status"], cancelled["cancelled"]) == (200, "cancelled", 0)
    assert (await call(app_harness, "POST", path + "/cancel", secretariat))[0] == 409
    assert (await call(app_harness, "POST", path + "/send", secretariat))[0] == 409
    assert app_harness.twilio.sent == []


async def test_tokens_and_audit(app_harness, tokens):
    admin = tokens["admin"]
    status, issued, _ = await call(
        app_harness, "POST", "/tokens", admin, json={"name": "Aminata", "role": "secretariat"}
    )
    assert status == 201 and issued["token"].startswith("bk_") and issued["warning"]
    status, listed, _ = await call(app_harness, "GET", "/tokens", admin)
    assert {t["name"] for t in listed["tokens"]} == {
        "viewer-1",
        "secretariat-1",
        "admin-1",
        "Aminata",
    }
    assert "token_hash" not in json.dumps(listed) and issued["token"] not in json.dumps(listed)

    status, created, _ = await call(app_harness, "POST", "/broadcasts", issued["token"], json=DRAFT)
    assert status == 201
    status, _, _ = await call(app_harness, "DELETE", f"/tokens/{issued['id']}", admin)
    assert status == 200
    assert (await call(app_harness, "GET", "/broadcasts", issued["token"]))[0] == 401
    assert (await call(app_harness, "DELETE", "/tokens/999", admin))[0] == 404
    for bad, field in (({"name": "x", "role": "root"}, "role"), ({"role": "viewer"}, "name")):
        status, answer, _ = await call(app_harness, "POST", "/tokens", admin, json=bad)
        assert (status, answer["field"]) == (400, field)

    status, audit, _ = await call(app_harness, "GET", "/audit", admin)
    assert status == 200
    seen = [(e["actor"], e["action"], e["target"]) for e in audit["entries"]]
    assert seen[:3] == [
        ("token:admin-1", "token.revoke", f"token:{issued['id']}"),
        ("token:Aminata", "broadcast.create", f"broadcast:{created['id']}"),
        ("token:admin-1", "token.create", f"token:{issued['id']}"),
    ]
    assert ("test", "token.create", "token:1") in seen
    status, answer, _ = await call(app_harness, "GET", "/audit?limit=0", admin)
    assert (status, answer["field"]) == (400, "limit")


async def test_tokens_are_stored_hashed_and_last_use_is_coarse(sqlite_database):
    token = await create_token(sqlite_database, "Aminata", "viewer")
    async with sqlite_database.sessions() as session:
        stored = await session.scalar(select(AdminToken.token_hash))
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    assert await authenticate(sqlite_database, token[:-1]) is None
    assert await authenticate(sqlite_database, "") is None
    who = await authenticate(sqlite_database, token)
    assert (who.name, who.role) == ("Aminata", "viewer")
    [first] = await list_tokens(sqlite_database)
    await authenticate(sqlite_database, token)
    [second] = await list_tokens(sqlite_database)
    assert first["last_used_at"] and second["last_used_at"] == first["last_used_at"]
