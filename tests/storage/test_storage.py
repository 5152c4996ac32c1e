"""The store on every configured backend: SQLite always, PostgreSQL when one is configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from bot.model import Inbound
from bot.service import ConversationService, Received
from storage import members as member_store
from storage import messages as message_store
from storage.migrate import current_revision
from storage.models import Address, Base, Broadcast, Conversation, Member, OutboxMessage
from tests.factories import TEST_ERASURE_KEY


async def test_migrated_to_head(freshly_migrated_database):
    # One chain: a single head, and the database Alembic just migrated stands on it.
    database = freshly_migrated_database
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1
    assert await current_revision(database.engine) == heads[0]


async def test_migrations_build_exactly_the_models(freshly_migrated_database):
    database = freshly_migrated_database
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert differences == []


async def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_database):
    async with sqlite_database.sessions() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_address_created_once(database):
    async with database.transaction() as connection:
        first = await member_store.address_for(connection, "sms", "+22376123456")
        again = await member_store.address_for(connection, "sms", "+22376123456")
        other = await member_store.address_for(connection, "whatsapp", "+22376123456")
    assert first.id == again.id != other.id


async def test_inbound_is_deduplicated_on_provider_id(database):
    async with database.transaction() as connection:
        assert await message_store.record_inbound(connection, "sms", "SM1", None, "a")
        assert not await message_store.record_inbound(connection, "sms", "SM1", None, "a")
        assert await message_store.record_inbound(connection, "telegram", "SM1", None, "a")


async def test_outbox_is_unique_per_broadcast_and_member(database):
    async with database.session_transaction() as session:
        member = Member(name="Awa", language="fr")
        broadcast = Broadcast(texts={"fr": "x"}, created_by="test")
        session.add_all([member, broadcast])
        await session.flush()
        member_id, broadcast_id = member.id, broadcast.id
    row = {
        "member_id": member_id,
        "broadcast_id": broadcast_id,
        "channel": "sms",
        "recipient": "+22376123456",
        "body": "x",
    }
    async with database.transaction() as connection:
        await message_store.enqueue(connection, [row])
    with pytest.raises(IntegrityError):
        async with database.transaction() as connection:
            await message_store.enqueue(connection, [row])
    async with database.transaction() as connection:  # replies (no broadcast) may repeat
        await message_store.enqueue(connection, [{**row, "broadcast_id": None}] * 2)
        assert await connection.scalar(select(func.count()).select_from(OutboxMessage)) == 3


async def test_timestamps_come_back_as_aware_utc(database):
    moment = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    async with database.transaction() as connection:
        address = await member_store.address_for(connection, "sms", "+22376000001")
        await member_store.update_address(connection, address.id, opted_out_at=moment)
    async with database.sessions() as session:
        stored = await session.scalar(select(Address.opted_out_at).where(Address.id == address.id))
    assert stored == moment and stored.tzinfo is not None


async def test_organisations_are_one_whatever_the_spelling(database):
    async with database.transaction() as connection:
        first = await member_store.organisation_id_named(connection, "ONG Kènèya")
        second = await member_store.organisation_id_named(connection, "  ong KENEYA ")
    assert first == second


async def test_conversation_is_kept_and_forgotten(database):
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    async with database.transaction() as connection:
        address = await member_store.address_for(connection, "telegram", "42")
        await message_store.save_conversation(
            connection, address.id, "registration", "name", {"a": 1}, now, later
        )
        await message_store.save_conversation(
            connection, address.id, "registration", "region", {"a": 2}, now, later
        )
    async with database.transaction() as connection:
        kept = await message_store.load_conversation(connection, address.id)
        assert (kept.flow, kept.step, kept.data, kept.expires_at) == (
            "registration",
            "region",
            {"a": 2},
            later,
        )
        await message_store.save_conversation(connection, address.id, None)
    async with database.sessions() as session:
        assert await session.get(Conversation, address.id) is None


async def test_a_whole_registration_through_the_service(database):
    """The dialogue's shell on each backend: state, effects and replies in one transaction."""
    service = ConversationService(database, erasure_key=TEST_ERASURE_KEY)
    lines = ["INSCRIPTION", "Awa", "AMSS", "4", "0", "1 2", "2", "2", "3", "1", "1"]
    for number, line in enumerate(lines):
        handled = await service.handle(
            Received("sms", "+22376123456", f"SM{number}", Inbound("sms", line))
        )
        assert not handled.duplicate and handled.queued >= 1
    async with database.sessions() as session:
        member = await session.scalar(select(Member))
        replies = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert (member.name, member.region, member.themes, member.language) == (
        "Awa",
        "sikasso",
        ["vbg", "participation"],
        "bm",
    )
    assert (member.sex, member.age_band) == ("m", "36+")
    assert replies == len(lines)


async def test_expired_dialogue_offers_to_resume(database):
    service = ConversationService(database, erasure_key=TEST_ERASURE_KEY)
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    await service.handle(
        Received("sms", "+22376123456", "SM1", Inbound("sms", "INSCRIPTION")), now=start
    )
    await service.handle(Received("sms", "+22376123456", "SM2", Inbound("sms", "Awa")), now=start)
    later = start + timedelta(days=2)
    await service.handle(Received("sms", "+22376123456", "SM3", Inbound("sms", "AMSS")), now=later)
    await service.handle(
        Received("sms", "+22376123456", "SM4", Inbound("sms", "1")), now=later
    )  # resume
    await service.handle(Received("sms", "+22376123456", "SM5", Inbound("sms", "AMSS")), now=later)
    async with database.sessions() as session:
        bodies = list(await session.scalars(select(OutboxMessage.body).order_by(OutboxMessage.id)))
    assert "terminé" in bodies[2] and "1 Continuer" in bodies[2]
    assert "organisation" in bodies[3]  # the question left unanswered, asked again
    assert "région" in bodies[4]


async def test_a_long_read_does_not_hold_writers_back(sqlite_database):
    """Readers begin deferred on SQLite (WAL): a preview or an export never blocks webhooks."""
    import asyncio

    async with sqlite_database.sessions() as reader:
        await reader.execute(text("SELECT count(*) FROM members"))  # a read transaction is open
        async with asyncio.timeout(2):
            async with sqlite_database.transaction() as connection:
                await member_store.address_for(connection, "sms", "+22376000009")


async def test_a_database_error_quotes_no_value_into_the_log(database):
    """The error's message is what a log.exception line records: the SQL, not the values (a
    member's name, what they wrote)."""
    with pytest.raises(IntegrityError) as raised:
        async with database.transaction() as connection:
            await connection.execute(
                Address.__table__.insert(),
                [{"channel": "sms", "address": "Fanta Keïta écrit"}] * 2,
            )
    assert "Fanta" not in str(raised.value) and "INSERT INTO addresses" in str(raised.value)
