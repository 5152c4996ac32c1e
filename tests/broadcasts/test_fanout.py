"""Fan-out: one row per member, never twice; each member's text in their language, as their
channel should get it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.vocabulary.sms_text import gsm_friendly, sms_size
from broadcasts import service
from broadcasts.model import Audience, Draft
from broadcasts.sms import body_rules
from storage.database import Database
from storage.outbox.fanout import fan_out
from tests.broadcasts.conftest import ALL_CHANNELS, BAMBARA, count_outbox, outbox_rows

# One ê makes it UCS-2, but it fits one segment either way: the GSM-friendly spelling saves
# nothing, so it goes as written.
SHORT_FRENCH = "Fête des femmes : rendez-vous à la Maison de la femme."
# Long enough that the ê costs a second segment: over SMS it goes GSM-friendly.
LONG_FRENCH = (
    "Fête des femmes le 8 mars : rendez-vous à 9h à la Maison de la femme, avec vos "
    "pancartes et vos témoignages."
)


def test_the_texts_are_what_the_tests_say_they_are():
    assert (sms_size(BAMBARA).segments, sms_size(gsm_friendly(BAMBARA)).segments) == (2, 1)
    assert sms_size(SHORT_FRENCH).encoding == "UCS-2" and sms_size(SHORT_FRENCH).segments == 1
    assert (sms_size(LONG_FRENCH).segments, sms_size(gsm_friendly(LONG_FRENCH)).segments) == (2, 1)


async def send(database, draft: Draft, enabled=ALL_CHANNELS) -> dict[str, tuple[str, str]]:
    broadcast_id = await service.create(database, draft, "test")
    await service.send_now(database, broadcast_id, "test", enabled_channels=enabled)
    return {row.name: (row.channel, row.body) for row in await outbox_rows(database, broadcast_id)}


async def test_each_member_gets_their_language_or_french(database, membership):
    bodies = await send(database, Draft(texts={"fr": SHORT_FRENCH, "bm": BAMBARA}))
    assert bodies == {
        "Awa": ("sms", SHORT_FRENCH),  # GSM-friendly would save nothing
        "Binta": ("telegram", BAMBARA),
        "Coumba": ("whatsapp", BAMBARA),  # letters as written, not billed by segment
        "Nana": ("telegram", SHORT_FRENCH),  # en: no text, French
        "Oumou": ("sms", SHORT_FRENCH),
        "Salimata": ("sms", SHORT_FRENCH),  # ff: no text, French
        "Zeinab": ("telegram", SHORT_FRENCH),
    }


async def test_sms_goes_gsm_friendly_when_it_saves_segments(database, membership):
    sms_only = Audience(channels=("sms",))
    bodies = await send(
        database, Draft(texts={"fr": LONG_FRENCH, "bm": BAMBARA}, audience=sms_only)
    )
    french, bambara = gsm_friendly(LONG_FRENCH), gsm_friendly(BAMBARA)
    assert bodies == {
        "Awa": ("sms", french),
        "Binta": ("sms", bambara),
        "Coumba": ("sms", bambara),
        "Oumou": ("sms", french),
        "Salimata": ("sms", french),
    }


async def test_sms_as_written_when_the_broadcast_says_so(database, membership):
    draft = Draft(
        texts={"fr": LONG_FRENCH, "bm": BAMBARA},
        audience=Audience(channels=("sms",)),
        sms_gsm_safe=False,
    )
    bodies = await send(database, draft)
    assert {name: body for name, (_channel, body) in bodies.items()} == {
        "Awa": LONG_FRENCH,
        "Binta": BAMBARA,
        "Coumba": BAMBARA,
        "Oumou": LONG_FRENCH,
        "Salimata": LONG_FRENCH,
    }


async def test_rows_are_bulk_and_due_now(database, membership):
    now = datetime(2026, 11, 25, 8, tzinfo=UTC)
    broadcast_id = await service.create(database, Draft(texts={"fr": "Bonjour"}), "test")
    await service.send_now(database, broadcast_id, "test", enabled_channels=ALL_CHANNELS, now=now)
    rows = await outbox_rows(database, broadcast_id)
    assert len(rows) == 7
    for row in rows:
        assert (row.priority, row.status, row.attempts, row.choices) == (1, "queued", 0, None)
        assert row.next_attempt_at == row.created_at == row.updated_at == now
        assert row.address_id is not None and row.recipient


async def test_fanning_out_again_adds_nothing(database, membership):
    draft = Draft(texts={"fr": "Bonjour"})
    broadcast_id = await service.create(database, draft, "test")
    rules = (draft.audience, body_rules(draft))
    now = datetime.now(UTC)
    async with database.transaction() as connection:
        assert await fan_out(connection, broadcast_id, *rules, ALL_CHANNELS, now) == 7
    async with database.transaction() as connection:
        assert await fan_out(connection, broadcast_id, *rules, ALL_CHANNELS, now) == 0
    assert await count_outbox(database) == 7


async def test_two_processes_fanning_out_at_once_make_each_row_once(database, membership):
    draft = Draft(texts={"fr": "Bonjour"})
    broadcast_id = await service.create(database, draft, "test")
    rules = (draft.audience, body_rules(draft))
    other = Database(database.url)

    async def run(db: Database) -> int:
        async with db.transaction() as connection:
            return await fan_out(connection, broadcast_id, *rules, ALL_CHANNELS, datetime.now(UTC))

    try:
        made = await asyncio.gather(run(database), run(other))
    finally:
        await other.dispose()
    assert sorted(made) == [0, 7]
    assert await count_outbox(database) == 7
