"""An access request: everything held about one person, read in one snapshot, and audited.

`benkadi privacy export MEMBER` and the console's "copy of their data" (admins) both use
`collect`; gateway/exports/access.py renders it as HTML and JSON. What is collected follows the
tables that hold something of a member: the profile (with what the directory holds: sex,
age band, role, e-mail, the organisation they are focal point of), every address, consents,
invitations and opt-outs, the messages still held (received and sent, replies and broadcasts),
an unfinished dialogue, poll answers, the reports they sent, and the audit entries about them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.vocabulary.errors import FieldError, NotFound
from bot.vocabulary.phones import normalise_phone
from storage import audit
from storage.database import Database
from storage.models import (
    Address,
    AuditEntry,
    Conversation,
    InboundMessage,
    Member,
    Organisation,
    OutboxMessage,
    Poll,
    PollResponse,
    PollSession,
    Report,
)

members, addresses, organisations = Member.__table__, Address.__table__, Organisation.__table__
inbound, outbox, conversations = (
    InboundMessage.__table__,
    OutboxMessage.__table__,
    Conversation.__table__,
)
polls, sessions, responses = Poll.__table__, PollSession.__table__, PollResponse.__table__
reports, audit_log = Report.__table__, AuditEntry.__table__
EXPORT_ACTION = "privacy.export"


class MemberNotFound(NotFound):
    pass


def _plain(row: Any) -> dict[str, Any]:
    return {key: _value(value) for key, value in row._mapping.items()}


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def find_member(database: Database, who: str) -> int:
    """A member by id ("42", "id:42") or by a phone number or Telegram id ("telegram:55501")
    on one of their addresses. A copy of someone's data must be of the person asked about: when
    the words fit more than one member (member 1001, and another whose Telegram id is 1001),
    nobody is chosen; the error names the spellings that tell them apart."""
    raw = who.strip()
    by_id = raw.removeprefix("id:") if raw.startswith("id:") else None
    if by_id is not None and not (by_id.isdigit() and len(by_id) < 10):
        raise MemberNotFound(f"no member {raw}")
    async with database.sessions() as session:
        found: dict[int, str] = {}
        number = by_id if by_id is not None else raw
        if number.isdigit() and len(number) < 10:
            member = await session.scalar(select(members.c.id).where(members.c.id == int(number)))
            if member is not None:
                found[int(member)] = f"id:{member}"
        if by_id is None:
            candidates = {raw, raw.removeprefix("telegram:")}
            phone = normalise_phone(raw)
            if phone:
                candidates.add(phone)
            rows = await session.execute(
                select(addresses.c.member_id, addresses.c.channel, addresses.c.address).where(
                    addresses.c.address.in_(candidates), addresses.c.member_id.is_not(None)
                )
            )
            for member_id, channel, address in rows:
                found.setdefault(
                    int(member_id), f"telegram:{address}" if channel == "telegram" else address
                )
    if not found:
        raise MemberNotFound(f"no member {raw}")
    if len(found) > 1:
        raise FieldError(
            "member",
            f"{raw} fits {len(found)} members; say which: " + ", ".join(sorted(found.values())),
        )
    return next(iter(found))


async def _gather(session: AsyncSession, member_id: int) -> dict[str, Any]:
    member = (
        await session.execute(
            select(members, organisations.c.name.label("organisation_name"))
            .select_from(members.outerjoin(organisations))
            .where(members.c.id == member_id)
        )
    ).one_or_none()
    if member is None:
        raise MemberNotFound(f"no member {member_id}")
    found = (
        await session.execute(
            select(addresses).where(addresses.c.member_id == member_id).order_by(addresses.c.id)
        )
    ).all()
    address_ids = [row.id for row in found]
    received = (
        await session.execute(
            select(
                inbound.c.id, inbound.c.channel, inbound.c.received_at, inbound.c.body,
            )
            .where(inbound.c.address_id.in_(address_ids))
            .order_by(inbound.c.id)
        )
    ).all()  # fmt: skip
    sent = (
        await session.execute(
            select(
                outbox.c.id, outbox.c.channel, outbox.c.created_at, outbox.c.sent_at,
                outbox.c.status, outbox.c.broadcast_id, outbox.c.body,
            )
            .where(or_(outbox.c.member_id == member_id, outbox.c.address_id.in_(address_ids)))
            .order_by(outbox.c.id)
        )
    ).all()  # fmt: skip
    dialogues = (
        await session.execute(
            select(
                conversations.c.flow, conversations.c.step, conversations.c.data,
                conversations.c.updated_at,
            ).where(conversations.c.address_id.in_(address_ids))
        )
    ).all()  # fmt: skip
    answers = (
        await session.execute(
            select(
                polls.c.slug.label("poll"), polls.c.title.label("poll_title"),
                responses.c.question, responses.c.skipped, responses.c.options,
                responses.c.number, responses.c.text, responses.c.channel,
                responses.c.answered_at,
            )
            .select_from(
                responses.join(sessions, sessions.c.id == responses.c.session_id).join(
                    polls, polls.c.id == responses.c.poll_id
                )
            )
            .where(sessions.c.member_id == member_id)
            .order_by(responses.c.poll_id, responses.c.position)
        )
    ).all()  # fmt: skip
    invitations = (
        await session.execute(
            select(
                polls.c.slug.label("poll"), sessions.c.invited_at, sessions.c.started_at,
                sessions.c.finished_at,
            )
            .select_from(sessions.join(polls, polls.c.id == sessions.c.poll_id))
            .where(sessions.c.member_id == member_id)
            .order_by(sessions.c.id)
        )
    ).all()  # fmt: skip
    sent_reports = (
        await session.execute(
            select(
                reports.c.id, reports.c.channel, reports.c.activity, reports.c.activity_date,
                reports.c.region, reports.c.commune, reports.c.women, reports.c.men,
                reports.c.girls, reports.c.boys, reports.c.description,
                reports.c.media_kind, reports.c.status, reports.c.submitted_at,
                reports.c.validated_at,
            )
            .where(reports.c.member_id == member_id)
            .order_by(reports.c.id)
        )
    ).all()  # fmt: skip
    about = (
        await session.execute(
            select(audit_log.c.at, audit_log.c.actor, audit_log.c.action)
            .where(audit_log.c.target == f"member:{member_id}")
            .order_by(audit_log.c.id)
        )
    ).all()
    focal_of = (
        await session.scalars(
            select(organisations.c.name)
            .where(organisations.c.focal_member_id == member_id)
            .order_by(organisations.c.id)
        )
    ).all()
    profile = _plain(member)
    return {
        "member_id": member_id,
        "profile": {
            key: profile[key]
            for key in (
                "name", "organisation_name", "region", "cercle", "themes", "language",
                # The directory's (an import or PROFIL): what it says of them is theirs to see.
                "sex", "age_band", "role", "email", "telegram_username",
                "registered_at", "updated_at", "erased_at",
            )
        }
        | {"focal_point_of": list(focal_of)},
        "consents": {
            "consent_at": profile["consent_at"],
            "consent_channel": profile["consent_channel"],
            # A directory import's invitation: when they were brought in, asked, reminded,
            # and when they said no.
            **{
                key: profile[key]
                for key in ("imported_at", "invited_at", "reminded_at", "refused_at")
            },
            "addresses": [
                {
                    "channel": row.channel, "opted_out_at": _value(row.opted_out_at),
                    "blocked_at": _value(row.blocked_at), "invalid_at": _value(row.invalid_at),
                }
                for row in found
            ],
        },
        "addresses": [
            {
                "channel": row.channel, "address": row.address, "language": row.language,
                "created_at": _value(row.created_at),
            }
            for row in found
        ],
        "messages_received": [_plain(row) for row in received],
        "messages_sent": [_plain(row) for row in sent],
        "unfinished_dialogues": [_plain(row) for row in dialogues],
        "poll_invitations": [_plain(row) for row in invitations],
        "poll_answers": [_plain(row) for row in answers],
        "reports": [_plain(row) for row in sent_reports],
        "audit_entries": [_plain(row) for row in about],
    }  # fmt: skip


async def collect(database: Database, member_id: int, actor: str, via: str) -> dict[str, Any]:
    """Everything held about the member, read in one snapshot; the request is audited (who
    asked, through what) after the read."""
    async with database.sessions() as session, session.begin():
        held = await _gather(session, member_id)
    async with database.transaction() as connection:
        await audit.record(connection, actor, EXPORT_ACTION, f"member:{member_id}", {"via": via})
    return held
