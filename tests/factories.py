"""Members and reports as tests need them, made through the repositories (one way to seed)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from storage import members as member_store
from storage import reports as report_store
from storage.models import Address
from storage.suppression import SuppressionKey
from storage.types import utcnow

JUST_NOW: Any = object()  # the member wrote a moment ago (they registered by writing)


async def add_member(
    connection: AsyncConnection,
    *,
    name: str,
    region: str,
    now: datetime,
    language: str = "fr",
    consented: bool = True,
    organisation_id: int | None = None,
    cercle: str | None = None,
    themes: Iterable[str] = ("vbg",),
    addresses: Iterable[tuple[str, str]] = (),
    wrote_at: datetime | None = JUST_NOW,
    **more: Any,
) -> int:
    """A member with their addresses, (channel, address) pairs, who consented `now` (or not),
    and wrote on each at `wrote_at` (by default a moment ago, in real time: inside WhatsApp's
    24 h window; None: never, so outside it)."""
    member_id = await member_store.create_member(
        connection, name=name, organisation_id=organisation_id, region=region, cercle=cercle,
        themes=list(themes), language=language,
        consent_at=now if consented else None, registered_at=now, updated_at=now,
        **more,
    )  # fmt: skip
    rows = [
        {
            "channel": channel,
            "address": address,
            "member_id": member_id,
            "created_at": now,
            "last_inbound_at": utcnow() if wrote_at is JUST_NOW else wrote_at,
        }
        for channel, address in addresses
    ]
    if rows:
        await connection.execute(Address.__table__.insert(), rows)
    return member_id


async def add_report(
    connection: AsyncConnection,
    *,
    organisation: str,
    region: str,
    activity: str,
    day: date,
    counts: Sequence[int],
    now: datetime,
    member: str = "Awa",
    commune: str | None = None,
    description: str | None = None,
    channel: str = "sms",
) -> int:
    """One submitted activity report by a member of `organisation` (made if missing)."""
    organisation_id = await member_store.organisation_id_named(connection, organisation)
    member_id = await add_member(
        connection, name=member, region=region, now=now, organisation_id=organisation_id, themes=()
    )
    women, men, girls, boys = counts
    data = dict(
        activity=activity, date=day.isoformat(), region=region, commune=commune,
        women=women, men=men, girls=girls, boys=boys,
        description=description or f"Atelier {activity}", channel=channel,
    )  # fmt: skip
    return await report_store.insert_report(connection, member_id, data, now)


# The erasure suppression list's key in tests that build the service or an import themselves
# (the app derives its own from the deployment's secret: gateway/secret.py).
TEST_ERASURE_KEY = SuppressionKey(b"benkadi tests: erasure suppression key")
