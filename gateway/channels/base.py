"""The one small contract every channel adapter keeps, and how send failures are told apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Wrong credentials are the operator's to fix, not the message's fault: the channel waits this
# long between tries and the rows keep their attempts, however long the fix takes.
CREDENTIALS_PAUSE = 60.0  # seconds


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
    address_state: str | None = None  # "blocked" | "opted_out" | "invalid"
    pause: float | None = None  # slow the whole channel down a moment (the row still backs off)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class Channel(Protocol):
    name: str  # "sms" | "whatsapp" | "telegram": the channel of the outbox rows it sends

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, recipient: str, body: str, choices: list[list[str]] | None) -> str:
        """Send one message; return the provider's id for it, or raise SendError."""
        ...
