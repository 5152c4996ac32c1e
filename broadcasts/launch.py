"""One launch: a broadcast is made, fanned out and audited here, and nowhere else.

Its callers: the secretariat's broadcasts (made as a draft or scheduled, sent by hand or at
their time: broadcasts.service), campaign messages (broadcasts.campaigns.runner), poll
invitations and poll reminders (broadcasts.polls.service). Every step runs on the caller's
connection, inside the caller's transaction, so what the caller does around it (its "once"
claim before, its link rows after: campaign_broadcasts, poll sessions) commits with the
broadcast, its outbox rows and its audit entries, or vanishes with them.

Each broadcast gets the same two audit entries, whoever made it: "broadcast.create" (what it
says, to whom, when) and "broadcast.send" (how many rows, on which channels, from which state,
SMS held until when), both with the caller's `about` (campaign, message, year; or poll).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.errors import FieldError, FieldErrors
from bot.vocabulary.i18n import LANGUAGES, in_language
from broadcasts.model import NEXT_CHANNEL, Audience, Draft, TemplateRule, WhatsAppPlan
from broadcasts.quiet_hours import QuietHours
from broadcasts.sms import body_rules
from storage import audit
from storage import whatsapp as templates_store
from storage.audience import allowed_channels
from storage.models import Broadcast
from storage.outbox import fanout
from storage.outbox.states import BroadcastStatus

SCHEDULER = "scheduler"  # the actor of what the scheduler does
broadcasts = Broadcast.__table__


@dataclass(frozen=True)
class Button:
    """A button on each Telegram row: `key` is its callback data, `label` a msgid shown in
    each member's language."""

    key: str
    label: str


@dataclass(frozen=True)
class Delivery:
    """How a broadcast goes out: on which channels, from when; SMS made inside `quiet_hours`
    wait for their end; only to `only_members` (a SELECT of member ids) of the audience when
    given; with a Telegram `button` when given."""

    enabled_channels: Collection[str]
    now: datetime
    quiet_hours: QuietHours | None = None
    only_members: Select[Any] | None = None
    button: Button | None = None
    # Someone is there to hear it (API, console, CLI): a draft whose WhatsApp members outside
    # the window have no template in their language is refused. Unattended launches (the
    # scheduler, campaigns, polls) send, and those members go to their next channel.
    refuse_missing_templates: bool = False

    @property
    def sms_not_before(self) -> datetime | None:
        return self.quiet_hours.hold_until(self.now) if self.quiet_hours else None


@dataclass(frozen=True)
class Launched:
    broadcast_id: int
    recipients: int  # outbox rows made


