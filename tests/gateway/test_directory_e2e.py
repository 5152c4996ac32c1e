"""The directory through the running app: `benkadi members import`, the invitations going out
by SMS in each person's language, OUI and STOP recorded, a broadcast reaching only the joined,
and the single reminder (invitations dated back), never in the quiet hours nor to whoever
refused."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update

from broadcasts import service
from broadcasts.campaigns.runner import CampaignRunner
from broadcasts.model import BAMAKO, Draft
from broadcasts.quiet_hours import QuietHours
from gateway.sending.scheduler import Scheduler
from storage.models import Member, OutboxMessage
from storage.types import utcnow
from tests import cli
from tests.broadcasts.conftest import ALL_CHANNELS
from tests.gateway.test_api import app_harness, call, tokens  # noqa: F401 - fixtures
from tests.storage.test_directory import SAMPLE

AWA, BINTA, COUMBA, DADO = "+22376000101", "+22376000102", "+22366000103", "+22370000104"
DIRECTORY = (
    "Nom;Téléphone;Organisation;Type;Région;Langue;Sexe;Âge\n"
    "Awa Diarra;76 00 01 01;AFEM;Association;Kayes;Français;F;22\n"
    "Binta Sow;0022376000102;A.F.E.M.;association;Kayes;Bambara;F;30\n"
    "Coumba Touré;66.00.01.03;Musow Ka Jama;Groupement féminin;Mopti;fr;F;19\n"
    "Dado Maïga;+223 70-00-01-04;Musow Ka Jama;;Gao;Songhay;H;45\n"
)


async def member_named(h, name: str) -> Member:
    async with h.database.sessions() as session:
        return await session.scalar(select(Member).where(Member.name == name))


async def say(h, sender: str, text: str) -> str:
    before = len(h.twilio.messages_to(sender))
    assert (await h.sms(sender, text)).status == 200
    return (await h.sms_replies(sender, before + 1))[before]


async def test_imported_people_are_invited_and_only_those_who_say_oui_are_reached(
    harness, tmp_path, capsys
):
    h = harness
    path = tmp_path / "annuaire.csv"
    path.write_bytes(DIRECTORY.encode("cp1252"))
    assert await cli.run(h.settings, "members", "import", str(path), "--dry-run") == 0
    assert "4 would be created" in capsys.readouterr().out and await h.members() == []
    assert await cli.run(h.settings, "members", "import", str(path), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["created"], summary["invited"], summary["organisations_created"]) == (4, 4, 2)

    # One invitation each, by SMS, in their language, saying who holds the data.
    h.dispatcher.wake()
    [awa_invitation] = await h.sms_replies(AWA, 1)
    [binta_invitation] = await h.sms_replies(BINTA, 1)
    [dado_invitation] = await h.sms_replies(DADO, 1)
    await h.sms_replies(COUMBA, 1)
    assert "répertoire national des OSC" in awa_invitation and "OUI" in awa_invitation
    assert "AWO" in binta_invitation.upper() and "OSC" in binta_invitation  # Bambara
    assert "AYYO" in dado_invitation and "répertoire" not in dado_invitation  # Songhay

    # A broadcast before anyone answers reaches nobody; the preview says why.
    draft = Draft(texts={"fr": "Atelier VBG demain à Kayes"})
    preview = await service.preview(
        h.database, draft, enabled_channels=ALL_CHANNELS, price_per_segment=0.05
    )
    assert preview["recipients"] == 0 and preview["excluded"]["by_reason"]["invited"] == 4

    # Awa joins; Binta refuses; Coumba writes something else and is asked again.
    assert "Bienvenue" in await say(h, AWA, "oui")
    assert "OUI" in await say(h, COUMBA, "c'est qui ?")
    await say(h, BINTA, "STOP")
    awa, binta = await member_named(h, "Awa Diarra"), await member_named(h, "Binta Sow")
    assert awa.consent_at is not None and awa.consent_channel == "sms"
    assert binta.consent_at is None and binta.refused_at is not None
    assert (await h.address("sms", BINTA)).opted_out_at is not None

    preview = await service.preview(
        h.database, draft, enabled_channels=ALL_CHANNELS, price_per_segment=0.05
    )
    excluded = {k: v for k, v in preview["excluded"]["by_reason"].items() if v}
    assert preview["recipients"] == 1 and excluded == {"invited": 2, "refused": 1}
    broadcast = await service.create(h.database, draft, "test")
    assert await service.send_now(h.database, broadcast, "test", enabled_channels=ALL_CHANNELS) == 1
    await h.settle()
    async with h.database.sessions() as session:
        reached = list(
            await session.scalars(
                select(OutboxMessage.recipient).where(OutboxMessage.broadcast_id == broadcast)
            )
        )
    assert reached == [AWA]

    # A week on (the invitations dated back eight days): one reminder to those who never
    # answered, then nothing, ever.
    async with h.database.transaction() as connection:
        await connection.execute(
            update(Member.__table__).values(invited_at=utcnow() - timedelta(days=8))
        )
    # Not in the night's quiet hours (here: a window around now).
    around_now = utcnow().astimezone(BAMAKO)
    night = QuietHours(
        (around_now - timedelta(hours=1)).time(), (around_now + timedelta(hours=1)).time()
    )
    quiet = Scheduler(
        h.database, ALL_CHANNELS, h.dispatcher.wake, invitation_reminder=timedelta(days=7),
        campaigns=CampaignRunner(h.database, tmp_path, quiet_hours=night),
    )  # fmt: skip
    await quiet.tick()
    await h.settle()
    assert len(h.twilio.messages_to(DADO)) == 1  # the invitation only, so far
    scheduler = Scheduler(
        h.database, ALL_CHANNELS, h.dispatcher.wake, invitation_reminder=timedelta(days=7)
    )
    await scheduler.tick()
    await scheduler.tick()
    await h.settle()
    assert len(h.twilio.messages_to(COUMBA)) == 3  # invitation, the question again, reminder
    assert "rappel" in h.twilio.messages_to(COUMBA)[-1].body
    assert len(h.twilio.messages_to(DADO)) == 2  # invitation, reminder
    assert len(h.twilio.messages_to(BINTA)) == 2  # invitation, the STOP's answer: no reminder
    assert len(h.twilio.messages_to(AWA)) == 3  # invitation, welcome, the broadcast
    async with h.database.transaction() as connection:
        await connection.execute(
            update(Member.__table__).values(invited_at=utcnow() - timedelta(days=60))
        )
    await scheduler.tick()
    await h.settle()
    assert len(h.twilio.messages_to(COUMBA)) == 3 and len(h.twilio.messages_to(DADO)) == 2


async def test_the_api_plans_then_imports_and_names_every_bad_line(app_harness, tokens):  # noqa: F811
    sample = SAMPLE.read_bytes()
    path = "/members/import?dry_run=1&filename=annuaire-osc.csv"
    status, plan, _ = await call(app_harness, "POST", path, tokens["viewer"], data=sample)
    assert status == 403  # viewers read; they do not bring people in
    status, plan, _ = await call(app_harness, "POST", path, tokens["secretariat"], data=sample)
    assert status == 200 and plan["dry_run"] is True
    assert [(p["line"], p["field"]) for p in plan["problems"]] == [
        (101, "region"),
        (202, "telephone"),
        (202, "telephone"),
    ]
    assert await app_harness.members() == []
    status, done, _ = await call(
        app_harness, "POST", "/members/import?filename=a.csv", tokens["secretariat"], data=sample
    )
    assert status == 200 and (done["created"], done["invited"]) == (293, 293)
    status, error, _ = await call(
        app_harness, "POST", "/members/import", tokens["secretariat"], data=b"ville\nKayes\n"
    )
    assert status == 400 and error["field"] == "nom" and error["errors"][0]["line"] == 1
