"""Broadcasts over the HTTP API: the secretariat previews, creates, sends and cancels; viewers
follow them.

POST /api/v1/broadcasts/preview          secretariat  who would get what (a draft, nothing saved)
POST /api/v1/broadcasts                  secretariat  create ("send": true sends it now)
GET  /api/v1/broadcasts?limit=           viewer       the latest
GET  /api/v1/broadcasts/{id}             viewer       status counts per channel, failures
POST /api/v1/broadcasts/{id}/send        secretariat  a draft or scheduled one, now
POST /api/v1/broadcasts/{id}/cancel      secretariat  with its messages not yet sent
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from broadcasts import service
from broadcasts.model import Draft, DraftError, parse_draft
from gateway.api.common import (
    ID,
    PREFIX,
    actor,
    body,
    enabled_channels,
    endpoint,
    path_id,
    query_limit,
    reply,
    wake_dispatcher,
)
from gateway.keys import DATABASE, SETTINGS
from storage.tokens import Principal


async def draft_from(request: web.Request, payload: dict[str, Any]) -> Draft:
    known = await service.known_organisations(request.app[DATABASE])
    return parse_draft(payload, datetime.now(UTC), known)


@endpoint("secretariat")
async def preview(request: web.Request, who: Principal) -> web.Response:
    draft = await draft_from(request, await body(request))
    settings = request.app[SETTINGS]
    result = await service.preview(
        request.app[DATABASE],
        draft,
        enabled_channels=enabled_channels(request),
        price_per_segment=settings.sms_price_per_segment,
        currency=settings.currency,
    )
    return reply(result)


@endpoint("secretariat")
async def create(request: web.Request, who: Principal) -> web.Response:
    payload = await body(request)
    send = payload.pop("send", False)
    if not isinstance(send, bool):
        raise DraftError("send", "must be true or false")
    draft = await draft_from(request, payload)
    if send and draft.send_at is not None:
        raise DraftError("send", "cannot go with send_at: leave send_at out to send now")
    database = request.app[DATABASE]
    if send:  # refused before anything is made
        await service.check_templates(database, draft, enabled_channels=enabled_channels(request))
    broadcast_id = await service.create(database, draft, actor(who))
    extra: dict[str, int] = {}
    if send:
        extra["queued"] = await service.send_now(
            database, broadcast_id, actor(who), enabled_channels=enabled_channels(request)
        )
        wake_dispatcher(request)
    result = {**await service.get_status(database, broadcast_id), **extra}
    response = reply(result, status=201)
    response.headers["Location"] = f"{PREFIX}/broadcasts/{broadcast_id}"
    return response


@endpoint("viewer")
async def list_broadcasts(request: web.Request, who: Principal) -> web.Response:
    limit = query_limit(request, 50, 500)
    return reply({"broadcasts": await service.list_broadcasts(request.app[DATABASE], limit)})


@endpoint("viewer")
async def status(request: web.Request, who: Principal) -> web.Response:
    return reply(await service.get_status(request.app[DATABASE], path_id(request)))


@endpoint("secretariat")
async def send(request: web.Request, who: Principal) -> web.Response:
    database, broadcast_id = request.app[DATABASE], path_id(request)
    queued = await service.send_now(
        database, broadcast_id, actor(who), enabled_channels=enabled_channels(request)
    )
    wake_dispatcher(request)
    return reply({**await service.get_status(database, broadcast_id), "queued": queued})


@endpoint("secretariat")
async def cancel(request: web.Request, who: Principal) -> web.Response:
    database, broadcast_id = request.app[DATABASE], path_id(request)
    cancelled = await service.cancel(database, broadcast_id, actor(who))
    return reply({**await service.get_status(database, broadcast_id), "cancelled": cancelled})


def add_routes(app: web.Application) -> None:
    add, base = app.router, f"{PREFIX}/broadcasts"
    add.add_post(f"{base}/preview", preview)
    add.add_post(base, create)
    add.add_get(base, list_broadcasts, allow_head=False)
    add.add_get(f"{base}/{ID}", status, allow_head=False)
    add.add_post(f"{base}/{ID}/send", send)
    add.add_post(f"{base}/{ID}/cancel", cancel)
