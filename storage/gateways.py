"""SMS gateways (Android phones with Malian SIMs): configuration, health, and members' sticky SIM.

The password and signing key are written once and read only by the sender and the webhook check:
lists and status never carry them. Errors name the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.errors import FieldError, NotFound
from bot.vocabulary.operators import OPERATORS
from bot.vocabulary.phones import normalise_phone
from storage import audit, members
from storage.database import Database
from storage.models import Address, OutboxMessage, SmsGateway, SmsGatewaySim, SmsStickyRoute
from storage.outbox.states import OutboxStatus
from storage.types import utcnow
from storage.upsert import upsert

gateways = SmsGateway.__table__
sims = SmsGatewaySim.__table__
sticky = SmsStickyRoute.__table__
addresses = Address.__table__
outbox = OutboxMessage.__table__

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_HOUR = r"((?:[01]\d|2[0-3]):[0-5]\d)"
HOURS = re.compile(rf"^{_HOUR}\s*-\s*{_HOUR}$")
SLOTS = (1, 2, 3)
# Android lets an app send 30 SMS per 30 minutes unless the phone is set otherwise: the safe
# default. README says how to raise it on the phone, then here.
DEFAULT_SIM_RATE = 1.0  # SMS per minute
PROVIDER_ID_SEPARATOR = "/"  # an outbox row's provider_id: "<gateway>/<message id>"


@dataclass(frozen=True)
class SimSpec:
    slot: int
    number: str
    operator: str
    price_per_segment: float = 0.0
    rate_per_minute: float = DEFAULT_SIM_RATE


@dataclass(frozen=True)
class Sim:
    id: int
    gateway_id: int
    gateway: str
    slot: int
    number: str
    operator: str
    price_per_segment: float
    rate_per_minute: float


@dataclass(frozen=True)
class Gateway:
    """A gateway as the sender needs it, secrets included: never shown, never logged."""

    id: int
    name: str
    base_url: str
    login: str | None
    password: str = ""
    device_id: str | None = None
    rate_per_minute: float | None = None
    enabled: bool = True
    down_at: datetime | None = None
    sims: tuple[Sim, ...] = ()
    working_hours: str | None = None  # "08:00-20:00", Bamako time: it sends only then
    last_ping_at: datetime | None = None

    def __repr__(self) -> str:  # no secret in a traceback either
        return f"Gateway({self.name!r}, {self.base_url!r}, sims={len(self.sims)})"


# --- checks -----------------------------------------------------------------------------------
def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise FieldError("name", "must be 1-32 of a-z 0-9 - (it goes in the webhook URL)")
    return name


def check_url(url: object) -> str:
    parsed = urlparse(url if isinstance(url, str) else "")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise FieldError(
            "url", "must be http://<phone>:8080 (local) or https://…/3rdparty/v1 (cloud)"
        )
    if "@" in parsed.netloc:  # it would be shown back (list, console, register, audit)
        raise FieldError("url", "must carry no user or password: give them as --login, --password")
    return str(url).rstrip("/")


def _number(value: str, field: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FieldError(field, f"{value!r} is not a number") from None
    if number < 0 or number != number:
        raise FieldError(field, "must be zero or more")
    return number


def check_hours(value: object) -> str | None:
    """ "08:00-20:00" (Bamako time, may cross midnight) as given; "off" or nothing → None."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if text in ("", "off", "none"):
        return None
    match = HOURS.match(text)
    if match is None or match[1] == match[2]:
        raise FieldError("hours", 'must be "HH:MM-HH:MM" in Bamako time, e.g. "08:00-20:00"')
    return f"{match[1]}-{match[2]}"


def parse_sim(text: str) -> SimSpec:
    """ "1:+22370000001:orange[:price per segment[:SMS per minute]]" → SimSpec."""
    parts = [part.strip() for part in text.split(":")]
    if not 3 <= len(parts) <= 5:
        raise FieldError("sim", f"{text!r}: SLOT:NUMBER:OPERATOR[:PRICE[:PER_MINUTE]]")
    slot, number, operator = parts[:3]
    if not slot.isdigit() or int(slot) not in SLOTS:
        raise FieldError("sim", f"{text!r}: the slot is 1, 2 or 3")
    phone = normalise_phone(number)
    if phone is None:
        raise FieldError("sim", f"{text!r}: {number!r} is not a phone number")
    if operator.lower() not in OPERATORS:
        raise FieldError("sim", f"{text!r}: the operator is one of {', '.join(OPERATORS)}")
    price = _number(parts[3], "sim") if len(parts) > 3 and parts[3] else 0.0
    rate = _number(parts[4], "sim") if len(parts) > 4 and parts[4] else DEFAULT_SIM_RATE
    if rate <= 0:
        raise FieldError("sim", f"{text!r}: the rate is more than zero SMS per minute")
    return SimSpec(int(slot), phone, operator.lower(), price, rate)


