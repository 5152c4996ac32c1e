"""Every provider's webhook, run the same way over the contract of gateway/channels/base.py.

1. The provider is configured, or 404.
2. The request is genuine (signature or secret), or 403 — before anything is stored.
3. It parses, or 400 naming what is missing (never a 500: the provider would post it again).
4. Its events are stored: a member's message goes to the dialogues, a status report to its
   outbox row, an address change to the address. A database failure is a 5xx, so the provider
   delivers the request again; unknown or ignored updates are simply answered.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from bot.model import Received
from broadcasts import fallback
from gateway.channels.base import AddressChange, Malformed, Parsed, Webhook, WebhookRequest
from gateway.channels.base import enabled as enabled_names
from gateway.inbound import media
from gateway.keys import CHANNELS, DATABASE, DISPATCHER, SERVICE, SETTINGS, WEBHOOKS
from storage.outbox import reroute
from storage.outbox.delivery import StatusReport, record_status
from storage.types import utcnow

log = logging.getLogger(__name__)


async def receive(request: web.Request, webhook: Webhook) -> web.Response:
    if webhook.content_type and request.content_type != webhook.content_type:
        # Cannot be genuine (it is signed over what only this content type carries): refused
        # before the body is even read.
        raise web.HTTPBadRequest(text=f"expected {webhook.content_type}")
    incoming = WebhookRequest(
        url=request.app[SETTINGS].public_url + request.path_qs,
        query=request.query,
        headers=request.headers,
        body=await request.read(),
    )
    if not webhook.verify(incoming):
        log.warning("webhook %s refused: invalid signature or secret", request.path)
        raise web.HTTPForbidden(text="invalid signature or secret")
    try:
        parsed = webhook.parse(incoming)
    except Malformed as error:
        # One line, without the details: they may quote what a member wrote.
        log.warning("webhook %s refused: malformed", request.path)
        raise web.HTTPBadRequest(text=str(error)) from None
    notice = await _store(request.app, parsed)
    return webhook.answer(parsed, notice)


async def _store(app: web.Application, parsed: Parsed) -> str | None:
    """Store what the request said; the notice to show for a button press, if any."""
    notice = None
    for event in parsed.events:
        if isinstance(event, Received):
            handled = await app[SERVICE].handle(event)
            notice = handled.notice
            app[DISPATCHER].wake()
            if event.inbound.media:
                media.wake(app)  # a report with a photo may just have been confirmed
        elif isinstance(event, AddressChange):
            await app[SERVICE].set_blocked(event.channel, event.address, event.blocked)
        elif isinstance(event, StatusReport):
            moved = 0
            async with app[DATABASE].transaction() as connection:
                now = utcnow()
                found = await record_status(connection, event, now)  # not: not ours, or erased
                if found and event.fall_back and event.outbox_id is not None:
                    # WhatsApp said no after taking it (63016…): the member's next channel.
                    channels = app[CHANNELS]
                    enabled = tuple(enabled_names(channels))
                    reason = f"{event.error_code}: {event.error_message or event.status}"
                    moved = await fallback.fall_back(
                        connection,
                        {event.outbox_id: reason},
                        enabled,
                        now,
                        provider_id=event.provider_id,
                    )
                if found and event.reroute and event.outbox_id is not None:
                    # A phone's radio failed it after taking it: once more, by another route.
                    reason = event.error_message or event.error_code or "failed"
                    moved += await reroute.reroute(
                        connection, event.outbox_id, event.provider_id, event.route_slot,
                        reason, now,
                    )  # fmt: skip
            if moved:
                app[DISPATCHER].wake()
    return notice


def _handler(path: str, provider: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        webhook = request.app[WEBHOOKS].get(path)
        if webhook is None:
            raise web.HTTPNotFound(text=f"{provider} is not configured")
        return await receive(request, webhook)

    return handle


def add_routes(app: web.Application, providers: Mapping[str, str]) -> None:
    """One route per public path (path → the provider's name), whether configured or not:
    the webhooks themselves are built once the settings are final (app[WEBHOOKS])."""
    for path, provider in providers.items():
        app.router.add_post(path, _handler(path, provider))
