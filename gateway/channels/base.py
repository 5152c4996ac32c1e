"""The channel contract: one module per provider behind these few types.

Out: a `Channel` sends one `Outgoing` message and returns the provider's id for it, or raises a
`SendError` that the adapter classified once, from its module-level tables: retryable or not, a
pause for the whole channel, what it says about the address.

In: a `Webhook` is one URL a provider posts to. It says whether a request is genuine, parses it
into events (a member's message, a status report on a row sent, an address that changed), and
shapes the answer. gateway/inbound/webhooks.py runs every webhook the same way.

Adapters are plain classes; gateway/app.py builds and wires them (nothing registers on import).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict

from bot.model import Received
from bot.vocabulary.phones import without_numbers
from storage.outbox.delivery import StatusReport
from storage.outbox.rows import edit_of
from storage.outbox.states import AddressState

# Wrong credentials are the operator's to fix, not the message's fault: the channel waits this
# long between tries and the rows keep their attempts, however long the fix takes.
CREDENTIALS_PAUSE = 60.0  # seconds


# --- out --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outgoing:
    """One outbox row to send. Its id goes into the status callback URL the send asks for."""

    outbox_id: int
    recipient: str
    body: str
    choices: list[list[str]] | None = None  # [[key, label], …]: buttons, where there are any
    # (or, for a row that edits a message already sent, {"edit": id, "buttons": [...]}:
    # read both through `edits` and `buttons`)
    # Outside WhatsApp's 24 h window: the approved template sent instead of the body.
    content_sid: str | None = None
    content_variables: Mapping[str, str] | None = None
    # A broadcast's row: a channel that queues (the SMS route layer) lets replies go first.
    bulk: bool = False
    # An SMS a phone's radio failed: that send's provider id and SIM slot, the route to avoid.
    reroute_from: str | None = None
    reroute_slot: int | None = None

    @property
    def edits(self) -> str | None:
        """The provider id of the message whose buttons this row replaces, if it does."""
        return edit_of(self.choices)[0]

    @property
    def buttons(self) -> list[list[str]] | None:
        return edit_of(self.choices)[1]


@dataclass(frozen=True)
class SendError(Exception):
    """A send that did not go through, classified once by the adapter.

    The dispatcher decides from these flags only: retry now-ish (retryable), wait a given time
    (retry_after, for the whole channel), or give up and mark the address (address_state).
    """

    code: str
    message: str
    retryable: bool
    retry_after: float | None = None  # the provider said when: pause the channel, no attempt lost
    address_state: AddressState | None = None
    pause: float | None = None  # slow the whole channel down a moment (the row still backs off)
    # The channel cannot carry it to this member (outside WhatsApp's window, not a WhatsApp
    # number…): a broadcast row may go once on the member's next address instead.
    fall_back: bool = False

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class Channel(Protocol):
    name: str  # "sms" | "whatsapp" | "telegram": the channel of the outbox rows it sends

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: Outgoing) -> str:
        """Send one message; return the provider's id for it, or raise SendError."""
        ...


def enabled(channels: Mapping[str, Channel]) -> list[str]:
    """The channels that can carry a message now, by name: all but one that says it has
    nowhere to send (`configured` False: the SMS route layer with no phone and no Twilio yet,
    which exists all the same so that the first phone added is used without a restart)."""
    return sorted(
        name for name, channel in channels.items() if getattr(channel, "configured", True)
    )


# --- in ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookRequest:
    """What a provider posted, read once, so parsing needs no web server."""

    url: str  # as the provider called it: the public URL, path and query (what Twilio signs)
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    @functools.cached_property
    def form(self) -> MultiDict[str]:
        """The body as a form, every value kept (Twilio signs repeated ones too)."""
        try:
            text = self.body.decode()
        except UnicodeDecodeError:
            raise Malformed("the form is not UTF-8") from None
        return MultiDict(parse_qsl(text, keep_blank_values=True))


@dataclass(frozen=True)
class AddressChange:
    """The member blocked the bot, or came back to it."""

    channel: str
    address: str
    blocked: bool


Event = Received | StatusReport | AddressChange  # StatusReport: storage/outbox/delivery.py


@dataclass(frozen=True)
class Parsed:
    events: tuple[Event, ...] = ()  # empty: nothing for us (a sticker, an edit, "queued"…)
    acknowledge: str | None = None  # what the answer must acknowledge (a Telegram button press)


class Malformed(ValueError):
    """A genuine request that does not say what it must: 400, nothing stored."""


class Webhook(Protocol):
    path: ClassVar[str]  # the public URL's path: operators configured it, it never changes
    content_type: ClassVar[str | None]  # the only content type it can be genuine with, if any

    def verify(self, request: WebhookRequest) -> bool:
        """Signed by the provider, or carrying its secret: checked before anything is parsed."""
        ...

    def parse(self, request: WebhookRequest) -> Parsed:
        """The request's events; raises Malformed (never anything else) when it is not one."""
        ...

    def answer(self, parsed: Parsed, notice: str | None) -> web.Response:
        """What the provider expects back once the events are stored."""
        ...


def redact(text: str, secrets: Iterable[str]) -> str:
    """Secrets (a bot token sits in Telegram's URLs) never go into an error message or a log;
    nor does a phone number (Twilio names the number it refused): error messages are kept, and
    a broadcast's counts keep them after its rows are purged."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return without_numbers(text)
