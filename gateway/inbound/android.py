"""POST /webhooks/android/{gateway}: what an Android phone (SMS Gateway for Android) reports.

1. The gateway is one we know, or 404.
2. Signed with its key, the timestamp within 5 minutes, or 403 — nothing is written before.
3. Parses, or 400; an event we do not use is answered 200 and ignored.
4. A member's SMS goes to the dialogues (de-duplicated on the event id: the app posts an event
   again until it gets a 2xx), and the SIM they texted becomes their sticky route; a status report
   goes to its outbox row; any genuine event says the phone is up.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from gateway.channels import android
from gateway.channels.base import Malformed, Parsed
from gateway.inbound.webhooks import _store
from gateway.keys import CHANNELS, DATABASE
from gateway.sending.routes import reload_routes
from storage import gateways as store
from storage.types import utcnow

log = logging.getLogger(__name__)


async def receive(request: web.Request) -> web.Response:
    name = request.match_info["gateway"]
    database = request.app[DATABASE]
    async with database.read_engine.connect() as connection:
        found = await store.webhook_key(connection, name)
    if found is None:
        raise web.HTTPNotFound(text="no such Android gateway")
    gateway_id, key = found
    body = await request.read()
    if not android.verify(key, request.headers, body, time.time()):
        raise web.HTTPForbidden(text="invalid signature or timestamp")
    try:
        event = android.parse(body, name)
    except Malformed as error:
        raise web.HTTPBadRequest(text=str(error)) from None
    # A phone added since the route layer last looked (the CLI, another process): known now,
    # so that its member's first reply can go from the SIM they texted.
    await reload_routes(request.app[CHANNELS], gateway_id)
    if not event.known:
        return web.json_response({"ignored": event.event})
    now = utcnow()
    async with database.transaction() as connection:
        await store.mark_seen(connection, gateway_id, now, ping=event.event == "system:ping")
        if event.received is not None:  # before the dialogue: its first reply goes from here
            sim_id = await store.sim_in_slot(connection, gateway_id, event.slot)
            if sim_id is not None:
                await store.set_sticky(connection, event.received.address, sim_id, now)
    if event.received is not None:
        await _store(request.app, Parsed((event.received,)))
    elif event.report is not None:
        await _store(request.app, Parsed((event.report,)))
    return web.json_response({"ok": True})


def add_routes(app: web.Application) -> None:
    app.router.add_post(android.WEBHOOK_PATH, receive)
