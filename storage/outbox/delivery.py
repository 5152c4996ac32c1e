"""What a provider reports about a row it was handed: delivered, undelivered, failed…

The report finds its row by primary key (the id the send put in the callback URL), even before
the dispatcher has recorded the send; a report on a row sent before ids were in the URL finds it
by the provider's id, once. A later status never gives way to an earlier one arriving late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import Address, OutboxMessage
from storage.outbox.states import ADDRESS_COLUMN, STATUS_RANK, AddressState, OutboxStatus

outbox = OutboxMessage.__table__
addresses = Address.__table__


@dataclass(frozen=True)
class StatusReport:
    """A provider's word on a message sent: the row it is about, and what became of it."""

    provider_id: str
    status: OutboxStatus  # sent, delivered, undelivered or failed
    outbox_id: int | None = None  # from the callback URL; None for rows sent before it carried one
    error_code: str | None = None
    error_message: str | None = None
    address_state: AddressState | None = None  # what the error code says about the address
    fall_back: bool = False  # the channel cannot carry it to this member: try their next one
    # An SMS route's radio failed after taking it (not the number's fault): another route, once.
    reroute: bool = False
    route_slot: int | None = None  # the SIM that failed, where the report says


def later_than(status: OutboxStatus) -> list[str]:
    """The statuses a row in `status` must keep when `status` is reported."""
    rank = STATUS_RANK[status]
    return [later for later, other in STATUS_RANK.items() if other > rank]


async def record_status(connection: AsyncConnection, report: StatusReport, now: datetime) -> bool:
    """Record a provider's report; False when no row is found (not ours, or erased since)."""
    if report.outbox_id is not None:
        # The row the callback URL names, unless a later attempt of it went out under another
        # provider id (a resend after a crash): then the report is about the earlier one.
        key = and_(
            outbox.c.id == report.outbox_id,
            or_(outbox.c.provider_id.is_(None), outbox.c.provider_id == report.provider_id),
            # Re-routed after its radio failed: reports on the send that failed are spent.
            or_(outbox.c.reroute_from.is_(None), outbox.c.reroute_from != report.provider_id),
        )
    else:
        key = outbox.c.provider_id == report.provider_id
    row = (await connection.execute(select(outbox.c.id, outbox.c.address_id).where(key))).first()
    if row is None:
        return False
    values: dict[str, object] = {"status": report.status, "updated_at": now}
    if report.error_code:
        values |= {"error_code": report.error_code, "error_message": report.error_message}
    await connection.execute(
        update(outbox)
        .where(outbox.c.id == row.id, outbox.c.status.not_in(later_than(report.status)))
        .values(values)
    )
    if report.address_state is not None and row.address_id is not None:
        column = ADDRESS_COLUMN[report.address_state]
        await connection.execute(
            update(addresses).where(addresses.c.id == row.address_id).values({column: now})
        )
    return True
