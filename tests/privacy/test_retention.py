"""Retention: two years of traffic on a test clock, the scheduler purging daily; what the
schedule says is gone is gone (database, WAL and photo files), every total is unchanged, and
each purge is in the audit log."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from broadcasts import service as broadcasts
from gateway.channels.twilio_media import TwilioMedia
from gateway.fakes import FakeTwilioAPI
from gateway.inbound.media import MediaFetcher
from gateway.sending.scheduler import Scheduler
from storage import provider_media, retention
from storage import reports as report_store
from storage.models import (
    Address,
    AuditEntry,
    Broadcast,
    BroadcastDeliveryCount,
    InboundMessage,
    Member,
    OutboxMessage,
    Report,
)
from storage.reports import ReportFilter
from tests.factories import add_member
from tests.harness import ACCOUNT_SID, AUTH_TOKEN
from tests.reports.test_photos import phone_photo

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
DAYS = int(os.environ.get("RETENTION_TEST_DAYS", "780"))
STEP = 4  # a tick every fourth day (each purges): the same schedule, a quarter of the time
TRAFFIC = range(0, DAYS, STEP)
inbound, outbox, reports = InboundMessage.__table__, OutboxMessage.__table__, Report.__table__
members, addresses = Member.__table__, Address.__table__
PHOTO = phone_photo(64, 48)  # GPS, device, a comment ("Centre d'accueil…"): none of it kept


async def _traffic(database, day: int, now: datetime, members_ids, twilio) -> None:
    """One day: a member writes and is answered; every 28th day a broadcast to everyone (one
    failure) and a WhatsApp report with a phone's photo (GPS, comment), held at the fake
    Twilio until the fetcher takes it."""
    async with database.transaction() as connection:
        address_id = await connection.scalar(
            select(addresses.c.id).where(addresses.c.member_id == members_ids[0])
        )
        await connection.execute(
            inbound.insert().values(
                channel="sms", provider_id=f"SM{day}", address_id=address_id,
                body=f"MARKER-IN-{day:04d}", received_at=now,
            )
        )  # fmt: skip
        await connection.execute(
            outbox.insert().values(
                address_id=address_id, member_id=members_ids[0], channel="sms",
                recipient="+22376000001", body=f"MARKER-OUT-{day:04d}", status="delivered",
                created_at=now, sent_at=now, next_attempt_at=now,
            )
        )  # fmt: skip
        if day % 28:
            return
        broadcast_id = await connection.scalar(
            Broadcast.__table__.insert()
            .values(
                title=f"Alerte {day}", texts={"fr": "Alerte"}, status="sent", created_by="test",
                created_at=now, fanned_out_at=now, finished_at=now, recipients=len(members_ids),
            )
            .returning(Broadcast.__table__.c.id)
        )  # fmt: skip
        rows = [
            {
                "member_id": member_id, "broadcast_id": broadcast_id, "channel": "sms",
                "recipient": f"+2237600000{n}", "body": "Alerte", "priority": 1,
                "status": "failed" if n == 0 else "delivered",
                "error_code": "30003" if n == 0 else None,
                "error_message": "unreachable" if n == 0 else None,
                "created_at": now, "next_attempt_at": now,
            }
            for n, member_id in enumerate(members_ids)
        ]  # fmt: skip
        await connection.execute(outbox.insert(), rows)
        media_url = twilio.add_media("MM" + f"{day:032x}", PHOTO)
        await report_store.insert_report(
            connection,
            members_ids[1],
            {
                "activity": "sensibilisation", "date": now.date().isoformat(), "region": "kayes",
                "commune": "Kayes", "women": 10 + day % 7, "men": 3, "girls": 2, "boys": 1,
                "description": f"MARKER-REPORT-{day:04d}", "channel": "whatsapp",
                "photo": media_url, "media_kind": "twilio",
            },
            now,
        )  # fmt: skip


async def test_two_years_of_traffic_purged_daily(database, tmp_path):
    media_dir = tmp_path / "media"
    media_dir.mkdir()
    async with FakeTwilioAPI(ACCOUNT_SID, AUTH_TOKEN) as twilio:
        twilio_media = TwilioMedia(ACCOUNT_SID, AUTH_TOKEN, twilio.base_url)
        await twilio_media.start()
        try:
            await _two_years(database, media_dir, twilio, twilio_media)
        finally:
            await twilio_media.stop()


async def _two_years(database, media_dir: Path, twilio, twilio_media) -> None:
    async with database.transaction() as connection:
        staying = [
            await add_member(
                connection, name=f"Membre {n}", region="kayes", now=START,
                addresses=[("sms", f"+2237600000{n}")],
            )
            for n in range(4)
        ]  # fmt: skip
        leaving = await add_member(
            connection, name="Fanta Partie", region="sikasso", now=START,
            addresses=[("sms", "+22376999999")],
        )  # fmt: skip
        await connection.execute(
            addresses.update()
            .where(addresses.c.member_id == leaving)
            .values(opted_out_at=START + timedelta(days=20))
        )
        await connection.execute(
            addresses.insert().values(channel="sms", address="+22376888888", created_at=START)
        )
    clock = [START]
    schedule = retention.Schedule()
    scheduler = Scheduler(
        database, ["sms"], lambda: None, clock=lambda: clock[0],
        retention_schedule=schedule, media_dir=str(media_dir),
    )  # fmt: skip

    fetcher = MediaFetcher(database, None, media_dir, 1.0, twilio_media, clock=lambda: clock[0])
    totals_before: dict[int, dict] = {}
    for day in TRAFFIC:
        clock[0] = START + timedelta(days=day)
        await _traffic(database, day, clock[0], staying, twilio)
        if day == 56:  # Twilio down that day: the photo is fetched at a later tick
            twilio.fail_next_media(1, 503)
        if day == 112:
            twilio.fail_next_media_delete(1, 500, 20500)
        await fetcher.fetch_due()
        await fetcher.delete_due()
        if day % 28 == 0:  # totals as they were when each broadcast was done
            newest = (await broadcasts.list_broadcasts(database, limit=1))[0]
            totals_before[newest["id"]] = await broadcasts.get_status(database, newest["id"])
        if day == 400:
            reports_before = await report_store.summary(database, ReportFilter())
        await scheduler.tick()
    now = clock[0]
    reports_after_traffic = await report_store.summary(database, ReportFilter())

    async with database.sessions() as session:
        # Messages: bodies older than 90 days are gone, the rows (and so the counts) stay.
        old_bodies = await session.scalar(
            select(func.count()).where(
                inbound.c.body.is_not(None), inbound.c.received_at < now - timedelta(days=90)
            )
        )
        assert old_bodies == 0
        assert await session.scalar(select(func.count()).select_from(inbound)) == len(TRAFFIC)
        kept = await session.scalar(select(func.count()).where(inbound.c.body.is_not(None)))
        assert kept == len([d for d in TRAFFIC if d >= TRAFFIC[-1] - 90])  # the last 90 days
        old_replies = await session.scalar(
            select(func.count()).where(
                outbox.c.broadcast_id.is_(None), outbox.c.body != "",
                outbox.c.created_at < now - timedelta(days=90),
            )
        )  # fmt: skip
        assert old_replies == 0
        # Deliveries: rows older than a year are gone, counted first.
        old_rows = await session.scalar(
            select(func.count()).where(
                outbox.c.broadcast_id.is_not(None), outbox.c.created_at < now - timedelta(days=365)
            )
        )
        assert old_rows == 0
        assert await session.scalar(select(func.count()).select_from(BroadcastDeliveryCount))
        # Reports: text, photo and reporter gone after two years; figures kept.
        purged = (
            await session.execute(
                select(reports).where(reports.c.submitted_at < now - timedelta(days=730))
            )
        ).all()
        assert purged and all(
            r.description == "" and r.media_path is None and r.media_ref is None
            and r.member_id is None and r.text_purged_at is not None
            for r in purged
        )  # fmt: skip
        # The member who said STOP 780 days ago is erased; the stranger's address deleted.
        gone = (await session.execute(select(members).where(members.c.id == leaving))).one()
        assert gone.erased_at is not None and gone.name is None
        assert not (await session.scalars(select(addresses.c.address))).all().count("+22376888888")
        assert await session.scalar(
            select(func.count()).where(members.c.erased_at.is_(None))
        ) == len(staying)
        purges = (
            await session.execute(
                select(AuditEntry.__table__.c.at).where(
                    AuditEntry.__table__.c.action == retention.PURGE_ACTION
                )
            )
        ).all()
    # One each (daily) tick but the first, at the start (ten minutes later at the earliest).
    assert len(purges) == len(TRAFFIC) - 1

    # Totals of every broadcast are what they were before its rows went.
    for broadcast_id, before in totals_before.items():
        after = await broadcasts.get_status(database, broadcast_id)
        assert (after["counts"], after["totals"], after["failures"]) == (
            before["counts"], before["totals"], before["failures"],
        ), broadcast_id  # fmt: skip
    # Report totals: the same figures whatever was purged.
    assert reports_after_traffic[: len(reports_before)] == reports_before
    assert sum(row[-1] for row in reports_after_traffic) == sum(
        (10 + d % 7) + 6 for d in range(0, DAYS, 28)
    )

    # Every photo was fetched cleaned (no EXIF/GPS) and deleted at Twilio (one after a 503,
    # one deletion after a 500); files of purged reports are gone, the others still there.
    assert twilio.media_held() == [] and len(twilio.media_deleted) == len(range(0, DAYS, 28))
    async with database.transaction() as connection:
        assert await provider_media.pending(connection) == []
    async with database.sessions() as session:
        held = set(await session.scalars(select(reports.c.media_path).where(
            reports.c.media_path.is_not(None))))  # fmt: skip
    kept_days = [d for d in range(0, DAYS, 28) if START + timedelta(days=d) >= now - timedelta(730)]
    assert len(held) == len(kept_days)
    assert _files(media_dir) == held
    for data in _contents(held):
        assert data.startswith(b"\xff\xd8") and b"Exif" not in data and b"accueil" not in data

    if database.is_sqlite:  # nothing purged is left in the file or its WAL
        raw = _file_and_wal(Path(database.engine.url.database))
        assert b"MARKER-IN-0004" not in raw and b"MARKER-OUT-0004" not in raw
        assert b"MARKER-REPORT-0000" not in raw
        assert f"MARKER-IN-{TRAFFIC[-1]:04d}".encode() in raw


def _files(folder: Path) -> set[str]:
    return {str(p.resolve()) for p in folder.iterdir()}


def _contents(paths: set[str]) -> list[bytes]:
    return [Path(p).read_bytes() for p in paths]


def _file_and_wal(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_dry_run_says_what_would_go_and_changes_nothing(database):
    now = START + timedelta(days=100)
    async with database.transaction() as connection:
        member_id = await add_member(
            connection, name="Awa", region="kayes", now=START, addresses=[("sms", "+22376000001")]
        )
        await connection.execute(
            inbound.insert().values(
                channel="sms", provider_id="SM1", body="vieux", received_at=START
            )
        )
    plan = await retention.plan(database, retention.Schedule(), now)
    assert plan["message_bodies"] == 1 and plan["departed_members"] == 0
    async with database.sessions() as session:
        assert await session.scalar(select(inbound.c.body)) == "vieux"
        assert await session.scalar(select(members.c.name).where(members.c.id == member_id))


@pytest.mark.unit
def test_schedule_from_configuration():
    schedule = retention.parse_schedule("messages=30, deliveries=forever")
    assert schedule.messages == timedelta(days=30) and schedule.deliveries is None
    assert schedule.report_text == timedelta(days=730)
    with pytest.raises(ValueError, match="photos"):
        retention.parse_schedule("photos=3")
    with pytest.raises(ValueError, match="number of days"):
        retention.parse_schedule("messages=soon")


async def test_cli_purge_dry_run_then_for_real(database, capsys):
    import json

    from gateway.settings import Settings
    from storage.types import utcnow
    from tests import cli

    async with database.transaction() as connection:
        await connection.execute(
            inbound.insert().values(
                channel="sms",
                provider_id="SM9",
                body="ancien",
                received_at=utcnow() - timedelta(100),
            )
        )
    settings = Settings.from_env({"BENKADI_DATABASE_URL": database.url})
    capsys.readouterr()
    assert await cli.run(settings, "privacy", "purge", "--dry-run", "--json") == 0
    assert json.loads(capsys.readouterr().out)["would_remove"]["message_bodies"] == 1
    async with database.sessions() as session:
        assert await session.scalar(select(inbound.c.body)) == "ancien"
        assert not await session.scalar(
            select(func.count()).where(AuditEntry.__table__.c.action == retention.PURGE_ACTION)
        )
    assert await cli.run(settings, "privacy", "purge", "--json") == 0
    assert json.loads(capsys.readouterr().out)["removed"]["message_bodies"] == 1
    async with database.sessions() as session:
        assert await session.scalar(select(inbound.c.body)) is None
        entry = (
            await session.execute(
                select(AuditEntry.__table__).where(
                    AuditEntry.__table__.c.action == retention.PURGE_ACTION
                )
            )
        ).one()
    assert entry.actor.startswith("cli:") and entry.details["removed"]["message_bodies"] == 1


async def test_purged_text_leaves_the_sqlite_file_and_its_wal(sqlite_database):
    old = START
    async with sqlite_database.transaction() as connection:
        await connection.execute(
            inbound.insert(),
            [
                {"channel": "sms", "provider_id": f"SM{n}", "received_at": old,
                 "body": f"SECRET-{n:03d} " + "violence " * 20}
                for n in range(40)
            ],
        )  # fmt: skip
    await retention.purge(sqlite_database, retention.Schedule(), old + timedelta(days=91), "test")
    raw = _file_and_wal(Path(sqlite_database.engine.url.database))
    assert b"SECRET-" not in raw and b"violence" not in raw


async def test_poll_free_text_goes_after_its_period_and_the_counts_stay(database):
    """Poll answers typed by a member are personal free text: past `poll_text` (a year) the
    text goes, the answer row (what counts and the CSV's rows are made of) stays."""
    from storage.models import Poll, PollResponse, PollSession

    responses = PollResponse.__table__
    async with database.transaction() as connection:
        member_id = await add_member(
            connection, name="Awa", region="kayes", now=START, addresses=[("sms", "+22376000001")]
        )
        poll_id = await connection.scalar(
            Poll.__table__.insert()
            .values(slug="besoins", title="Besoins", definition={}, status="launched",
                    created_by="test", created_at=START)
            .returning(Poll.__table__.c.id)
        )  # fmt: skip
        session_id = await connection.scalar(
            PollSession.__table__.insert()
            .values(poll_id=poll_id, member_id=member_id, invited_at=START, current_at=START,
                    started_at=START)
            .returning(PollSession.__table__.c.id)
        )  # fmt: skip
        await connection.execute(
            responses.insert(),
            [
                {"session_id": session_id, "poll_id": poll_id, "question": "q1", "position": 1,
                 "options": None, "text": "MARKER-POLL-OLD", "channel": "sms",
                 "answered_at": START},
                {"session_id": session_id, "poll_id": poll_id, "question": "q2", "position": 2,
                 "options": ["a"], "text": None, "channel": "sms", "answered_at": START},
                {"session_id": session_id, "poll_id": poll_id, "question": "q3", "position": 3,
                 "options": None, "text": "MARKER-POLL-NEW", "channel": "sms",
                 "answered_at": START + timedelta(days=300)},
            ],
        )  # fmt: skip
    now = START + timedelta(days=366)
    assert (await retention.plan(database, retention.Schedule(), now))["poll_texts"] == 1
    done = await retention.purge(database, retention.Schedule(), now, "test")
    assert done["poll_texts"] == 1
    async with database.sessions() as session:
        texts = dict((await session.execute(select(responses.c.question, responses.c.text))).all())
        entry = await session.scalar(
            select(AuditEntry.__table__.c.details).where(
                AuditEntry.__table__.c.action == retention.PURGE_ACTION
            )
        )
    assert texts == {"q1": None, "q2": None, "q3": "MARKER-POLL-NEW"}  # three answers still
    assert entry["removed"]["poll_texts"] == 1 and entry["schedule_days"]["poll_text"] == 365
    assert retention.parse_schedule("poll_text=forever").poll_text is None


async def test_imported_people_who_never_answered_their_invitation_are_departed(database):
    """The directory's people (issue 17) never consented until they say OUI: invited and
    reminded but silent, or refused, they are erased `departed` after their last invitation;
    one who said OUI, or was invited recently, stays."""
    from bot import invitations
    from storage.types import utcnow

    base = utcnow()  # the invitations' updates stamp updated_at with the wall clock
    async with database.transaction() as connection:
        people = {
            who: await add_member(
                connection, name=f"Import {who}", region="kayes", now=base, consented=False,
                imported_at=base, addresses=[("sms", phone)], wrote_at=None,
                sex="f", age_band="25-35", role="point focal", email=f"{who}@example.org",
            )
            for who, phone in [
                ("silent", "+22376100001"), ("refused", "+22376100002"), ("joined", "+22376100003"),
            ]
        }  # fmt: skip
        await invitations.invite(connection, list(people.values()), base, "la coordination", None)
        await invitations.remind(connection, base + timedelta(days=7), timedelta(days=7), None)
        await connection.execute(
            members.update()
            .where(members.c.id == people["refused"])
            .values(refused_at=base + timedelta(days=8), updated_at=base + timedelta(days=8))
        )
        await connection.execute(
            members.update()
            .where(members.c.id == people["joined"])
            .values(consent_at=base + timedelta(days=8), updated_at=base + timedelta(days=8))
        )
    early = await retention.plan(database, retention.Schedule(), base + timedelta(days=170))
    assert early["departed_members"] == 0  # invited less than 180 days ago: kept
    done = await retention.purge(database, retention.Schedule(), base + timedelta(days=200), "t")
    assert done["departed_members"] == 2
    async with database.sessions() as session:
        rows = {
            row.id: row
            for row in await session.execute(
                select(members).where(members.c.id.in_(people.values()))
            )
        }
        phones = set(await session.scalars(select(addresses.c.address)))
    for who in ("silent", "refused"):
        gone = rows[people[who]]
        assert gone.erased_at is not None, who
        assert (gone.name, gone.sex, gone.age_band, gone.role, gone.email) == (None,) * 5, who
    assert rows[people["joined"]].erased_at is None and rows[people["joined"]].email
    assert phones == {"+22376100003"}


async def test_a_refusal_outlives_the_purge_a_new_import_does_not_invite_again(database):
    """Who said STOP to the invitation is erased `departed` later, but the STOP stays on the
    number alone (no member, no name): the national directory imported again next year must
    not write to them again."""
    from bot.directory import run_import
    from storage.types import utcnow
    from tests.factories import TEST_ERASURE_KEY

    csv = "nom;telephone;region\nAwa Refus;76 10 00 02;Kayes\nBinta Nouvelle;76 10 00 09;Kayes\n"
    base = utcnow()
    first = await run_import(
        database, csv.encode(), "a.csv", "t", erasure_key=TEST_ERASURE_KEY, dry_run=False, now=base
    )
    assert first["invited"] == 2
    async with database.transaction() as connection:
        refused = await connection.scalar(select(members.c.id).where(members.c.name == "Awa Refus"))
        await connection.execute(
            addresses.update().where(addresses.c.member_id == refused).values(opted_out_at=base)
        )
        await connection.execute(
            members.update().where(members.c.id == refused).values(refused_at=base)
        )
    later = base + timedelta(days=200)
    done = await retention.purge(database, retention.Schedule(), later, "t")
    assert done["departed_members"] == 2  # both silent or refused for 200 days
    async with database.sessions() as session:
        kept = (await session.execute(select(addresses))).all()
    # Only the refused number, with its STOP and nobody's: the silent one's is deleted.
    assert [(a.address, a.member_id, a.opted_out_at is not None) for a in kept] == [
        ("+22376100002", None, True)
    ]
    await retention.purge(database, retention.Schedule(), later + timedelta(days=400), "t")
    again = await run_import(
        database,
        csv.encode(),
        "a.csv",
        "t",
        erasure_key=TEST_ERASURE_KEY,
        dry_run=False,
        now=later + timedelta(days=400),
    )
    assert again["created"] == 2 and again["invited"] == 1  # Binta again; Awa never
    async with database.sessions() as session:
        written = set(
            await session.scalars(select(outbox.c.recipient).where(outbox.c.created_at > later))
        )
    assert written == {"+22376100009"}


async def test_counts_kept_after_the_rows_name_no_number(database):
    """An error message a provider wrote with the number in it (stored before the channels hid
    numbers) loses the number when its row becomes a count: one count for both rows."""
    async with database.transaction() as connection:
        ids = [
            await add_member(
                connection, name=f"M{n}", region="kayes", now=START,
                addresses=[("sms", f"+2237600001{n}")],
            )
            for n in range(2)
        ]  # fmt: skip
        broadcast_id = await connection.scalar(
            Broadcast.__table__.insert()
            .values(
                title="Alerte", texts={"fr": "Alerte"}, status="sent", created_by="test",
                created_at=START, fanned_out_at=START, finished_at=START, recipients=2,
            )
            .returning(Broadcast.__table__.c.id)
        )  # fmt: skip
        await connection.execute(
            outbox.insert(),
            [
                {
                    "member_id": member_id, "broadcast_id": broadcast_id, "channel": "sms",
                    "recipient": f"+2237600001{n}", "body": "Alerte", "priority": 1,
                    "status": "failed", "error_code": "21211",
                    "error_message": f"The 'To' number +2237600001{n} is not a valid phone number.",
                    "created_at": START, "next_attempt_at": START,
                }
                for n, member_id in enumerate(ids)
            ],
        )  # fmt: skip
    done = await retention.purge(
        database, retention.Schedule(), START + timedelta(days=400), actor="test"
    )
    assert done["delivery_rows"] == 2
    async with database.sessions() as session:
        kept = (await session.execute(select(BroadcastDeliveryCount.__table__))).all()
    assert [(row.error_message, row.rows) for row in kept] == [
        ("The 'To' number +*** is not a valid phone number.", 2)
    ]
    status = await broadcasts.get_status(database, broadcast_id)
    assert "+22376" not in repr(status) and status["totals"].get("failed") == 2


async def test_a_stranger_purged_leaves_no_number_in_the_replies_they_got(database):
    stranger = "+22376555444"
    async with database.transaction() as connection:
        address_id = await connection.scalar(
            addresses.insert()
            .values(channel="sms", address=stranger, created_at=START)
            .returning(addresses.c.id)
        )
        await connection.execute(
            inbound.insert().values(
                channel="sms", provider_id="SM9", address_id=address_id, body="bonjour",
                received_at=START,
            )
        )  # fmt: skip
        await connection.execute(
            outbox.insert().values(
                address_id=address_id, channel="sms", recipient=stranger,
                body="Vous n'etes pas inscrit(e).", status="sent", created_at=START,
                sent_at=START, next_attempt_at=START,
            )
        )  # fmt: skip
    # Replies kept for ever (messages=forever): the number still goes with the address.
    schedule = retention.parse_schedule("messages=forever")
    done = await retention.purge(database, schedule, START + timedelta(days=400), actor="test")
    assert done["stranger_addresses"] == 1
    async with database.sessions() as session:
        rows = (await session.execute(select(outbox.c.recipient, outbox.c.body))).all()
        assert rows == [("", "")]  # the row stays (a count of messages), nobody's
        assert await session.scalar(select(func.count()).select_from(inbound)) == 1
        assert await session.scalar(select(inbound.c.body)) is None
        assert await session.scalar(select(func.count()).select_from(addresses)) == 0
    if database.is_sqlite:  # nor in the file or its WAL
        assert stranger.encode() not in _file_and_wal(Path(database.engine.url.database))
