"""What the console's sub-application holds, and the session's shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from aiohttp import web

if TYPE_CHECKING:
    from gateway.console.auth import Throttle

PREFIX = "/console"


class Who(NamedTuple):
    """Whoever is signed in: a person's account, or an API token used to sign in."""

    kind: str  # "account" | "token"
    id: int
    name: str
    role: str
    display: str = ""  # the person's full name, shown in the header
    languages: tuple[str, ...] = ()  # a translator's languages

    @property
    def actor(self) -> str:
        """As the audit log names them (tokens as the API does)."""
        return f"console:{self.name}" if self.kind == "account" else f"token:{self.name}"


THROTTLE: web.AppKey[Throttle] = web.AppKey("console_throttle")
NAV: web.AppKey[list[tuple[str, str, str]]] = web.AppKey("console_nav")  # (label, path, role)
WHO: web.RequestKey[Who | None] = web.RequestKey("console_who")  # set by auth.identify