def _check_sims(specs: Sequence[SimSpec]) -> None:
    if not specs:
        raise FieldError("sim", "at least one SIM: --sim 1:+22370000001:orange")
    slots = [spec.slot for spec in specs]
    if len(set(slots)) != len(slots):
        raise FieldError("sim", "each slot once")


# --- configuration ----------------------------------------------------------------------------
async def add_gateway(
    database: Database,
    *,
    name: object,
    base_url: object,
    login: str | None,
    password: str,
    signing_key: str,
    sims_: Sequence[SimSpec],
    device_id: str | None = None,
    rate_per_minute: float | None = None,
    working_hours: str | None = None,
    actor: str = "cli",
) -> int:
    name, base_url = check_name(name), check_url(base_url)
    hours = check_hours(working_hours)
    if not password:
        raise FieldError("password", "is required (the app's password, or the cloud token)")
    if not signing_key:
        raise FieldError("signing_key", "is required (the app's Settings → Webhooks signing key)")
    if rate_per_minute is not None and rate_per_minute <= 0:
        raise FieldError("rate", "must be more than zero SMS per minute")
    _check_sims(sims_)
    async with database.transaction() as connection:
        taken = await connection.scalar(select(gateways.c.id).where(gateways.c.name == name))
        if taken is not None:
            raise FieldError("name", f"a gateway {name!r} exists already")
        gateway_id = (
            await connection.execute(
                gateways.insert()
                .values(
                    name=name, base_url=base_url, login=login or None, password=password,
                    signing_key=signing_key, device_id=device_id or None,
                    rate_per_minute=rate_per_minute, enabled=True, failures=0,
                    created_at=utcnow(), working_hours=hours,
                )
                .returning(gateways.c.id)
            )
        ).scalar_one()  # fmt: skip
        await connection.execute(
            sims.insert(),
            [
                {
                    "gateway_id": gateway_id, "slot": s.slot, "number": s.number,
                    "operator": s.operator, "price_per_segment": s.price_per_segment,
                    "rate_per_minute": s.rate_per_minute,
                }
                for s in sims_
            ],
        )  # fmt: skip
        await audit.record(
            connection, actor, "gateway.add", f"gateway:{name}",
            {"url": base_url, "sims": [f"{s.slot}:{s.operator}" for s in sims_]},
        )  # fmt: skip
    return int(gateway_id)


async def remove_gateway(database: Database, name: str, actor: str = "cli") -> None:
    async with database.transaction() as connection:
        result = await connection.execute(delete(gateways).where(gateways.c.name == name))
        if not result.rowcount:
            raise NotFound(f"no gateway {name!r}", field="name")
        await audit.record(connection, actor, "gateway.remove", f"gateway:{name}")


async def set_sim_rate(
    database: Database, name: str, slot: int, per_minute: float, actor: str = "cli"
) -> None:
    """A SIM's new rate, once Android's limit was raised on the phone (README)."""
    if not per_minute > 0:
        raise FieldError("rate", "must be more than zero SMS per minute")
    async with database.transaction() as connection:
        gateway_id = await connection.scalar(select(gateways.c.id).where(gateways.c.name == name))
        if gateway_id is None:
            raise NotFound(f"no gateway {name!r}", field="name")
        result = await connection.execute(
            update(sims)
            .where(sims.c.gateway_id == gateway_id, sims.c.slot == slot)
            .values(rate_per_minute=per_minute)
        )
        if not result.rowcount:
            raise FieldError("slot", f"{name} has no SIM in slot {slot}")
        await audit.record(
            connection, actor, "gateway.rate", f"gateway:{name}",
            {"slot": slot, "per_minute": per_minute},
        )  # fmt: skip


