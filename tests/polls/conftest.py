"""Fixtures for the poll tests: members on SMS and Telegram, the shipped capacity poll."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from broadcasts.polls.parse import POLLS_DIR, load_poll_file
from storage.models import Organisation
from tests import factories

CAPACITY = POLLS_DIR / "capacites-osc.toml"
ALL_CHANNELS = ("sms", "telegram", "whatsapp")


def capacity_poll(**changes):
    """The shipped poll, open whatever today's date (its file's dates are for real use)."""
    poll = load_poll_file(CAPACITY)
    return dataclasses.replace(poll, opens_at=None, closes_at=None, **changes)


async def add_member(
    database,
    name: str,
    *,
    channel: str,
    address: str,
    language: str,
    region: str,
    organisation: str,
    kind: str,
) -> int:
    now = datetime.now(UTC)
    orgs = Organisation.__table__
    async with database.transaction() as connection:
        key = organisation.lower()
        org_id = await connection.scalar(orgs.select().with_only_columns(orgs.c.id).where(
            orgs.c.name_key == key))  # fmt: skip
        if org_id is None:
            org_id = await connection.scalar(
                orgs.insert()
                .values(name=organisation, name_key=key, kind=kind, listed=True)
                .returning(orgs.c.id)
            )
        member_id = await factories.add_member(
            connection, name=name, region=region, language=language, now=now,
            organisation_id=org_id, addresses=[(channel, address)],
        )  # fmt: skip
    return member_id
