"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from gateway.channels.base import Webhook

SETTINGS = web.AppKey("settings", "Settings")
DATABASE = web.AppKey("database", "Database")
SERVICE = web.AppKey("service", "ConversationService")
CHANNELS = web.AppKey("channels", "dict[str, Channel]")
DISPATCHER = web.AppKey("dispatcher", "Dispatcher")
WEBHOOKS: web.AppKey[dict[str, Webhook]] = web.AppKey("webhooks")  # configured ones, by path
SIMULATOR = web.AppKey("simulator", "Simulator")
