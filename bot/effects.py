"""Carrying out the dialogue engine's effects on the store, inside the message's transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import (
    AcceptInvitation,
    Context,
    EraseMember,
    LinkPhone,
    MovePoll,
    OptIn,
    OptOut,
    Outcome,
    RecordPollAnswer,
    RefuseInvitation,
    Reply,
    SaveRegistration,
    SaveReport,
    SendSms,
    SetLanguage,
    UpdateProfile,
)
from bot.outbox_rows import outbox_row
from bot.sms_limits import SmsLimits, forget_counts, refuse_link_code
from bot.vocabulary.i18n import _, use_locale
from bot.vocabulary.phones import mask_phone
from bot.vocabulary.wording import PLAIN, Wording
from storage import members as member_store
from storage import polls as poll_store
from storage import reports as report_store
from storage import suppression


class Applier:
    """Carries out an outcome's effects on the store, in the inbound message's transaction."""

    def __init__(
        self,
        connection: AsyncConnection,
        address: Row,
        member_id: int | None,
        now: datetime,
        limits: SmsLimits | None = None,
        wording: Wording = PLAIN,
        erasure_key: suppression.SuppressionKey | None = None,
    ) -> None:
        self.limits = limits or SmsLimits()
        # The erasure suppression list's key: OUBLIER puts the member's addresses on it, their
        # own registration takes that address off, and no link code goes to one on it.
        self.erasure_key = erasure_key
        self.connection, self.address, self.member_id, self.now = (
            connection,
            address,
            member_id,
            now,
        )
        self.wording = wording
        self.extra_rows: list[dict] = []
        self.erased_address_ids: list[int] = []
        self.erased_photos: list[str] = []  # removed from disk once the erasure is committed
        self.language: str | None = None

    async def apply(self, outcome: Outcome, ctx: Context) -> Outcome:
        replies = list(outcome.replies)
        connection, address = self.connection, self.address
        ended = False
        for effect in outcome.effects:
            match effect:
                case SaveRegistration(data=data):
                    await self._register(data, ctx.language)
                case SaveReport(data=data):
                    await report_store.insert_report(connection, self.member_id, data, self.now)
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
                        erased = await member_store.erase_member(
                            connection, self.member_id, self.now
                        )
                        self.erased_address_ids = erased.address_ids
                        self.erased_photos = erased.photos
                        await forget_counts(connection, erased.addresses)
                        if self.erasure_key is not None:
                            await suppression.suppress(
                                connection, self.erasure_key, erased.suppressed, self.now
                            )
                case AcceptInvitation() if self.member_id:
                    await member_store.update_member(
                        connection,
                        self.member_id,
                        consent_at=self.now,
                        consent_channel=address.channel,
                        refused_at=None,
                    )
                case RefuseInvitation() if self.member_id:
                    await member_store.update_member(
                        connection, self.member_id, refused_at=self.now
                    )
                case SendSms(phone=phone, text=text):
                    refused = await refuse_link_code(
                        connection,
                        self.limits,
                        phone,
                        address,
                        self.member_id,
                        self.now,
                        self.erasure_key,
                    )
                    if refused is not None:  # nothing sent; the dialogue ends, told why
                        with use_locale(ctx.language):
                            replies = [self._refusal(refused)]
                        ended = True
                        continue
                    target = await member_store.address_for(connection, "sms", phone)
                    self.extra_rows.append(
                        outbox_row(
                            target,
                            target.member_id,
                            Reply(text),
                            ctx.language,
                            self.now,
                            wording=self.wording,
                        )
                    )
                case LinkPhone(phone=phone):
                    with use_locale(ctx.language):
                        replies.append(await self._link(phone))
                case RecordPollAnswer() if self.member_id:
                    await poll_store.record_answer(
                        connection, self.member_id, effect, address.channel, self.now
                    )
                case MovePoll() if self.member_id:
                    await poll_store.move(
                        connection, self.member_id, effect, address.channel, self.now
                    )
        return replace(outcome, replies=tuple(replies), state=None if ended else outcome.state)

    def _refusal(self, reason: str) -> Reply:
        if reason == "country":
            countries = ", ".join(f"+{code}" for code in self.limits.countries)
            return Reply(
                _("Benkadi n'envoie de code qu'aux numéros de ces pays : {countries}.").format(
                    countries=countries
                )
            )
        if reason == "taken":
            return Reply(
                _(
                    "Ce numéro appartient à un autre profil. Contactez le secrétariat pour les réunir."
                )
            )
        if reason in ("overall", "erased"):  # "erased": said as if SMS were down
            return Reply(
                _("L'envoi de SMS n'est pas disponible pour le moment. Réessayez plus tard.")
            )
        return Reply(_("Trop de codes demandés. Réessayez dans une heure."))

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
            sex=data.get("sex"),
            age_band=data.get("age_band"),
            consent_at=datetime.fromisoformat(data["consent_at"]),
            consent_channel=self.address.channel,
            registered_at=self.now,
            updated_at=self.now,
        )
        await member_store.update_address(
            self.connection, self.address.id, member_id=self.member_id, language=None
        )
        await member_store.link_phone_siblings(
            self.connection, self.member_id, self.address.channel, self.address.address
        )
        if self.erasure_key is not None:  # they came back themselves: their choice
            await suppression.lift(
                self.connection,
                self.erasure_key,
                [(suppression.kind_of(self.address.channel), self.address.address)],
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
