"""SQLAlchemy models: the one shared store of the coordination's membership and messages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.outbox.states import BroadcastStatus, OutboxStatus, Priority
from storage.types import UTCDateTime, utcnow


class Base(DeclarativeBase):
    # Every model here is mapped to one Table: say so, for the Core statements built on it.
    __table__: ClassVar[Table]
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Folded name (lower case, no accents, single spaces): "ONG Kènèya" and "ong keneya" are one.
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str | None] = mapped_column(String(40))
    listed: Mapped[bool] = mapped_column(default=False)  # offered as a choice at registration
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    region: Mapped[str | None] = mapped_column(String(40))
    cercle: Mapped[str | None] = mapped_column(String(200))
    themes: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Folded names of the duplicates merged into this one ("a f e m"): a later import that
    # spells it so finds this record.
    aliases: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    # The member who reports for it. No foreign key on purpose: a second path between members
    # and organisations would make every plain join of the two ambiguous; members are never
    # deleted (erasure keeps a tombstone), and organisation_records checks the id.
    focal_member_id: Mapped[int | None]


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    region: Mapped[str | None] = mapped_column(String(40), index=True)
    cercle: Mapped[str | None] = mapped_column(String(200))
    themes: Mapped[list[str]] = mapped_column(default=list)
    language: Mapped[str] = mapped_column(String(8), default="fr")
    consent_at: Mapped[datetime | None]
    consent_channel: Mapped[str | None] = mapped_column(String(16))  # where they said yes
    # Optional, asked at registration and in PROFIL (bot/vocabulary/reference.py's SEXES and
    # AGE_BANDS): None when not said.
    sex: Mapped[str | None] = mapped_column(String(8))
    age_band: Mapped[str | None] = mapped_column(String(8))
    role: Mapped[str | None] = mapped_column(String(60))  # in the organisation: focal point…
    email: Mapped[str | None] = mapped_column(String(200))
    telegram_username: Mapped[str | None] = mapped_column(String(64), index=True)  # lower, no @
    # Brought in by a directory import: not a member until they say OUI (consent_at).
    imported_at: Mapped[datetime | None]
    invited_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    refused_at: Mapped[datetime | None]  # said STOP to the invitation: never written to again
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    erased_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship(lazy="raise")
    addresses: Mapped[list[Address]] = relationship(back_populates="member", lazy="raise")


class Address(Base):
    """One way to reach a person: `sms:+223…`, `whatsapp:+223…`, `telegram:<chat id>`.

    Exists from the first inbound message, before registration (member_id NULL), so that
    opt-outs and conversations of not-yet-members are kept too.
    """

    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_address_channel_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str | None] = mapped_column(String(8))  # before registration
    opted_out_at: Mapped[datetime | None]
    blocked_at: Mapped[datetime | None]
    invalid_at: Mapped[datetime | None]
    # The member's last message here: on WhatsApp, free text may go for 24 h after it.
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member | None] = relationship(back_populates="addresses", lazy="raise")


class Conversation(Base):
    """State of an unfinished dialogue on one address."""

    __tablename__ = "conversations"

    address_id: Mapped[int] = mapped_column(
        ForeignKey("addresses.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime]


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_inbound_channel_provider_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(64))
    address_id: Mapped[int | None] = mapped_column(ForeignKey("addresses.id", ondelete="SET NULL"))
    body: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """Everything sent goes through here: the record of what was sent to whom."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "member_id", name="uq_outbox_broadcast_member"),
        # The dispatcher's claim: one channel's queued rows in priority order, read off the
        # index instead of sorting the whole queue (50-100 ms per batch at 100,000 queued).
        Index("ix_outbox_claim", "status", "channel", "priority", "id"),
        # Progress of a broadcast: counts by status, and "is anything still queued?".
        Index("ix_outbox_broadcast_status", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    address_id: Mapped[int | None] = mapped_column(
        ForeignKey("addresses.id", ondelete="SET NULL"), index=True
    )
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    broadcast_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("broadcasts.id", ondelete="CASCADE", name="fk_outbox_broadcast"),
        index=False,
    )
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[str] | None] = mapped_column(JSON)  # [[key, label], …] for buttons
    priority: Mapped[int] = mapped_column(default=int(Priority.REPLY))  # lower goes first
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    # WhatsApp outside the 24 h window: the approved template (Twilio Content SID) and its
    # variables, sent instead of the body.
    content_sid: Mapped[str | None] = mapped_column(String(34))
    content_variables: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Re-queued once on the member's next address: the channel that failed, and why.
    fallback_from: Mapped[str | None] = mapped_column(String(16))
    fallback_reason: Mapped[str | None] = mapped_column(Text)
    # SMS a phone's radio failed (no signal…), queued once more for another route: the send
    # that failed ("<gateway>/<message id>") and its SIM slot; the reason alone: asked by a
    # report that came before the send was recorded (storage/outbox/reroute.py).
    reroute_from: Mapped[str | None] = mapped_column(String(64))
    reroute_slot: Mapped[int | None]
    reroute_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Broadcast(Base):
    """An alert to a targeted audience: a text per language, sent now or at a set time."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(String(200))
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # language → text (fr required)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)  # see broadcasts.model.Audience
    sms_gsm_safe: Mapped[bool] = mapped_column(default=True)  # GSM-friendly spelling over SMS
    send_at: Mapped[datetime | None]  # None: when someone says send
    # draft → scheduled → sending → sent; or cancelled (BroadcastStatus)
    status: Mapped[str] = mapped_column(String(16), default=BroadcastStatus.DRAFT.value, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fanned_out_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    recipients: Mapped[int] = mapped_column(default=0)  # outbox rows made at fan-out
    # WhatsApp templates per language, their variables, and what happens outside the window
    # without one (broadcasts.whatsapp.WhatsAppPlan as JSON); None: none named.
    whatsapp: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fallback: Mapped[bool] = mapped_column(default=True)  # a channel's failure tries the next


class BroadcastDeliveryCount(Base):
    """Outbox rows of a broadcast counted before retention deleted them (storage/retention):
    a broadcast's totals are these plus the rows still held."""

    __tablename__ = "broadcast_delivery_counts"
    __table_args__ = (Index("ix_broadcast_delivery_counts_broadcast", "broadcast_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE", name="fk_delivery_counts_broadcast")
    )
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int]
    purged_at: Mapped[datetime]


