"""What the console's sub-application holds, and the session's shape."""

from __future__ import annotations

from typing import NamedTuple

from aiohttp import web

THROTTLE = web.AppKey("console_throttle", object)
NAV = web.AppKey("console_nav", list)
WHO = web.RequestKey("console_who", object)  # Who | None, set by auth.identify
PREFIX = "/console"


class Who(NamedTuple):
    """Whoever is signed in: a person's account, or an API token used to sign in."""

    kind: str  # "account" | "token"
    id: int
    name: str
    role: str
    display: str = ""  # the person's full name, shown in the header

    @property
    def actor(self) -> str:
        """As the audit log names them (tokens as the API does)."""
        return f"console:{self.name}" if self.kind == "account" else f"token:{self.name}"
