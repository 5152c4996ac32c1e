"""Campaign calendars over the HTTP API: viewers read, the secretariat enables and disables,
errors as 400/404 naming the field; and the scheduler inside the running app making a due
message a broadcast that goes out for real through the SDKs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from broadcasts.campaigns.files import CAMPAIGNS_DIR
from storage import audit
from storage.models import CampaignBroadcast
from storage.tokens import create_token
from tests.campaigns.conftest import SHIPPED
from tests.gateway.test_api import AWA, CHAT, add_members, call
from tests.harness import start_harness, stop_harness

YEAR = 2026


async def test_viewers_read_the_calendar(app_harness, tokens):
    status, body, _ = await call(app_harness, "GET", "/campaigns")
    assert status == 401
    status, body, _ = await call(app_harness, "GET", f"/campaigns?year={YEAR}", tokens["viewer"])
    assert status == 200 and body["year"] == YEAR and body["errors"] == []
    assert [c["name"] for c in body["campaigns"]] == sorted(SHIPPED)
    assert body["directory"] == str(CAMPAIGNS_DIR)
    await add_members(app_harness.database)
    status, body, _ = await call(
        app_harness, "GET", f"/campaigns/8-mars?year={YEAR}", tokens["viewer"]
    )
    assert status == 200
    assert [(m["message"], m["local_time"]) for m in body["messages"]] == [
        ("rappel", f"{YEAR}-03-01 10:00"),
        ("jour", f"{YEAR}-03-08 09:00"),
    ]
    first = body["messages"][0]
    assert first["audience"]["recipients"] == 2  # Awa (SMS) and Bintou (Telegram)
    assert first["audience"]["by_language"] == {"bm": 1, "fr": 1}
    assert {language: t["sms"]["segments"] for language, t in first["texts"].items()} == {
        "fr": 2,
        "bm": 2,
        "ff": 1,
        "ses": 1,
        "en": 1,
    }
    assert {language: t["awaiting_review"] for language, t in first["texts"].items()} == {
        "fr": False, "bm": True, "ff": True, "ses": True, "en": False,
    }  # fmt: skip


async def test_the_secretariat_enables_and_disables(app_harness, tokens):
    path = "/campaigns/16-jours/enable"
    status, body, _ = await call(app_harness, "POST", path, tokens["viewer"], json={"year": YEAR})
    assert status == 403
    status, body, _ = await call(
        app_harness, "POST", path, tokens["secretariat"], json={"year": YEAR}
    )
    assert (status, body) == (200, {"campaign": "16-jours", "year": YEAR, "enabled": True,
                                    "was": False})  # fmt: skip
    status, body, _ = await call(
        app_harness, "POST", "/campaigns/16-jours/disable", tokens["admin"], json={"year": YEAR}
    )
    assert (status, body["enabled"], body["was"]) == (200, False, True)
    entries = await audit.entries(app_harness.database)
    assert [(e["actor"], e["action"], e["target"], e["details"]) for e in entries[:2]] == [
        ("token:admin-1", "campaign.disable", "campaign:16-jours", {"year": YEAR, "was": True}),
        ("token:secretariat-1", "campaign.enable", "campaign:16-jours", {"year": YEAR,
                                                                          "was": False}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "field"),
    [
        ("POST", "/campaigns/noel/enable", {"year": YEAR}, 404, "name"),
        ("GET", "/campaigns/noel", None, 404, "name"),
        ("POST", "/campaigns/8-mars/enable", {}, 400, "year"),
        ("POST", "/campaigns/8-mars/enable", {"year": "l'an prochain"}, 400, "year"),
        ("POST", "/campaigns/8-mars/enable", {"year": 1990}, 400, "year"),
        ("GET", "/campaigns/8-mars?year=26", None, 400, "year"),
        ("GET", "/campaigns?year=abc", None, 400, "year"),
        # an edited text goes as typed: a placeholder left in would reach members as "{theme}"
        (
            "PUT",
            "/campaigns/8-mars/texts",
            {"year": YEAR, "message": "jour", "texts": {"fr": "Thème {year} : {theme}"}},
            400,
            "texts.fr",
        ),
        (
            "POST",
            "/campaigns/8-mars/messages",
            {
                "year": YEAR,
                "key": "marche",
                "day": f"{YEAR}-12-07",
                "texts": {"fr": "Ok.", "bm": "{theme}"},
            },
            400,
            "texts.bm",
        ),
    ],
)
async def test_errors_name_the_field(app_harness, tokens, method, path, payload, status, field):
    got, body, _ = await call(app_harness, method, path, tokens["secretariat"], json=payload)
    assert (got, body.get("field")) == (status, field), body
    entries = await audit.entries(app_harness.database)
    assert [e for e in entries if e["action"].startswith("campaign.")] == []


async def test_the_running_scheduler_makes_a_due_message_a_broadcast(tmp_path):
    """The app's own scheduler (as `benkadi serve` runs it), on the real clock: a campaign due
    now goes out once enabled, over SMS and Telegram, and only once."""
    now = datetime.now(UTC)
    if (now.hour, now.minute) == (23, 59):  # the message's day must not end during the test
        await asyncio.sleep(61 - now.second)
        now = datetime.now(UTC)
    when = (
        'date = "02-28"\n[[messages]]\nkey = "maintenant"\noffset = 1\n'
        if (now.month, now.day) == (2, 29)
        else f'[[messages]]\nkey = "maintenant"\ndate = "{now:%m-%d}"\n'
    )
    directory = tmp_path / "campaigns"
    directory.mkdir()
    (directory / "maintenant.toml").write_text(
        f'name = "maintenant"\ntitle = "Essai"\nsend_time = "{now:%H:%M}"\n{when}'
        'texts = { fr = "Réunion de la coordination.", bm = "Ɲɔgɔnye bɛ kɛ." }\n',
        "utf-8",
    )
    harness, runner = await start_harness(
        f"sqlite:///{tmp_path / 'b.db'}",
        schedule_interval=0.05,
        campaigns_dir=str(directory),
        sms_quiet_hours="off",
    )
    try:
        await add_members(harness.database)
        token = await create_token(harness.database, "awa", "secretariat", actor="test")
        await asyncio.sleep(0.3)
        assert harness.twilio.sent == []  # not enabled: nothing
        status, _, _ = await call(
            harness, "POST", "/campaigns/maintenant/enable", token, json={"year": now.year}
        )
        assert status == 200
        await asyncio.sleep(0.3)
        assert harness.twilio.sent == []  # enabled, its texts not approved: nothing
        status, _, _ = await call(
            harness, "POST", "/campaigns/maintenant/approve", token, json={"year": now.year}
        )
        assert status == 200
        [sms] = await harness.twilio.wait_for_messages(1, timeout=10)
        assert (sms.to, sms.body) == (AWA, "Réunion de la coordination.")
        [telegram] = await harness.telegram.wait_for_messages(1, timeout=10, chat_id=CHAT)
        assert telegram.text == "Ɲɔgɔnye bɛ kɛ."
        await asyncio.sleep(0.3)
        async with harness.database.sessions() as session:
            rows = (await session.execute(select(CampaignBroadcast.__table__))).all()
        assert [(row.campaign, row.message, row.year) for row in rows] == [
            ("maintenant", "maintenant", now.year)
        ]
        assert len(harness.twilio.sent) == 1
    finally:
        await stop_harness(harness, runner)


async def test_the_secretariat_edits_a_year_over_the_api(app_harness, tokens):
    from broadcasts.campaigns.calendar import parse_campaign

    year = datetime.now(UTC).year + 1
    base = "/campaigns/8-mars"
    status, body, _ = await call(
        app_harness, "PUT", f"{base}/theme", tokens["viewer"],
        json={"year": year, "theme": {"fr": "Paix"}},
    )  # fmt: skip
    assert status == 403
    status, body, _ = await call(
        app_harness, "PUT", f"{base}/theme", tokens["secretariat"],
        json={"year": year, "theme": {"fr": "Paix"}, "revision": 0},
    )  # fmt: skip
    assert status == 200 and body["theme"] == {"fr": "Paix"} and body["revision"] == 1
    status, body, _ = await call(
        app_harness, "POST", f"{base}/move", tokens["secretariat"],
        json={"year": year, "message": "jour", "day": f"{year}-03-09", "revision": 0},
    )  # fmt: skip
    assert status == 409 and body["field"] == "revision"  # revision 0 is no longer current
    status, body, _ = await call(
        app_harness, "POST", f"{base}/move", tokens["secretariat"],
        json={"year": year, "message": "jour", "day": f"{year + 1}-03-09"},
    )  # fmt: skip
    assert status == 400 and body["field"] == "day"
    status, body, _ = await call(
        app_harness, "POST", f"{base}/messages", tokens["secretariat"],
        json={"year": year, "key": "bilan", "day": f"{year}-03-20",
              "texts": {"fr": "Bilan du 8 mars : merci à toutes et tous."}},
    )  # fmt: skip
    assert status == 201 and body["message"] == "bilan"
    status, body, _ = await call(app_harness, "GET", f"{base}?year={year}", tokens["viewer"])
    assert [(m["message"], m["added"]) for m in body["messages"]] == [
        ("rappel", False), ("jour", False), ("bilan", True),
    ]  # fmt: skip
    assert body["theme"] == {"fr": "Paix"} and body["revision"] == 2
    assert (body["approved_by"], body["approved_at"]) == (None, None)  # nothing goes out yet
    async with app_harness.http.get(
        app_harness.url + f"/api/v1{base}/export.toml?year={year}",
        headers={"Authorization": f"Bearer {tokens['viewer']}"},
    ) as response:
        assert response.status == 200 and response.content_type == "application/toml"
        loaded = parse_campaign(await response.text(), "8-mars.toml", stem="8-mars")
    assert loaded.themes[year] == {"fr": "Paix"} and loaded.messages[-1].key == "bilan"
    status, body, _ = await call(
        app_harness, "DELETE", f"{base}/messages/bilan?year={year}", tokens["secretariat"]
    )
    assert status == 200 and body["removed"] is True
    entries = await audit.entries(app_harness.database, 20)
    actions = [e["action"] for e in entries if e["action"].startswith("campaign.")]
    assert sorted(actions) == ["campaign.add", "campaign.remove", "campaign.theme"]