class CampaignBroadcast(Base):
    """The broadcast a campaign's message became in a year: the unique key makes it once only,
    across restarts and processes (the scheduler inserts here first, and fans out only if it
    inserted)."""

    __tablename__ = "campaign_broadcasts"
    __table_args__ = (
        UniqueConstraint("campaign", "message", "year", name="uq_campaign_broadcast"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(String(100))  # the campaign file's name
    message: Mapped[str] = mapped_column(String(100))  # the message's key ("jour-03")
    year: Mapped[int]
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL", name="fk_campaign_broadcast_broadcast")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignYear(Base):
    """A campaign switched on (or off) for a year. No row: off, so nothing goes out before
    the secretariat has looked at the year's theme and texts."""

    __tablename__ = "campaign_years"

    campaign: Mapped[str] = mapped_column(String(100), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    enabled: Mapped[bool]
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Its texts approved for the year (storage.campaign_texts): nothing goes out before, and
    # an edit of a text withdraws the approval.
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]
    # The year's theme as edited in the console (language → theme), over the file's.
    theme: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Raised by every edit of the year (texts, theme, dates, messages, approval): a save that
    # names an older one is refused ("modifié entre-temps", storage.campaign_edits).
    revision: Mapped[int] = mapped_column(default=0, server_default="0")


class CampaignText(Base):
    """A campaign message's texts for one year as edited in the console (language → text),
    over the shipped file's."""

    __tablename__ = "campaign_texts"
    __table_args__ = (UniqueConstraint("campaign", "message", "year", name="uq_campaign_texts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(String(100))
    year: Mapped[int]
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignMessageEdit(Base):
    """A campaign message's day moved for one year, or a message added to one year (its
    title, send time, audience and texts in `definition`), as edited in the console."""

    __tablename__ = "campaign_message_edits"
    __table_args__ = (
        UniqueConstraint("campaign", "message", "year", name="uq_campaign_message_edits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(String(100))  # the slot's key ("jour-03")
    year: Mapped[int]
    added: Mapped[bool] = mapped_column(default=False)
    day: Mapped[date] = mapped_column(Date)
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminToken(Base):
    """An API/CLI credential. Only a hash is kept; the token is shown once, at creation."""

    __tablename__ = "admin_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # admin | secretariat | viewer
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did what, when: every broadcast action and token change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Report(Base):
    """An activity report from the field, stored once the member confirms it (no drafts here:
    an unfinished report lives in the conversation state). Beneficiaries by sex and age."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    activity: Mapped[str] = mapped_column(String(32), index=True)
    activity_date: Mapped[date] = mapped_column(Date, index=True)
    activity_month: Mapped[str] = mapped_column(String(7))  # "2026-11": the totals' month, portably
    region: Mapped[str | None] = mapped_column(String(40), index=True)
    commune: Mapped[str | None] = mapped_column(String(200))
    women: Mapped[int] = mapped_column(default=0)
    men: Mapped[int] = mapped_column(default=0)
    girls: Mapped[int] = mapped_column(default=0)
    boys: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(Text)
    # A photo: Telegram's file_id or Twilio's MediaUrl (WhatsApp/MMS), fetched in the background
    # into media_path (gateway/inbound/media.py); "url" is a link kept as it was (before 0022).
    media_kind: Mapped[str | None] = mapped_column(String(16))  # telegram | twilio | url
    media_ref: Mapped[str | None] = mapped_column(Text)
    media_path: Mapped[str | None] = mapped_column(Text)
    media_attempts: Mapped[int] = mapped_column(default=0)
    media_next_attempt_at: Mapped[datetime | None]
    media_error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    validated_at: Mapped[datetime | None]
    validated_by: Mapped[str | None] = mapped_column(String(200))
    # Past the retention period the free text and photo go and the figures stay (storage/retention).
    text_purged_at: Mapped[datetime | None]


class ProviderMedia(Base):
    """A photo still held by a provider that Benkadi has to have deleted there: Twilio keeps a
    WhatsApp/MMS photo until its Media resource is deleted. A row is added once the photo is on
    disk (or refused), and when an erasure or a purge forgets a photo not fetched yet; it goes
    once the provider said the media is gone (deleted, or 404)."""

    __tablename__ = "provider_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # twilio
    ref: Mapped[str] = mapped_column(Text, unique=True)  # the MediaUrl (sids only, no content)
    # Who sent it, until it is deleted: their erasure deletes it at once, even the photo of a
    # report they never confirmed (not an FK: the address goes with the erasure, the row stays).
    address_id: Mapped[int | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Poll(Base):
    """A poll: its definition (broadcasts.polls.model.Poll as JSON, fixed once launched)."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    reminder_days: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16))  # draft → launched (storage.polls.PollStatus)
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL", name="fk_poll_broadcast")
    )
    launched_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    reminder_broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL", name="fk_poll_reminder_broadcast")
    )
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The console's edits (storage.poll_drafts): a save names the revision it started from.
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    open_on_schedule: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(200))


class PollSession(Base):
    """A member invited to a poll: where they are in it. The current poll of a member is the
    session with the latest `current_at` (last invited or resumed)."""

    __tablename__ = "poll_sessions"
    __table_args__ = (
        UniqueConstraint("poll_id", "member_id", name="uq_poll_session_member"),
        Index("ix_poll_sessions_member_current", "member_id", "current_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    question: Mapped[str | None] = mapped_column(String(40))  # the one waiting for an answer
    channel: Mapped[str | None] = mapped_column(String(16))  # the last one answered on
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    current_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]


class PollResponse(Base):
    """One respondent's answer to one question (the latest: a change replaces it)."""

    __tablename__ = "poll_responses"
    __table_args__ = (
        UniqueConstraint("session_id", "question", name="uq_poll_response_question"),
        Index("ix_poll_responses_poll_question", "poll_id", "question"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("poll_sessions.id", ondelete="CASCADE"))
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(40))
    position: Mapped[int]
    skipped: Mapped[bool] = mapped_column(default=False)
    options: Mapped[list[str] | None] = mapped_column(JSON)  # chosen option keys, in order
    number: Mapped[float | None]
    text: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None]
    max_score: Mapped[float | None]
    dimension: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollChoice(Base):
    """One chosen option of a response: what per-option counts GROUP BY."""

    __tablename__ = "poll_choices"
    __table_args__ = (
        UniqueConstraint("session_id", "question", "option", name="uq_poll_choice"),
        Index("ix_poll_choices_poll_question_option", "poll_id", "question", "option"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("poll_sessions.id", ondelete="CASCADE"))
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(40))
    option: Mapped[str] = mapped_column(String(40))


class ConsoleAccount(Base):
    """A person who signs in to the web console; only an argon2 hash of the password is kept."""

    __tablename__ = "console_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # lower case
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # admin | secretariat | viewer | translator
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    languages: Mapped[str | None] = mapped_column(String(40))  # a translator's: "ff,ses"


class ConsoleSession(Base):
    """A console session, kept here so that signing out, a new password, a disabled account or
    a revoked token end it everywhere. The cookie holds a random id; only its SHA-256 is kept."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie id
    principal: Mapped[str | None] = mapped_column(String(40), index=True)  # "account:3" | "token:5"
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # who, since, seen, csrf
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SignInThrottle(Base):
    """Failed (and in-flight) console sign-ins per key (account, address, both), hashed: the
    next attempt under a key may be checked no earlier than `not_before`."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime]
    last_at: Mapped[datetime] = mapped_column(index=True)


class RateCount(Base):
    """How many times something happened per key and clock hour: link-code SMS per Telegram
    user, per number and overall, replies per SMS sender, and the refusals themselves. Keys
    that would name a person (a number, a chat) are hashed."""

    __tablename__ = "rate_counts"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    count: Mapped[int] = mapped_column(default=0)


class DispatcherHeartbeat(Base):
    """The last report of a `benkadi dispatch` run on its own (`--dispatch off` in `serve`):
    how `serve`'s readiness knows that dispatcher is alive, as a child's heartbeat on its pipe
    tells it for `--dispatch process`. One row per dispatcher name; no personal data."""

    __tablename__ = "dispatcher_heartbeats"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    beat_at: Mapped[datetime]
    report: Mapped[str] = mapped_column(Text)


class SmsGateway(Base):
    """An Android phone running SMS Gateway for Android: its API, its secrets, its health.

    The password and signing key are never shown back (lists and status leave them out)."""

    __tablename__ = "sms_gateways"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)  # in the webhook URL
    base_url: Mapped[str] = mapped_column(String(500))
    login: Mapped[str | None] = mapped_column(String(200))  # None: a bearer token (cloud)
    password: Mapped[str] = mapped_column(Text)
    signing_key: Mapped[str] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(String(64))  # cloud: which phone of the account
    rate_per_minute: Mapped[float | None] = mapped_column(Float)  # the whole phone, if limited
    enabled: Mapped[bool] = mapped_column(default=True)
    last_seen_at: Mapped[datetime | None]  # a webhook (ping, SMS, report) or a send answered
    down_at: Mapped[datetime | None]  # marked down (failures, health check) since then
    failures: Mapped[int] = mapped_column(default=0)  # consecutive failed sends or checks
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "08:00-20:00" (Bamako time): the phone sends only then; None: at any hour.
    working_hours: Mapped[str | None] = mapped_column(String(11))
    last_ping_at: Mapped[datetime | None]  # its last ping: one that pings, then stops, is down


class SmsGatewaySim(Base):
    """A SIM in a gateway phone: its slot, number, operator, price and sending rate."""

    __tablename__ = "sms_gateway_sims"
    __table_args__ = (UniqueConstraint("gateway_id", "slot", name="uq_sms_gateway_sims_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_id: Mapped[int] = mapped_column(ForeignKey("sms_gateways.id", ondelete="CASCADE"))
    slot: Mapped[int]  # simNumber: 1, 2 (or 3)
    number: Mapped[str] = mapped_column(String(20))
    operator: Mapped[str] = mapped_column(String(16))
    price_per_segment: Mapped[float] = mapped_column(Float, default=0.0)
    rate_per_minute: Mapped[float] = mapped_column(Float)


class SmsStickyRoute(Base):
    """The SIM a member texted last: their replies and broadcasts go out from it."""

    __tablename__ = "sms_sticky_routes"

    address_id: Mapped[int] = mapped_column(
        ForeignKey("addresses.id", ondelete="CASCADE"), primary_key=True
    )
    sim_id: Mapped[int] = mapped_column(ForeignKey("sms_gateway_sims.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Translation(Base):
    """A member-facing text as edited in the console: it overrides the shipped catalog's entry
    for its language (without a restart), reviewed or not by a native speaker."""

    __tablename__ = "translations"
    __table_args__ = (UniqueConstraint("language", "msgid", name="uq_translations_language_msgid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    msgid: Mapped[str] = mapped_column(Text)  # the French source
    msgstr: Mapped[str] = mapped_column(Text)
    reviewed: Mapped[bool] = mapped_column(default=False)
    updated_by: Mapped[str] = mapped_column(String(200))  # as the audit log names them
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WhatsAppTemplate(Base):
    """A template of the Twilio account (Content API), as `benkadi whatsapp templates sync`
    last read it: only "approved" ones may go outside the 24 h window."""

    __tablename__ = "whatsapp_templates"
    __table_args__ = (Index("ix_whatsapp_templates_name_language", "name", "language"),)

    sid: Mapped[str] = mapped_column(String(34), primary_key=True)  # HX…
    name: Mapped[str] = mapped_column(String(200))  # the friendly name
    language: Mapped[str] = mapped_column(String(16))
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)  # "1" → sample value
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))  # approved | pending | rejected | unsubmitted…
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecurringSchedule(Base):
    """A recurring message of broadcasts.recurring, switched on or off (shipped disabled)."""

    __tablename__ = "recurring_schedules"
    __table_args__ = (UniqueConstraint("key", name="uq_recurring_schedule_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    day: Mapped[int | None]  # the day of the month and "HH:MM" (Bamako): None, the shipped ones
    time: Mapped[str | None] = mapped_column(String(5))
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime | None]


class RecurringOccurrence(Base):
    """One occurrence of a recurring message, claimed once (the unique row) whatever the
    restarts; its broadcast, or none when nobody qualified."""

    __tablename__ = "recurring_occurrences"
    __table_args__ = (
        UniqueConstraint("schedule_key", "occurs_at", name="uq_recurring_occurrence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_key: Mapped[str] = mapped_column(String(60))
    occurs_at: Mapped[datetime]
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL", name="fk_recurring_broadcast")
    )
    recipients: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ErasureSuppression(Base):
    """An address whose person erased themselves (OUBLIER): never written to again unless they
    come back themselves (storage/suppression.py). Only a keyed hash (HMAC-SHA256 under the
    deployment's secret) of the normalised address, which key made it, and the day: no number,
    no chat id, no name, no member."""

    __tablename__ = "erasure_suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(16))
    erased_on: Mapped[date] = mapped_column(Date, index=True)
