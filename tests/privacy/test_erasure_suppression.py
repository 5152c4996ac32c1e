"""Whoever erased themselves is not brought back: a member registers by SMS and sends OUBLIER;
the national directory imported later still lists their number (in another notation) among
others: the dry run and the import (CLI and API) leave that line out, named, without the number;
the others are created and invited, the erased one neither; no LIER code goes to the number.
Registering again by themselves, from that number, lifts it. The list holds a keyed hash of the
number, never the number."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.vocabulary.i18n import in_language
from storage import rate_counts, suppression
from storage.database import Database
from storage.models import ErasureSuppression, Member
from storage.suppression import SuppressionKey
from storage.types import utcnow
from tests import cli
from tests.factories import add_member
from tests.gateway.test_registration_e2e import converse_sms, register_quickly

AWA, BINTA, COUMBA = "+22376123456", "+22376000102", "+22366000103"
DIRECTORY = (
    "Nom;Téléphone;Organisation;Région\n"
    "Binta Sow;0022376000102;AFEM;Kayes\n"
    "Awa Diarra;76 12 34 56;AFEM;Kayes\n"  # line 3: the number Awa erased, as Excel has it
    "Coumba Touré;66.00.01.03;Musow Ka Jama;Mopti\n"
)
ERASED = "personne effacée à sa demande : pas réimportée"


async def stored(database: Database) -> list[ErasureSuppression]:
    async with database.sessions() as session:
        return list(await session.scalars(select(ErasureSuppression)))


async def erase_by_sms(h, number: str) -> None:
    await register_quickly(h, number)
    [question] = await converse_sms(h, number, ["OUBLIER"])
    assert "1 Oui" in question
    [goodbye] = await converse_sms(h, number, ["1"])
    assert "effacées" in goodbye
    await h.settle()


async def test_an_erased_member_is_neither_reimported_nor_invited_until_they_come_back(
    harness, tmp_path, capsys
):
    h = harness
    await erase_by_sms(h, AWA)
    [entry] = await stored(h.database)
    assert entry.erased_on == utcnow().date()
    assert "123456" not in entry.digest and len(entry.digest) == 64
    assert await h.address("sms", AWA) is None  # OUBLIER still deletes the address itself
    sent_to_awa = len(h.twilio.messages_to(AWA))

    path = tmp_path / "annuaire.csv"
    path.write_bytes(DIRECTORY.encode("cp1252"))
    # The dry run says it, line by line, and writes nothing.
    assert await cli.run(h.settings, "members", "import", str(path), "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"{path}:3: telephone: {ERASED} [refused]" in out
    assert "2 would be created, 0 would be merged, 1 refused (1 erased at their request)" in out
    assert "76 12 34 56" not in out and AWA not in out and "123456" not in out
    assert await cli.run(h.settings, "members", "import", str(path), "--dry-run", "--json") == 0
    plan = json.loads(capsys.readouterr().out)
    assert (plan["created"], plan["erased"], plan["people"]["erased"]) == (2, 1, [3])
    assert plan["problems"] == [
        {"line": 3, "field": "telephone", "message": ERASED, "refused": True}
    ]
    assert len(await h.members()) == 1  # only Awa's anonymous tombstone

    # The import: the two others created and invited; nothing of Awa.
    assert await cli.run(h.settings, "members", "import", str(path), "--json") == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["created"], done["invited"], done["erased"], done["refused"]) == (2, 2, 1, 1)
    h.dispatcher.wake()
    [binta_invitation] = await h.sms_replies(BINTA, 1)
    await h.sms_replies(COUMBA, 1)
    assert "OUI" in binta_invitation
    await h.settle()
    assert len(h.twilio.messages_to(AWA)) == sent_to_awa  # no invitation to the erased number
    assert await h.address("sms", AWA) is None
    names = sorted(m.name or "" for m in await h.members())
    assert names == ["", "Binta Sow", "Coumba Touré"]

    # LIER: whoever types that number in Telegram gets no code sent to it, and is told only
    # that SMS is not available (nothing says the number was ever known).
    async with h.database.transaction() as connection:
        await add_member(
            connection, name="Fanta", region="segou", now=utcnow(),
            addresses=[("telegram", "8001")],
        )  # fmt: skip
    await h.tg(8001, "LIER")
    await h.tg(8001, "76 12 34 56")
    answer = (await h.tg_replies(8001, 2))[-1].text
    assert answer == in_language(
        "fr", "L'envoi de SMS n'est pas disponible pour le moment. Réessayez plus tard."
    )
    await h.settle()
    assert len(h.twilio.messages_to(AWA)) == sent_to_awa
    refused = await rate_counts.refusals(h.database, utcnow() - timedelta(hours=1))
    assert refused.get("link.erased") == 1

    # Awa comes back herself, from that number, with consent: the suppression is lifted.
    await register_quickly(h, AWA)
    assert await stored(h.database) == []
    async with h.database.sessions() as session:
        back = await session.scalar(
            select(Member).where(Member.erased_at.is_(None), Member.name == "Awa")
        )
    assert back is not None and back.consent_at is not None
    # A later import finds her as the member she is again: merged, not refused.
    assert await cli.run(h.settings, "members", "import", str(path), "--dry-run", "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["erased"], again["merged"]) == (0, 3)


async def test_the_api_import_leaves_the_erased_line_out_too(harness):
    from gateway.api.common import PREFIX
    from storage.tokens import create_token

    h = harness
    await erase_by_sms(h, AWA)
    token = await create_token(h.database, "sec-1", "secretariat", actor="test")
    headers = {"Authorization": f"Bearer {token}"}
    for query in ("dry_run=1&filename=a.csv", "filename=a.csv"):
        async with h.http.post(
            h.url + PREFIX + "/members/import?" + query, headers=headers, data=DIRECTORY.encode()
        ) as response:
            assert response.status == 200
            summary = await response.json()
        assert (summary["created"], summary["erased"], summary["people"]["erased"]) == (2, 1, [3])
        assert [p["message"] for p in summary["problems"]] == [ERASED]
        assert AWA not in json.dumps(summary)
    assert summary["invited"] == 2


async def test_a_telegram_only_person_is_imported_and_said_not_invitable(harness, tmp_path, capsys):
    h = harness
    path = tmp_path / "annuaire.csv"
    path.write_text("Nom;Téléphone;Telegram;Région\nFanta Keïta;;@fanta_k;Ségou\n")
    assert await cli.run(h.settings, "members", "import", str(path)) == 0
    out = capsys.readouterr().out
    assert f"{path}:2: telegram: Telegram username only" in out and "[imported, not invited]" in out
    assert "1 person with only a Telegram username: not invited" in out
    assert "0 invitations queued" in out


@pytest.mark.unit
def test_the_stored_value_is_a_keyed_hash_not_the_number():
    one, other = SuppressionKey(b"deployment one"), SuppressionKey(b"deployment two")
    digest = one.digest(suppression.PHONE, AWA)
    assert AWA not in digest and AWA[1:] not in digest and "76123456" not in digest
    assert digest == one.digest(suppression.PHONE, AWA)  # the same key finds it again
    assert digest != other.digest(suppression.PHONE, AWA)  # another key: another value
    assert digest != one.digest(suppression.TELEGRAM, AWA)  # the kind is part of it
    import hashlib

    assert digest != hashlib.sha256(AWA.encode()).hexdigest()  # not a plain hash
    assert one.key_id != other.key_id and len(one.key_id) == 16
    assert suppression.kind_of("sms") == suppression.kind_of("whatsapp") == suppression.PHONE


async def test_the_list_holds_digests_and_counts_entries_of_another_key(database):
    one, other = SuppressionKey(b"deployment one"), SuppressionKey(b"deployment two")
    now = utcnow()
    async with database.transaction() as connection:
        await suppression.suppress(connection, one, [("phone", AWA), ("telegram", "8001")], now)
        await suppression.suppress(connection, one, [("phone", AWA)], now)  # once only
    rows = await stored(database)
    assert sorted(r.digest for r in rows) == sorted(
        [one.digest("phone", AWA), one.digest("telegram", "8001")]
    )
    async with database.sessions() as session:
        raw = " ".join(
            str(v) for r in await session.execute(select(ErasureSuppression.__table__)) for v in r
        )
    assert AWA not in raw and "8001" not in raw.replace(str(now.date()), "")
    async with database.transaction() as connection:
        assert await suppression.is_suppressed(connection, one, "phone", AWA)
        assert not await suppression.is_suppressed(connection, other, "phone", AWA)
        assert await suppression.other_keys(connection, other) == 2
        assert await suppression.lift(connection, one, [("phone", AWA)]) == 1
        assert not await suppression.is_suppressed(connection, one, "phone", AWA)


async def test_the_list_is_kept_by_default_and_purged_after_a_configured_period(database):
    from storage import retention

    key, now = SuppressionKey(b"deployment one"), utcnow()
    async with database.transaction() as connection:
        await suppression.suppress(connection, key, [("phone", AWA)], now - timedelta(days=40))
        await suppression.suppress(connection, key, [("phone", BINTA)], now - timedelta(days=5))
    assert retention.Schedule().erased is None  # the default: kept
    done = await retention.purge(database, retention.Schedule(), now, "t")
    assert done["erasure_suppressions"] == 0 and len(await stored(database)) == 2
    schedule = retention.parse_schedule("erased=30")
    assert (await retention.plan(database, schedule, now))["erasure_suppressions"] == 1
    done = await retention.purge(database, schedule, now, "t")
    assert done["erasure_suppressions"] == 1
    async with database.transaction() as connection:
        assert await suppression.is_suppressed(connection, key, "phone", BINTA)
        assert not await suppression.is_suppressed(connection, key, "phone", AWA)


async def test_invitations_without_any_sms_route_wait_in_the_outbox_and_the_import_says_so(
    tmp_path, capsys
):
    from gateway.settings import Settings
    from storage.migrate import upgrade
    from storage.models import OutboxMessage

    url = f"sqlite:///{tmp_path / 'benkadi.db'}"
    database = Database(url)
    await upgrade(database.engine)
    settings = Settings.from_env({"BENKADI_DATABASE_URL": url})  # no Twilio, no phone
    path = tmp_path / "annuaire.csv"
    path.write_text(DIRECTORY)
    assert await cli.run(settings, "members", "import", str(path)) == 0
    out = capsys.readouterr().out
    assert "3 invitations queued" in out and "no SMS route" in out
    async with database.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    assert [(row.channel, row.status) for row in rows] == [("sms", "queued")] * 3  # held
    # The dispatcher, finding no route, leaves them queued: no attempt counted, none failed,
    # the reason on the row (visible in the outbox), tried again later.
    from gateway.sending.dispatcher import Dispatcher
    from gateway.sending.routes import with_routes

    channels = await with_routes(database, {}, settings)
    await Dispatcher(database, channels, linger=0).dispatch_channel("sms")
    async with database.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    assert {(row.status, row.attempts) for row in rows} == {("queued", 0)}
    # The first says why; the channel then pauses, and the others wait for it ("paused").
    assert "no SMS route is up" in {row.error_message for row in rows}
    await database.dispose()


async def test_invitations_and_reminders_never_go_to_an_address_on_the_list(database):
    """The last check on the one path that writes first to someone who has not joined: however
    a number on the list came to be an imported person's, nothing is queued to it."""
    from bot import invitations
    from storage.models import OutboxMessage

    key, now = SuppressionKey(b"deployment one"), utcnow()
    async with database.transaction() as connection:
        barred = await add_member(
            connection, name="X", region="kayes", now=now, consented=False, imported_at=now,
            addresses=[("sms", AWA)],
        )  # fmt: skip
        free = await add_member(
            connection, name="Y", region="kayes", now=now, consented=False, imported_at=now,
            addresses=[("sms", BINTA)],
        )  # fmt: skip
        await suppression.suppress(connection, key, [("phone", AWA)], now)
        assert await invitations.invite(connection, [barred, free], now, None, key) == [free]
        later = now + timedelta(days=8)
        assert await invitations.remind(connection, later, timedelta(days=7), None, key) == [free]
        recipients = list(await connection.scalars(select(OutboxMessage.recipient)))
    assert recipients == [BINTA, BINTA]  # the invitation and the reminder, none to AWA


async def test_an_import_warns_of_entries_made_under_another_secret(tmp_path, capsys):
    from gateway.settings import Settings
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'benkadi.db'}"
    database = Database(url)
    await upgrade(database.engine)
    async with database.transaction() as connection:  # made before the secret was changed
        await suppression.suppress(connection, SuppressionKey(b"old"), [("phone", AWA)], utcnow())
    await database.dispose()
    settings = Settings.from_env({"BENKADI_DATABASE_URL": url})  # its own, generated secret
    path = tmp_path / "annuaire.csv"
    path.write_text(DIRECTORY)
    assert await cli.run(settings, "members", "import", str(path), "--dry-run") == 0
    captured = capsys.readouterr()
    assert "3 would be created" in captured.out  # the old entry matches nobody now…
    assert "warning: 1 entries of the erasure list" in captured.err  # …and that is said
