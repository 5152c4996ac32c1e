"""The dialogue engine's inputs and outputs: plain, immutable data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.vocabulary.channels import ChannelTraits, Style, traits

if TYPE_CHECKING:
    from broadcasts.polls.model import Poll


@dataclass(frozen=True)
class Inbound:
    channel: str  # sms | whatsapp | telegram
    text: str
    button: str | None = None  # a pressed button's key (Telegram callback data)
    start_payload: str | None = None  # Telegram "/start <payload>"
    is_start: bool = False  # Telegram "/start"
    media: str | None = None  # a photo: Telegram file_id, or Twilio MediaUrl0 (WhatsApp/MMS)
    message_id: str | None = None  # the message whose button was pressed (Telegram)
    # Attachments after the first (Twilio MediaUrl1…9): no report keeps them; they are only
    # deleted at the provider (storage/provider_media.py).
    other_media: tuple[str, ...] = ()

    @property
    def traits(self) -> ChannelTraits:
        return traits(self.channel)

    @property
    def style(self) -> Style:
        """Numbered lists, or buttons: what the channel shows choices as."""
        return self.traits.style


@dataclass(frozen=True)
class Received:
    """A normalised inbound message from any channel."""

    channel: str
    address: str  # "+22376123456" for sms/whatsapp, the chat id for telegram
    provider_id: str  # MessageSid, update_id: what makes a replay recognisable
    inbound: Inbound

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel, self.address)


@dataclass(frozen=True)
class Profile:
    """What is stored about a member, as the dialogues need it."""

    member_id: int
    name: str | None
    organisation: str | None
    region: str | None
    cercle: str | None
    themes: tuple[str, ...]
    language: str
    channels: tuple[str, ...] = ()  # "sms:+223…", "telegram:…" for the profile summary
    sex: str | None = None
    age_band: str | None = None
    # Imported from the directory and not (yet) joined: "invited" until OUI, "refused" after
    # STOP; None for a member who registered or said OUI (bot/flows/invitation.py).
    invitation: str | None = None


@dataclass(frozen=True)
class State:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    inbound: Inbound
    language: str  # the member's (or the address's) current language
    member: Profile | None
    state: State | None
    state_expired: bool
    opted_out: bool
    organisations: tuple[str, ...]  # the coordination's listed organisations, by name
    now: datetime
    fresh_code: str  # a random code, should this message start a link
    sms_available: bool = True
    report_max_beneficiaries: int = 100_000  # BENKADI_REPORT_MAX_BENEFICIARIES
    poll: PollView | None = None  # the poll this message may be about (bot/flows/poll.py)


@dataclass(frozen=True)
class PollView:
    """A member's session in one poll, as the poll dialogue needs it (loaded by the shell)."""

    poll_id: int
    poll: Poll
    open: bool  # launched and not closed
    question: str | None  # the session's current question; None before the first
    finished: bool
    answers: dict[str, Any] = field(default_factory=dict)  # question → option keys or number
    closes_at: datetime | None = None
    # Another open poll's invitation came after this session's question was asked: a plain
    # reply may be meant for it, so it is not taken as an answer (bot/flows/poll.py).
    newer_invitation: bool = False


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[tuple[str, str], ...] = ()  # (key, label) rendered as buttons or a list
    page: int = 0  # over SMS, the first choice shown of a list too long for one message


# Effects: what the shell must store. The engine never touches the database itself.
@dataclass(frozen=True)
class SaveRegistration:
    data: dict[str, Any]


@dataclass(frozen=True)
class UpdateProfile:
    field: str
    value: Any


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class OptOut:
    pass


@dataclass(frozen=True)
class OptIn:
    pass


@dataclass(frozen=True)
class EraseMember:
    pass


@dataclass(frozen=True)
class AcceptInvitation:
    """An imported person said OUI: consent now, on this channel."""


@dataclass(frozen=True)
class RefuseInvitation:
    """An imported person said STOP to the invitation."""


@dataclass(frozen=True)
class SendSms:
    """A message to another address than the sender's (the link code)."""

    phone: str
    text: str


@dataclass(frozen=True)
class LinkPhone:
    phone: str


@dataclass(frozen=True)
class SaveReport:
    """A confirmed activity report (the flow's data: activity, date, place, counts…)."""

    data: dict[str, Any]


@dataclass(frozen=True)
class RecordPollAnswer:
    """An answer to a poll question (latest wins); `skipped` for an optional one passed."""

    poll_id: int
    question: str
    position: int
    options: tuple[str, ...] = ()
    number: float | None = None
    text: str | None = None
    score: float | None = None
    max_score: float | None = None
    dimension: str | None = None
    skipped: bool = False


@dataclass(frozen=True)
class MovePoll:
    """The member's poll session moves to a question (and becomes their current poll)."""

    poll_id: int
    question: str | None
    finished: bool = False


Effect = (
    SaveRegistration
    | SaveReport
    | UpdateProfile
    | SetLanguage
    | OptOut
    | OptIn
    | EraseMember
    | AcceptInvitation
    | RefuseInvitation
    | SendSms
    | LinkPhone
    | RecordPollAnswer
    | MovePoll
)


@dataclass(frozen=True)
class Outcome:
    replies: tuple[Reply, ...]
    state: State | None  # the dialogue state to keep; None ends the dialogue
    effects: tuple[Effect, ...] = ()
    notice: str | None = None  # a short acknowledgement of a button press (Telegram toast)
    language: str | None = None  # the language the replies are in, when it changed
    # A multi-select tap: the question's buttons as they are now (✓ on what is ticked), to put
    # in place of those of the message pressed.
    keyboard: Reply | None = None