async def set_connection(
    database: Database,
    name: str,
    *,
    base_url: object = None,
    password: str | None = None,
    signing_key: str | None = None,
    actor: str = "cli",
) -> list[str]:
    """A phone's new address (its IP changed), password or signing key (the app reinstalled),
    keeping its SIMs and so every member's sticky route; the fields changed (never a value)."""
    values: dict[str, Any] = {}
    if base_url is not None:
        values["base_url"] = check_url(base_url)
    if password is not None:
        if not password:
            raise FieldError("password", "is required (the app's password, or the cloud token)")
        values["password"] = password
    if signing_key is not None:
        if not signing_key:
            raise FieldError(
                "signing_key", "is required (the app's Settings → Webhooks signing key)"
            )
        values["signing_key"] = signing_key
    if not values:
        raise FieldError("url", "nothing to change: give --url, --password or --signing-key")
    async with database.transaction() as connection:
        result = await connection.execute(
            update(gateways).where(gateways.c.name == name).values(values)
        )
        if not result.rowcount:
            raise NotFound(f"no gateway {name!r}", field="name")
        changed = sorted("url" if key == "base_url" else key for key in values)
        details: dict[str, Any] = {"changed": changed}
        if "base_url" in values:
            details["url"] = values["base_url"]
        await audit.record(connection, actor, "gateway.connection", f"gateway:{name}", details)
    return changed


async def set_hours(database: Database, name: str, value: str, actor: str = "cli") -> str | None:
    """The phone's working hours ("08:00-20:00", Bamako time), or "off" for any hour."""
    hours = check_hours(value)
    async with database.transaction() as connection:
        result = await connection.execute(
            update(gateways).where(gateways.c.name == name).values(working_hours=hours)
        )
        if not result.rowcount:
            raise NotFound(f"no gateway {name!r}", field="name")
        await audit.record(connection, actor, "gateway.hours", f"gateway:{name}", {"hours": hours})
    return hours


def _sim(row: Any) -> Sim:
    return Sim(
        row.id, row.gateway_id, row.gateway, row.slot, row.number, row.operator,
        row.price_per_segment, row.rate_per_minute,
    )  # fmt: skip


async def load_gateways(database: Database) -> list[Gateway]:
    """Every gateway with its SIMs and its secrets, for the sender."""
    async with database.read_engine.connect() as connection:
        return await load_gateways_on(connection)


async def load_gateways_on(connection: AsyncConnection) -> list[Gateway]:
    rows = (await connection.execute(select(gateways).order_by(gateways.c.id))).all()
    sim_rows = (
        await connection.execute(
            select(sims, gateways.c.name.label("gateway"))
            .join(gateways, gateways.c.id == sims.c.gateway_id)
            .order_by(sims.c.gateway_id, sims.c.slot)
        )
    ).all()
    by_gateway: dict[int, list[Sim]] = {}
    for row in sim_rows:
        by_gateway.setdefault(row.gateway_id, []).append(_sim(row))
    return [
        Gateway(
            row.id, row.name, row.base_url, row.login, row.password, row.device_id,
            row.rate_per_minute, row.enabled, row.down_at, tuple(by_gateway.get(row.id, ())),
            row.working_hours, row.last_ping_at,
        )
        for row in rows
    ]  # fmt: skip


async def webhook_key(connection: AsyncConnection, name: str) -> tuple[int, str] | None:
    """(id, signing key) of the gateway a webhook URL names, or None."""
    row = (
        await connection.execute(
            select(gateways.c.id, gateways.c.signing_key).where(gateways.c.name == name)
        )
    ).first()
    return (row.id, row.signing_key) if row is not None else None


async def sim_in_slot(connection: AsyncConnection, gateway_id: int, slot: int | None) -> int | None:
    query = select(sims.c.id).where(sims.c.gateway_id == gateway_id)
    query = query.where(sims.c.slot == slot) if slot else query.order_by(sims.c.slot).limit(1)
    return await connection.scalar(query)


# --- health -----------------------------------------------------------------------------------
async def mark_seen(
    connection: AsyncConnection, gateway_id: int, now: datetime, ping: bool = False
) -> None:
    """The phone spoke (a ping, an SMS, a report): it is up."""
    values: dict[str, Any] = {"last_seen_at": now, "down_at": None, "failures": 0}
    if ping:
        values["last_ping_at"] = now
    await connection.execute(update(gateways).where(gateways.c.id == gateway_id).values(values))


