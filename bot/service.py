"""The imperative shell around the dialogue engine.

One transaction turns an inbound message into: the stored message, the state change, the
effects and the queued replies. A replay of the same provider message changes nothing.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

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
from bot.render import render_for_channel
from storage import members as member_store
from storage import messages as message_store
from storage.database import Database
from storage.models import Address, Member
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
        async with self.database.transaction() as session:
            address = await member_store.address_for(session, received.channel, received.address)
            is_new = await message_store.record_inbound(
                session, received.channel, received.provider_id, address.id, received.inbound.text
            )
            if not is_new:
                return Handled(duplicate=True)
            if address.member_id is None:
                address.member_id = await member_store.sibling_phone_member(session, address)
            member = (
                await member_store.member_with_details(session, address.member_id)
                if address.member_id
                else None
            )
            conversation = await message_store.load_conversation(session, address.id)
            ctx = Context(
                inbound=received.inbound,
                language=(member.language if member else address.language) or SOURCE_LANGUAGE,
                member=_profile(member) if member else None,
                state=State(conversation.flow, conversation.step, conversation.data)
                if conversation
                else None,
                state_expired=bool(conversation and conversation.expires_at <= now),
                opted_out=address.opted_out_at is not None,
                organisations=await self._listed_organisations(session),
                now=now,
                fresh_code=f"{secrets.randbelow(1_000_000):06d}",
                sms_available=self.sms_available,
            )
            outcome = engine.handle(ctx)
            applied = _Applier(session, address, member, now)
            outcome = await applied.apply(outcome, ctx)
            state = outcome.state
            await message_store.save_conversation(
                session,
                address.id,
                conversation,
                state.flow if state else None,
                state.step if state else "",
                state.data if state else None,
                now,
                now + self.ttl,
            )
            language = outcome.language or applied.language or ctx.language
            rows = [
                _outbox_row(address, applied.member_id, reply, language, now)
                for reply in outcome.replies
            ]
            rows += applied.extra_rows
            await message_store.enqueue(session, rows)
            if applied.erased_address_ids:
                await session.execute(
                    delete(Address).where(Address.id.in_(applied.erased_address_ids))
                )
            return Handled(duplicate=False, notice=outcome.notice, queued=len(rows))

    async def set_blocked(self, channel: str, address: str, blocked: bool) -> None:
        """The member blocked the bot (or came back): no more sends there until they return."""
        async with self.database.transaction() as session:
            row = await member_store.address_for(session, channel, address)
            row.blocked_at = utcnow() if blocked else None

    async def _listed_organisations(self, session: AsyncSession) -> tuple[str, ...]:
        # Read on every message otherwise; a list the secretariat edits rarely can be 30 s old.
        if time.monotonic() - self._organisations_at > ORGANISATIONS_CACHE_SECONDS:
            self._organisations = await member_store.listed_organisations(session)
            self._organisations_at = time.monotonic()
        return self._organisations


def _profile(member: Member) -> Profile:
    return Profile(
        member_id=member.id,
        name=member.name,
        organisation=member.organisation.name if member.organisation else None,
        region=member.region,
        cercle=member.cercle,
        themes=tuple(member.themes or ()),
        language=member.language,
        channels=tuple(f"{a.channel}:{a.address}" for a in member.addresses),
    )


def _outbox_row(
    address: Address, member_id: int | None, reply: Reply, language: str, now: datetime
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
    }


class _Applier:
    """Carries out an outcome's effects on the store, in the inbound message's transaction."""

    def __init__(
        self, session: AsyncSession, address: Address, member: Member | None, now: datetime
    ) -> None:
        self.session, self.address, self.member, self.now = session, address, member, now
        self.extra_rows: list[dict] = []
        self.erased_address_ids: list[int] = []
        self.language: str | None = None

    @property
    def member_id(self) -> int | None:
        return self.member.id if self.member else None

    async def apply(self, outcome: Outcome, ctx: Context) -> Outcome:
        replies = list(outcome.replies)
        for effect in outcome.effects:
            match effect:
                case SaveRegistration(data=data):
                    await self._register(data, ctx.language)
                case UpdateProfile(field=field, value=value):
                    await self._update(field, value)
                case SetLanguage(language=language):
                    if self.member:
                        self.member.language = language
                    else:
                        self.address.language = language
                    self.language = language
                case OptOut():
                    self.address.opted_out_at = self.now
                case OptIn():
                    self.address.opted_out_at = None
                case EraseMember():
                    if self.member:
                        self.erased_address_ids = await member_store.erase_member(
                            self.session, self.member, self.now
                        )
                case SendSms(phone=phone, text=text):
                    target = await member_store.address_for(self.session, "sms", phone)
                    self.extra_rows.append(
                        _outbox_row(target, target.member_id, Reply(text), ctx.language, self.now)
                    )
                case LinkPhone(phone=phone):
                    with use_locale(ctx.language):
                        replies.append(await self._link(phone))
        return replace(outcome, replies=tuple(replies))

    async def _register(self, data: dict, fallback_language: str) -> None:
        organisation = None
        if data.get("organisation"):
            organisation = await member_store.organisation_named(
                self.session, data["organisation"], self.now
            )
        self.member = Member(
            name=data["name"],
            organisation_id=organisation.id if organisation else None,
            region=data.get("region"),
            cercle=data.get("cercle"),
            themes=list(data.get("themes") or []),
            language=data.get("language") or fallback_language,
            consent_at=datetime.fromisoformat(data["consent_at"]),
            registered_at=self.now,
        )
        self.session.add(self.member)
        await self.session.flush()
        self.address.member_id = self.member.id
        self.address.language = None
        self.language = self.member.language

    async def _update(self, field: str, value) -> None:
        assert self.member is not None
        if field == "organisation":
            organisation = await member_store.organisation_named(self.session, value, self.now)
            self.member.organisation_id = organisation.id
        else:
            setattr(self.member, field, value)

    async def _link(self, phone: str) -> Reply:
        """Join the Telegram address and the proven phone number under one member."""
        phone_address = await member_store.address_for(self.session, "sms", phone)
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
        phone_address.member_id = owner
        self.address.member_id = owner
        if self.member is None:
            self.member = await member_store.member_with_details(self.session, owner)
        return Reply(
            _("C'est fait : ce compte Telegram et le numéro {phone} sont reliés.").format(
                phone=phone
            )
        )
