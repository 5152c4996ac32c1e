"""Erasure (OUBLIER, and the departed purge that erases the same way) takes the free text a
member typed in poll answers; the answers stay counted, with no text."""

from __future__ import annotations

from sqlalchemy import func, select

from storage import members as member_store
from storage.models import Poll, PollResponse, PollSession
from storage.types import utcnow
from tests.factories import add_member

responses = PollResponse.__table__


async def test_erasure_takes_the_poll_answers_text_and_keeps_the_answers(database):
    now = utcnow()
    async with database.transaction() as connection:
        awa = await add_member(connection, name="Awa", region="kayes", now=now)
        other = await add_member(connection, name="Binta", region="kayes", now=now)
        poll_id = await connection.scalar(
            Poll.__table__.insert()
            .values(slug="besoins", title="Besoins", definition={}, status="launched",
                    created_by="test", created_at=now)
            .returning(Poll.__table__.c.id)
        )  # fmt: skip
        for member_id, text in ((awa, "AWA-TYPED"), (other, "BINTA-TYPED")):
            session_id = await connection.scalar(
                PollSession.__table__.insert()
                .values(poll_id=poll_id, member_id=member_id, invited_at=now, current_at=now)
                .returning(PollSession.__table__.c.id)
            )
            await connection.execute(
                responses.insert().values(
                    session_id=session_id, poll_id=poll_id, question="q1", position=1,
                    text=text, channel="sms", answered_at=now,
                )
            )  # fmt: skip
    async with database.transaction() as connection:
        await member_store.erase_member(connection, awa, utcnow())
    async with database.sessions() as session:
        texts = set(await session.scalars(select(responses.c.text)))
        answers = await session.scalar(select(func.count()).select_from(responses))
    assert texts == {None, "BINTA-TYPED"} and answers == 2
