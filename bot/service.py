"""The imperative shell around the dialogue engine.

One transaction turns an inbound message into: the stored message, the state change, the
effects and the queued replies. A replay of the same provider message changes nothing.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import engine
from bot.i18n import SOURCE_LANGUAGE, _, use_locale
from bot.model import (
    Context,
    EraseMember,
    Inbound,
    LinkPhone,
    OptIn,
    OptOut,
    Outcome,
    Profile,
    Reply,
    SaveRegistration,
    SendSms,
    SetLanguage,
    State,
    UpdateProfile,
)
from bot.phones import mask_phone
from bot.render import render_for_channel
from storage import members as member_store
from storage import messages as message_store
from storage.database import Database
from storage.types import utcnow

CONVERSATION_TTL = timedelta(hours=24)
ORGANISATIONS_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Received:
    """A normalised inbound message from any channel."""

    channel: str
    address: str  # "+22376123456" for sms/whatsapp, the chat id for telegram
    provider_id: str  # MessageSid, update_id: what makes a replay recognisable
    inbound: Inbound


@dataclass(frozen=True)
class Handled:
    duplicate: bool
    notice: str | None = None  # Telegram callback toast
    queued: int = 0


class ConversationService:
    def __init__(
        self, database: Database, sms_available: bool = True, ttl: timedelta = CONVERSATION_TTL
    ) -> None:
        self.database = database
        self.sms_available = sms_available
        self.ttl = ttl
        self._organisations: tuple[str, ...] = ()
        self._organisations_at = float("-inf")

    async def handle(self, received: Received, now: datetime | None = None) -> Handled:
        now = now or utcnow()
        async with self.database.transaction() as connection:
            address = await member_store.address_for(connection, received.channel, received.address)
            is_new = await message_store.record_inbound(
                connection,
                received.channel,
                received.provider_id,
                address.id,
                received.inbound.text,
            )
            if not is_new:
                return Handled(duplicate=True)
            member_id = address.member_id
            if member_id is None:
                member_id = await member_store.sibling_phone_member(
                    connection, address.channel, address.address
                )
                if member_id is not None:
                    await member_store.update_address(connection, address.id, member_id=member_id)
            member = await member_store.member_profile(connection, member_id) if member_id else None
            conversation = await message_store.load_conversation(connection, address.id)
            ctx = Context(
                inbound=received.inbound,
                language=(member.language if member else address.language) or SOURCE_LANGUAGE,
                member=_profile(member) if member else None,
                state=State(conversation.flow, conversation.step, conversation.data)
                if conversation
                else None,
                state_expired=bool(conversation and conversation.expires_at <= now),
                opted_out=address.opted_out_at is not None,
                organisations=await self._listed_organisations(connection),
                now=now,
                fresh_code=f"{secrets.randbelow(1_000_000):06d}",
                sms_available=self.sms_available,
            )
            outcome = engine.handle(ctx)
            applier = _Applier(connection, address, member.id if member else None, now)
            outcome = await applier.apply(outcome, ctx)
            state = outcome.state
            if state is not None or conversation is not None:
                await message_store.save_conversation(
                    connection,
                    address.id,
                    state.flow if state else None,
                    state.step if state else "",
                    state.data if state else None,
                    now,
                    now + self.ttl,
                )
            language = outcome.language or applier.language or ctx.language
            rows = [
                _outbox_row(address, applier.member_id, reply, language, now)
                for reply in outcome.replies
            ]
            rows += applier.extra_rows
            await message_store.enqueue(connection, rows)
            if applier.erased_address_ids:
                await member_store.delete_addresses(connection, applier.erased_address_ids)
            return Handled(duplicate=False, notice=outcome.notice, queued=len(rows))

    async def set_blocked(self, channel: str, address: str, blocked: bool) -> None:
        """The member blocked the bot (or came back): no more sends there until they return."""
        async with self.database.transaction() as connection:
            row = await member_store.address_for(connection, channel, address)
            await member_store.update_address(
                connection, row.id, blocked_at=utcnow() if blocked else None
            )

    async def _listed_organisations(self, connection: AsyncConnection) -> tuple[str, ...]:
        # Read on every message otherwise; a list the secretariat edits rarely can be 30 s old.
        if time.monotonic() - self._organisations_at > ORGANISATIONS_CACHE_SECONDS:
            self._organisations = await member_store.listed_organisations(connection)
            self._organisations_at = time.monotonic()
        return self._organisations


def _profile(member: Row) -> Profile:
    return Profile(
        member_id=member.id,
        name=member.name,
        organisation=member.organisation_name,
        region=member.region,
        cercle=member.cercle,
        themes=tuple(member.themes or ()),
        language=member.language,
    )


def _outbox_row(
    address: Row, member_id: int | None, reply: Reply, language: str, now: datetime
) -> dict:
    with use_locale(language):
        body, choices = render_for_channel(reply, address.channel)
    return {
        "address_id": address.id,
        "member_id": member_id,
        "channel": address.channel,
        "recipient": address.address,
        "body": body,
        "choices": choices,
        "priority": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


class _Applier:
    """Carries out an outcome's effects on the store, in the inbound message's transaction."""

    def __init__(
        self, connection: AsyncConnection, address: Row, member_id: int | None, now: datetime
    ) -> None:
        self.connection, self.address, self.member_id, self.now = (
            connection,
            address,
            member_id,
            now,
        )
        self.extra_rows: list[dict] = []
        self.erased_address_ids: list[int] = []
        self.language: str | None = None

    async def apply(self, outcome: Outcome, ctx: Context) -> Outcome:
        replies = list(outcome.replies)
        connection, address = self.connection, self.address
        for effect in outcome.effects:
            match effect:
                case SaveRegistration(data=data):
                    await self._register(data, ctx.language)
                case UpdateProfile(field=field, value=value):
                    await self._update(field, value)
                case SetLanguage(language=language):
                    if self.member_id:
                        await member_store.update_member(
                            connection, self.member_id, language=language
                        )
                    else:
                        await member_store.update_address(connection, address.id, language=language)
                    self.language = language
                case OptOut():
                    await member_store.update_address(connection, address.id, opted_out_at=self.now)
                case OptIn():
                    await member_store.update_address(connection, address.id, opted_out_at=None)
                case EraseMember():
                    if self.member_id:
                        self.erased_address_ids = list(
                            await member_store.erase_member(connection, self.member_id, self.now)
                        )
                case SendSms(phone=phone, text=text):
                    target = await member_store.address_for(connection, "sms", phone)
                    self.extra_rows.append(
                        _outbox_row(target, target.member_id, Reply(text), ctx.language, self.now)
                    )
                case LinkPhone(phone=phone):
                    with use_locale(ctx.language):
                        replies.append(await self._link(phone))
        return replace(outcome, replies=tuple(replies))

    async def _register(self, data: dict, fallback_language: str) -> None:
        organisation_id = None
        if data.get("organisation"):
            organisation_id = await member_store.organisation_id_named(
                self.connection, data["organisation"]
            )
        self.member_id = await member_store.create_member(
            self.connection,
            name=data["name"],
            organisation_id=organisation_id,
            region=data.get("region"),
            cercle=data.get("cercle"),
            themes=list(data.get("themes") or []),
            language=data.get("language") or fallback_language,
            consent_at=datetime.fromisoformat(data["consent_at"]),
            registered_at=self.now,
            updated_at=self.now,
        )
        await member_store.update_address(
            self.connection, self.address.id, member_id=self.member_id, language=None
        )
        self.language = data.get("language") or fallback_language

    async def _update(self, field: str, value) -> None:
        assert self.member_id is not None
        if field == "organisation":
            organisation_id = await member_store.organisation_id_named(self.connection, value)
            await member_store.update_member(
                self.connection, self.member_id, organisation_id=organisation_id
            )
        else:
            await member_store.update_member(self.connection, self.member_id, **{field: value})

    async def _link(self, phone: str) -> Reply:
        """Join the Telegram address and the proven phone number under one member."""
        phone_address = await member_store.address_for(self.connection, "sms", phone)
        mine, theirs = self.member_id, phone_address.member_id
        if mine is not None and theirs is not None and mine != theirs:
            return Reply(
                _(
                    "Ce numéro appartient à un autre profil. Contactez le secrétariat pour les réunir."
                )
            )
        if mine is None and theirs is None:
            return Reply(_("Ce numéro n'est pas inscrit. Envoyez INSCRIPTION pour vous inscrire."))
        owner = mine or theirs
        await member_store.update_address(self.connection, phone_address.id, member_id=owner)
        await member_store.update_address(self.connection, self.address.id, member_id=owner)
        self.member_id = owner
        return Reply(
            _("C'est fait : ce compte Telegram et le numéro {phone} sont reliés.").format(
                phone=mask_phone(phone)
            )
        )
