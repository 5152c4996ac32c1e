"""The imperative shell around the dialogue engine.

One transaction turns inbound messages into: the stored messages, the state changes, the effects
and the queued replies. A replay of the same provider message changes nothing.

Messages that arrive together are handled together: one worker takes everything waiting (one
message per address at a time, so each sees the state the previous one left) and runs it in one
transaction with a handful of statements for the whole batch. Under load that turns a dozen
round trips to the database per message into a dozen per batch; alone, a message is a batch of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import overload

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import engine
from bot.effects import Applier
from bot.flows import poll as poll_flow
from bot.model import Context, Profile, Received, State
from bot.outbox_rows import outbox_row
from bot.sms_limits import SmsLimits, may_reply
from bot.vocabulary.i18n import SOURCE_LANGUAGE
from bot.vocabulary.wording import PLAIN, Wording
from storage import members as member_store
from storage import messages as message_store
from storage import polls as poll_store
from storage import provider_media as media_store
from storage import translations as translation_store
from storage.database import Database
from storage.suppression import SuppressionKey
from storage.types import utcnow

log = logging.getLogger(__name__)
CONVERSATION_TTL = timedelta(hours=24)
ORGANISATIONS_CACHE_SECONDS = 30.0
MAX_BATCH = 64


@dataclass(frozen=True)
class Handled:
    duplicate: bool
    notice: str | None = None  # Telegram callback toast
    queued: int = 0


@dataclass
class _Pending:
    received: Received
    now: datetime
    future: asyncio.Future[Handled]


class ConversationService:
    def __init__(
        self,
        database: Database,
        *,
        erasure_key: SuppressionKey,  # the erasure suppression list's (gateway/secret.py)
        sms_available: bool | Callable[[], bool] = True,  # asked per message: SMS may come
        ttl: timedelta = CONVERSATION_TTL,
        report_max_beneficiaries: int = 100_000,
        limits: SmsLimits | None = None,
        wording: Wording = PLAIN,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database, self.wording, self.clock = database, wording, clock
        self.erasure_key = erasure_key
        self.limits = limits or SmsLimits()
        self.report_max_beneficiaries = report_max_beneficiaries
        self.sms_available = sms_available
        self.ttl = ttl
        self._organisations: tuple[str, ...] = ()
        self._organisations_at = float("-inf")
        self._waiting: deque[_Pending] = deque()
        self._worker: asyncio.Task | None = None

    def _sms_available(self) -> bool:
        available = self.sms_available
        return available() if callable(available) else available

    async def handle(self, received: Received, now: datetime | None = None) -> Handled:
        """Handle one inbound message; returns once its transaction is committed."""
        pending = _Pending(
            received, now or self.clock(), asyncio.get_running_loop().create_future()
        )
        self._waiting.append(pending)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())
        return await pending.future

    async def set_blocked(self, channel: str, address: str, blocked: bool) -> None:
        """The member blocked the bot (or came back): no more sends there until they return."""
        async with self.database.transaction() as connection:
            row = await member_store.address_for(connection, channel, address)
            await member_store.update_address(
                connection, row.id, blocked_at=utcnow() if blocked else None
            )

    # --- batching ------------------------------------------------------------------------
    async def _work(self) -> None:
        while self._waiting:
            batch = self._take_batch()
            try:
                results = await self._handle_batch(batch)
            except Exception as error:
                if len(batch) == 1:
                    batch[0].future.set_exception(error)
                    continue
                # One bad message must not fail its neighbours: retry them one by one.
                log.warning(
                    "batch of %d failed; handling its messages one by one",
                    len(batch),
                    exc_info=True,
                )
                for pending in batch:
                    try:
                        [result] = await self._handle_batch([pending])
                    except Exception as error:
                        pending.future.set_exception(error)
                    else:
                        pending.future.set_result(result)
                continue
            for pending, result in zip(batch, results, strict=True):
                pending.future.set_result(result)

    def _take_batch(self) -> list[_Pending]:
        """Everything waiting, up to MAX_BATCH, at most one message per address (in order)."""
        batch: list[_Pending] = []
        later: list[_Pending] = []
        keys: set[tuple[str, str]] = set()
        while self._waiting and len(batch) < MAX_BATCH:
            pending = self._waiting.popleft()
            if pending.future.cancelled():
                continue
            if pending.received.key in keys:
                later.append(pending)
            else:
                keys.add(pending.received.key)
                batch.append(pending)
        self._waiting.extendleft(reversed(later))
        return batch

    @staticmethod
    async def _provider_media(
        connection: AsyncConnection, pending: _Pending, address_id: int
    ) -> None:
        """What a provider (Twilio) holds of this message's attachments goes there: the first
        (a report's photo) once fetched, or `UNCLAIMED_HOLD` on if no report takes it; the
        others, that no report keeps, at once."""
        inbound, now = pending.received.inbound, pending.now
        kind = inbound.traits.media_kind
        if inbound.media:
            at = now + media_store.UNCLAIMED_HOLD
            await media_store.to_delete(
                connection, [(kind, inbound.media)], now, at=at, address_id=address_id
            )
        if inbound.other_media:
            await media_store.to_delete(connection, [(kind, u) for u in inbound.other_media], now)

    async def _handle_batch(self, batch: list[_Pending]) -> list[Handled]:
        await translation_store.refresh(self.database)  # a text saved in the console counts now
        async with self.database.transaction() as connection:
            before = utcnow()
            addresses = await member_store.addresses_for(
                connection, [p.received.key for p in batch]
            )
            fresh = await message_store.record_inbound_many(
                connection,
                [
                    {
                        "channel": p.received.channel,
                        "provider_id": p.received.provider_id,
                        "address_id": addresses[p.received.key].id,
                        "body": p.received.inbound.text,
                        "received_at": p.now,
                    }
                    for p in batch
                ],
            )
            new = [p for p in batch if (p.received.channel, p.received.provider_id) in fresh]
            if not new:
                return [Handled(duplicate=True) for _ in batch]
            await member_store.record_last_inbound(
                connection, [(addresses[p.received.key].id, p.now) for p in new]
            )
            for p in new:
                await self._provider_media(connection, p, addresses[p.received.key].id)
            dialogues = await message_store.load_dialogues(
                connection, [addresses[p.received.key].id for p in new]
            )
            # A number seen for the first time may belong to a member on the other phone channel.
            first_contact = [
                p.received.key for p in new if addresses[p.received.key].created_at >= before
            ]
            siblings = (
                await member_store.sibling_phone_members(connection, first_contact)
                if first_contact
                else {}
            )
            sibling_profiles = await member_store.member_profiles(
                connection, sorted(set(siblings.values()))
            )
            organisations = await self._listed_organisations(connection)

            results: dict[int, Handled] = {}
            kept: list[dict] = []  # dialogues that go on
            ended: list[int] = []  # addresses whose dialogue ended
            rows: list[dict] = []  # outbox rows
            erased: list[int] = []  # addresses erased with their member
            photos: list[str] = []  # their report photos, removed once this commits
            for pending in new:
                address = addresses[pending.received.key]
                dialogue = dialogues[address.id]
                member = dialogue if dialogue.member_id is not None else None
                conversation = dialogue if dialogue.flow is not None else None
                sibling = siblings.get(pending.received.key)
                if member is None and sibling in sibling_profiles:
                    await member_store.update_address(connection, address.id, member_id=sibling)
                    member = sibling_profiles[sibling]
                handled = await self._converse(
                    connection,
                    pending,
                    address,
                    member,
                    conversation,
                    organisations,
                    kept,
                    ended,
                    rows,
                    erased,
                    photos,
                )
                results[id(pending)] = handled
            await message_store.save_conversations(connection, kept, ended)
            await message_store.enqueue(connection, rows)
            if erased:
                await member_store.delete_addresses(connection, erased)
        if photos:
            await asyncio.to_thread(_remove_files, photos)
        return [results.get(id(p), Handled(duplicate=True)) for p in batch]

    async def _converse(
        self,
        connection: AsyncConnection,
        pending: _Pending,
        address: Row,
        member: Row | None,
        conversation: Row | None,
        organisations: tuple[str, ...],
        kept: list[dict],
        ended: list[int],
        rows: list[dict],
        erased: list[int],
        photos: list[str],
    ) -> Handled:
        """One message: context in, engine, effects, state and replies out (into the lists)."""
        now = pending.now
        state = (
            State(conversation.flow, conversation.step, conversation.data) if conversation else None
        )
        inbound = pending.received.inbound
        poll_id = poll_flow.poll_in_question(inbound, state)
        poll_view = (
            await poll_store.view(connection, _member_id(member), poll_id or None, now)
            if member is not None and poll_id is not None
            else None
        )
        ctx = Context(
            inbound=pending.received.inbound,
            language=(member.language if member is not None else address.language)
            or SOURCE_LANGUAGE,
            member=_profile(member) if member is not None else None,
            state=state,
            state_expired=bool(conversation and conversation.expires_at <= now),
            opted_out=address.opted_out_at is not None,
            organisations=organisations,
            now=now,
            fresh_code=f"{secrets.randbelow(1_000_000):06d}",
            sms_available=self._sms_available(),
            report_max_beneficiaries=self.report_max_beneficiaries,
            poll=poll_view,
        )
        outcome = engine.handle(ctx)
        applier = Applier(
            connection,
            address,
            _member_id(member),
            now,
            self.limits,
            wording=self.wording,
            erasure_key=self.erasure_key,
        )
        outcome = await applier.apply(outcome, ctx)
        state = outcome.state
        if state is not None:
            kept.append(
                {
                    "address_id": address.id,
                    "flow": state.flow,
                    "step": state.step,
                    "data": state.data,
                    "updated_at": now,
                    "expires_at": now + self.ttl,
                }
            )
        elif conversation is not None:
            ended.append(address.id)
        language = outcome.language or applier.language or ctx.language
        replies = [
            outbox_row(address, applier.member_id, reply, language, now, wording=self.wording)
            for reply in outcome.replies
        ]
        # A flood from one number costs; the goodbye of an erasure always goes, uncounted.
        if replies and inbound.traits.billed_by_segment and not applier.erased_address_ids:
            if not await may_reply(connection, self.limits, address, now):
                replies = []
        if outcome.keyboard is not None and inbound.message_id and inbound.traits.buttons:
            # A multi-select tap: the pressed message's buttons show the ticks (✓) now.
            replies.append(
                outbox_row(
                    address, applier.member_id, outcome.keyboard, language, now,
                    edits=inbound.message_id, wording=self.wording,
                )
            )  # fmt: skip
        rows += replies + applier.extra_rows
        erased += applier.erased_address_ids
        photos += applier.erased_photos
        return Handled(
            duplicate=False, notice=outcome.notice, queued=len(replies) + len(applier.extra_rows)
        )

    async def _listed_organisations(self, connection: AsyncConnection) -> tuple[str, ...]:
        # Read on every message otherwise; a list the secretariat edits rarely can be 30 s old.
        if time.monotonic() - self._organisations_at > ORGANISATIONS_CACHE_SECONDS:
            self._organisations = await member_store.listed_organisations(connection)
            self._organisations_at = time.monotonic()
        return self._organisations


@overload
def _member_id(member: Row) -> int: ...
@overload
def _member_id(member: Row | None) -> int | None: ...
def _member_id(member: Row | None) -> int | None:
    """Member rows come from two queries: as `member_id` (joined) or `id` (alone)."""
    if member is None:
        return None
    return member.member_id if "member_id" in member._fields else member.id


def _remove_files(paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _profile(member: Row) -> Profile:
    return Profile(
        member_id=_member_id(member),
        name=member.name,
        organisation=member.organisation_name,
        region=member.region,
        cercle=member.cercle,
        themes=tuple(member.themes or ()),
        language=member.language,
        sex=member.sex,
        age_band=member.age_band,
        invitation=_invitation(member),
    )


def _invitation(member: Row) -> str | None:
    if member.consent_at is not None or member.imported_at is None:
        return None
    return "refused" if member.refused_at is not None else "invited"
