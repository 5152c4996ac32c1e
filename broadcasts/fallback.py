"""Fallback across channels: a broadcast row that a channel cannot carry to its member
(WhatsApp outside the window without a template, or 63016/63024/63003; Telegram "blocked" or
"chat not found"; an invalid number) goes once to the member's next usable address, in the
broadcast's order (Telegram → WhatsApp → SMS), with the text as that channel gets it.

Never twice for one member and broadcast (the row moves, and remembers it moved); never to an
address opted out, blocked or invalid; never from an opt-out (the member said no, the channel
did not fail); not when the broadcast turned fallback off. Called in the transaction that
records the failure: the dispatcher's, or a status report's.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from broadcasts.launch import draft_of, template_rules
from broadcasts.model import Draft, TemplateRule
from broadcasts.sms import channel_text
from storage.audience import allowed_channels
from storage.outbox import fallback as store

log = logging.getLogger(__name__)


async def fall_back(
    connection: AsyncConnection,
    reasons: Mapping[int, str],
    enabled_channels: Collection[str],
    now: datetime,
    *,
    provider_id: str | None = None,
) -> int:
    """Move the rows of `reasons` (row id → why its channel failed) that may fall back to
    their member's next address; returns how many moved. With `provider_id` (a status
    report), only a row whose send of that message is recorded."""
    moved = 0
    found = await store.candidates(connection, sorted(reasons), provider_id=provider_id)
    if provider_id is not None and not found:
        # Perhaps the send is not recorded yet: the recording moves it (after_recording).
        for row_id, reason in reasons.items():
            await store.ask(connection, row_id, reason)
    drafts: dict[int, Draft] = {}  # per broadcast: many rows of one often fail together
    templates: dict[int, list[TemplateRule]] = {}
    for candidate in found:
        broadcast_id = candidate.broadcast.id
        if broadcast_id not in drafts:
            drafts[broadcast_id] = draft_of(candidate.broadcast)
        draft = drafts[broadcast_id]
        channels = allowed_channels(draft.audience, enabled_channels)
        address = await store.next_address(connection, candidate, channels)
        if address is None:
            continue  # nowhere else: the row stays failed, with its reason
        rules: list[TemplateRule] = []
        if address.channel == "whatsapp":
            if broadcast_id not in templates:
                templates[broadcast_id] = await template_rules(connection, draft)
            rules = templates[broadcast_id]
        rule = next((r for r in rules if r.language == candidate.language), None)
        if await store.move(
            connection,
            candidate,
            address,
            body=channel_text(draft, candidate.language, address.channel),
            content_sid=rule.content_sid if rule else None,
            content_variables=rule.variables if rule else None,
            reason=f"{candidate.channel} {reasons[candidate.row_id]}",
            now=now,
        ):
            moved += 1
            log.info(
                "broadcast %s: row %s falls back from %s to %s",
                candidate.broadcast.id, candidate.row_id, candidate.channel, address.channel,
            )  # fmt: skip
    return moved


async def after_recording(
    connection: AsyncConnection,
    sent: Collection[int],
    enabled_channels: Collection[str],
    now: datetime,
) -> int:
    """Rows just recorded as sent that a report had already failed, asking to move: moved now."""
    pending = await store.asked(connection, sorted(sent))
    return await fall_back(connection, pending, enabled_channels, now) if pending else 0
