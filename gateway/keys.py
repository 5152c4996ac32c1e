"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

if TYPE_CHECKING:
    from bot.service import ConversationService
    from gateway.channels.base import Channel, Webhook
    from gateway.settings import Settings
    from gateway.simulator import Simulator
    from storage.database import Database
    from storage.suppression import SuppressionKey


class Waker(Protocol):
    """The app's dispatcher as its users see it (in this process, a child's, or none)."""

    def wake(self) -> None: ...


class Health(Protocol):
    """Whether the sending side is alive, and each channel's state (readiness, /readyz)."""

    def report(self) -> dict[str, object]: ...


SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
DATABASE: web.AppKey[Database] = web.AppKey("database")
SERVICE: web.AppKey[ConversationService] = web.AppKey("service")
CHANNELS: web.AppKey[dict[str, Channel]] = web.AppKey("channels")
DISPATCHER: web.AppKey[Waker] = web.AppKey("dispatcher")  # woken when rows are queued
HEALTH: web.AppKey[Health] = web.AppKey("health")  # the dispatcher's, wherever it runs
WEBHOOKS: web.AppKey[dict[str, Webhook]] = web.AppKey("webhooks")  # configured ones, by path
SIMULATOR: web.AppKey[Simulator] = web.AppKey("simulator")
# The erasure suppression list's key (gateway/secret.py), for the directory imports.
ERASURE_KEY: web.AppKey[SuppressionKey] = web.AppKey("erasure_key")
# The time the app lives by (the dispatcher, the scheduler, the dialogues): utcnow, or a
# test clock that jumps to a poll's opening and closing dates.
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock")