def target(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def draft_of(row: Row[Any]) -> Draft:
    """The draft a stored broadcast was made from."""
    return Draft(
        texts=dict(row.texts),
        audience=Audience.from_json(row.audience),
        send_at=row.send_at,
        sms_gsm_safe=row.sms_gsm_safe,
        title=row.title,
        whatsapp=WhatsAppPlan.from_json(row.whatsapp),
        fallback=row.fallback,
    )


def waiting_status(draft: Draft) -> BroadcastStatus:
    """What a draft is until it goes: scheduled when it has a time, else a draft."""
    return BroadcastStatus.SCHEDULED if draft.send_at else BroadcastStatus.DRAFT


async def insert(
    connection: AsyncConnection,
    draft: Draft,
    actor: str,
    *,
    status: BroadcastStatus,
    now: datetime,
    about: Mapping[str, Any] | None = None,
) -> int:
    """The broadcasts row for a draft and its "broadcast.create" entry; returns its id."""
    broadcast_id: int = await connection.scalar(
        broadcasts.insert()
        .values(
            title=draft.title,
            texts=dict(draft.texts),
            audience=draft.audience.to_json(),
            sms_gsm_safe=draft.sms_gsm_safe,
            send_at=draft.send_at,
            whatsapp=draft.whatsapp.to_json() if draft.whatsapp else None,
            fallback=draft.fallback,
            status=status.value,
            created_by=actor,
            created_at=now,
            fanned_out_at=now if status == BroadcastStatus.SENDING else None,
            recipients=0,
        )
        .returning(broadcasts.c.id)
    )
    details = {
        "title": draft.title,
        "status": status.value,
        "send_at": iso(draft.send_at),
        "languages": sorted(draft.texts),
        "audience": draft.audience.to_json(),
        "whatsapp": draft.whatsapp.to_json() if draft.whatsapp else None,
        "fallback": draft.fallback,
        **(about or {}),
    }
    await audit.record(connection, actor, "broadcast.create", target(broadcast_id), details)
    return broadcast_id


async def template_rules(connection: AsyncConnection, draft: Draft) -> list[TemplateRule]:
    """The approved templates the draft names, per language, with their variables filled."""
    if draft.whatsapp is None or not draft.whatsapp.templates:
        return []
    known = await templates_store.load_templates(connection)
    return templates_store.template_rules(draft.whatsapp, known, draft.template_variables)


async def missing_templates(
    connection: AsyncConnection,
    draft: Draft,
    enabled_channels: Collection[str],
    now: datetime,
    rules: list[TemplateRule] | None = None,
) -> dict[str, int]:
    """Languages whose WhatsApp members outside the 24 h window have no approved template:
    language → how many such members."""
    if "whatsapp" not in allowed_channels(draft.audience, enabled_channels):
        return {}
    windows = await templates_store.window_counts(connection, draft.audience, enabled_channels, now)
    rules = await template_rules(connection, draft) if rules is None else rules
    covered = {rule.language for rule in rules}
    return {
        language: outside
        for language, (_inside, outside) in sorted(windows.items())
        if outside and language not in covered
    }


def refusal(missing: Mapping[str, int]) -> FieldErrors:
    """Every language without a template, named at once."""
    return FieldErrors(
        FieldError(
            f"whatsapp.templates.{language}",
            f"{count} WhatsApp member(s) speaking {language} have not written in 24 hours and "
            f"no approved template in {language} is named: name one (benkadi whatsapp "
            f"templates sync, then list), or let them get it on their next channel "
            f"(whatsapp.outside_window = {NEXT_CHANNEL})",
        )
        for language, count in missing.items()
    )


async def fan_out(
    connection: AsyncConnection,
    broadcast_id: int,
    draft: Draft,
    actor: str,
    delivery: Delivery,
    *,
    was: BroadcastStatus,
    about: Mapping[str, Any] | None = None,
) -> int:
    """Outbox rows for the audience (already marked sending), its recipients, its button and
    its "broadcast.send" entry; returns the rows made."""
    rules = await template_rules(connection, draft)
    if delivery.refuse_missing_templates and draft.outside_window != NEXT_CHANNEL:
        missing = await missing_templates(
            connection, draft, delivery.enabled_channels, delivery.now, rules
        )
        if missing:
            raise refusal(missing)
    hold = delivery.sms_not_before
    queued = await fanout.fan_out(
        connection,
        broadcast_id,
        draft.audience,
        body_rules(draft),
        delivery.enabled_channels,
        delivery.now,
        sms_not_before=hold,
        only_members=delivery.only_members,
    )
    await connection.execute(
        update(broadcasts).where(broadcasts.c.id == broadcast_id).values(recipients=queued)
    )
    if delivery.button is not None:
        key, label = delivery.button.key, delivery.button.label
        labels = {language: [[key, in_language(language, label)]] for language in LANGUAGES}
        await fanout.set_choices(connection, broadcast_id, "telegram", labels)
    await fanout.set_templates(connection, broadcast_id, rules)
    details = {
        "recipients": queued,
        "channels": list(allowed_channels(draft.audience, delivery.enabled_channels)),
        "was": was.value,
        "sms_held_until": iso(hold),
        "whatsapp_templates": {rule.language: rule.content_sid for rule in rules},
        **(about or {}),
    }
    await audit.record(connection, actor, "broadcast.send", target(broadcast_id), details)
    return queued


async def launch(
    connection: AsyncConnection,
    draft: Draft,
    actor: str,
    delivery: Delivery,
    *,
    about: Mapping[str, Any] | None = None,
) -> Launched:
    """A broadcast made and sent at once (a campaign message, a poll's invitation or
    reminder): inserted as sending, then fanned out."""
    broadcast_id = await insert(
        connection, draft, actor, status=BroadcastStatus.SENDING, now=delivery.now, about=about
    )
    queued = await fan_out(
        connection, broadcast_id, draft, actor, delivery, was=waiting_status(draft), about=about
    )
    return Launched(broadcast_id, queued)


async def send(
    connection: AsyncConnection,
    broadcast_id: int,
    from_statuses: Collection[BroadcastStatus],
    actor: str,
    delivery: Delivery,
) -> int | None:
    """Fan a stored broadcast out (by hand, or at its time); returns the rows made, or None
    when it is not in one of `from_statuses` (missing, or another claim came first).

    The claim is an UPDATE … WHERE status IN (…) RETURNING: two processes (or a person and
    the scheduler) never both send one broadcast."""
    claimed = (
        await connection.execute(
            update(broadcasts)
            .where(broadcasts.c.id == broadcast_id, broadcasts.c.status.in_(from_statuses))
            .values(status=BroadcastStatus.SENDING.value, fanned_out_at=delivery.now)
            .returning(broadcasts)
        )
    ).one_or_none()
    if claimed is None:
        return None
    draft = draft_of(claimed)
    return await fan_out(
        connection, broadcast_id, draft, actor, delivery, was=waiting_status(draft)
    )