async def record_health(
    database: Database, gateway_id: int, *, up: bool, error: str | None, down: bool, now: datetime
) -> None:
    """What the sender saw: a send or health check answered (up), or failed (error); `down` when
    the failures reached the limit."""
    values: dict[str, Any]
    if up:
        values = {"last_seen_at": now, "down_at": None, "failures": 0}
    else:
        values = {"failures": gateways.c.failures + 1, "last_error": (error or "")[:500]}
        if down:
            values["down_at"] = func.coalesce(gateways.c.down_at, now)
    async with database.transaction() as connection:
        await connection.execute(update(gateways).where(gateways.c.id == gateway_id).values(values))


# --- sticky routes ----------------------------------------------------------------------------
async def set_sticky(
    connection: AsyncConnection, address: str, sim_id: int, now: datetime, channel: str = "sms"
) -> None:
    """The member texted this SIM: it answers them from now on (the address is made here on
    first contact, so the very first reply already goes out from that SIM)."""
    row = await members.address_for(connection, channel, address)
    statement = upsert(connection, sticky, ("address_id",), ("sim_id", "updated_at"))
    await connection.execute(statement, {"address_id": row.id, "sim_id": sim_id, "updated_at": now})


async def sticky_sims(
    connection: AsyncConnection, recipients: Sequence[str], channel: str = "sms"
) -> dict[str, int]:
    """Recipient → sticky SIM id, for those that have one (one query for many sends)."""
    rows = await connection.execute(
        select(addresses.c.address, sticky.c.sim_id)
        .join(addresses, addresses.c.id == sticky.c.address_id)
        .where(addresses.c.channel == channel, addresses.c.address.in_(list(recipients)))
    )
    return {address: sim_id for address, sim_id in rows}


async def sticky_sim(
    connection: AsyncConnection, recipient: str, channel: str = "sms"
) -> int | None:
    return await connection.scalar(
        select(sticky.c.sim_id)
        .join(addresses, addresses.c.id == sticky.c.address_id)
        .where(addresses.c.channel == channel, addresses.c.address == recipient)
    )


# --- status -----------------------------------------------------------------------------------
def provider_id(gateway: str, message_id: str) -> str:
    return f"{gateway}{PROVIDER_ID_SEPARATOR}{message_id}"


async def status(database: Database, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each gateway as the secretariat sees it: never a secret."""
    now = now or utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)  # Bamako is UTC+0
    configured = await load_gateways(database)
    async with database.read_engine.connect() as connection:
        queued = await connection.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.channel == "sms", outbox.c.status == OutboxStatus.QUEUED)
        )
        health = {
            row.id: row
            for row in await connection.execute(
                select(gateways.c.id, gateways.c.last_seen_at, gateways.c.last_error)
            )
        }
        result = []
        for gateway in configured:
            mine = outbox.c.provider_id.like(gateway.name + PROVIDER_ID_SEPARATOR + "%")
            today = and_(mine, outbox.c.updated_at >= midnight)
            counts: dict[str, int] = dict(
                (
                    await connection.execute(
                        select(outbox.c.status, func.count()).where(today).group_by(outbox.c.status)
                    )
                ).all()
            )
            failed = sum(counts.get(s, 0) for s in (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED))
            seen = health[gateway.id].last_seen_at
            result.append(
                {
                    "name": gateway.name,
                    "url": gateway.base_url,
                    "mode": "local" if gateway.login else "cloud",
                    "up": gateway.enabled and gateway.down_at is None,
                    "down_since": gateway.down_at.isoformat() if gateway.down_at else None,
                    "last_seen": seen.isoformat() if seen else None,
                    "last_error": health[gateway.id].last_error,
                    "sent_today": sum(counts.values()) - failed,
                    "failed_today": failed,
                    "queue": int(queued or 0),
                    "rate_per_minute": gateway.rate_per_minute,
                    "working_hours": gateway.working_hours,
                    "last_ping": gateway.last_ping_at.isoformat() if gateway.last_ping_at else None,
                    "sims": [
                        {
                            "slot": s.slot, "number": s.number, "operator": s.operator,
                            "price_per_segment": s.price_per_segment,
                            "rate_per_minute": s.rate_per_minute,
                        }
                        for s in gateway.sims
                    ],
                }
            )  # fmt: skip
    return result


def stale(last_seen: datetime | None, now: datetime, after: timedelta) -> bool:
    return last_seen is None or now - last_seen > after
