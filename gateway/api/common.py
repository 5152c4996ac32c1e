"""The HTTP API under /api/v1: broadcasts for the secretariat, tokens and audit for admins.

Every answer is JSON. Domain errors carry no HTTP status; `ERRORS` below maps them, once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from broadcasts import service
from broadcasts.model import Draft, DraftError, parse_draft
from gateway.api.auth import json_error, require
from gateway.keys import CHANNELS, DATABASE, DISPATCHER, SETTINGS
from storage import audit, tokens
from storage.tokens import Principal, TokenFieldError, TokenNotFound

PREFIX = "/api/v1"
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: anything larger names nothing
Handler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]

# Domain errors and the HTTP errors they are; their own text is the message.
ERRORS: tuple[tuple[type[Exception], type[web.HTTPException]], ...] = (
    (DraftError, web.HTTPBadRequest),
    (TokenFieldError, web.HTTPBadRequest),
    (service.BroadcastNotFound, web.HTTPNotFound),
    (TokenNotFound, web.HTTPNotFound),
    (service.BroadcastStateError, web.HTTPConflict),
)
_MAPPED = tuple(error for error, _ in ERRORS)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_dumps = functools.partial(json.dumps, default=_default, ensure_ascii=False)


def reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def endpoint(role: str) -> Callable[[Handler], Callable[[web.Request], Awaitable[Any]]]:
    """The handler runs for a token of `role` or above; domain errors become 4xx JSON."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            who = await require(request, role)
            try:
                return await handler(request, who)
            except _MAPPED as error:
                http_error = next(http for kind, http in ERRORS if isinstance(error, kind))
                field = getattr(error, "field", None)  # DraftError, TokenFieldError
                extra = {"field": field} if field else {}
                message = getattr(error, "message", None) or str(error)
                raise json_error(http_error, message, **extra) from None

        return run

    return wrap


def actor(who: Principal) -> str:
    return f"token:{who.name}"


async def body(request: web.Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except (ValueError, UnicodeDecodeError) as error:
        raise json_error(web.HTTPBadRequest, f"malformed JSON: {error}", field="body") from None
    if not isinstance(payload, dict):
        raise json_error(web.HTTPBadRequest, "must be a JSON object", field="body")
    return payload


def path_id(request: web.Request) -> int:
    value = int(request.match_info["id"])  # the route accepts 1-18 ASCII digits only
    if value > MAX_ID:
        raise json_error(web.HTTPNotFound, "no such id")
    return value


def query_limit(request: web.Request, default: int, maximum: int) -> int:
    raw = request.query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise json_error(web.HTTPBadRequest, f"must be 1-{maximum}", field="limit")
    return int(raw)


def enabled_channels(request: web.Request) -> list[str]:
    return sorted(request.app[CHANNELS])


async def draft_from(request: web.Request, payload: dict[str, Any]) -> Draft:
    known = await service.known_organisations(request.app[DATABASE])
    return parse_draft(payload, datetime.now(UTC), known)


def wake_dispatcher(request: web.Request) -> None:
    dispatcher = request.app.get(DISPATCHER)
    if dispatcher is not None:  # start now rather than at its next poll
        dispatcher.wake()


# --- broadcasts ----------------------------------------------------------------------------
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


# --- administration ------------------------------------------------------------------------
@endpoint("admin")
async def audit_entries(request: web.Request, who: Principal) -> web.Response:
    limit = query_limit(request, 100, 1000)
    return reply({"entries": await audit.entries(request.app[DATABASE], limit=limit)})


@endpoint("admin")
async def list_tokens(request: web.Request, who: Principal) -> web.Response:
    return reply({"tokens": await tokens.list_tokens(request.app[DATABASE])})


@endpoint("admin")
async def create_token(request: web.Request, who: Principal) -> web.Response:
    payload = await body(request)
    issued = await tokens.issue_token(
        request.app[DATABASE], payload.get("name"), payload.get("role"), actor=actor(who)
    )
    result = issued._asdict() | {"warning": "keep this token now: it is not shown again"}
    return reply(result, status=201)


@endpoint("admin")
async def revoke_token(request: web.Request, who: Principal) -> web.Response:
    token_id = path_id(request)
    newly = await tokens.revoke_token(request.app[DATABASE], token_id, actor(who))
    return reply({"id": token_id, "revoked": True, "already_revoked": not newly})


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_post(f"{PREFIX}/broadcasts/preview", preview)
    add.add_post(f"{PREFIX}/broadcasts", create)
    add.add_get(f"{PREFIX}/broadcasts", list_broadcasts, allow_head=False)
    add.add_get(PREFIX + r"/broadcasts/{id:[0-9]{1,18}}", status, allow_head=False)
    add.add_post(PREFIX + r"/broadcasts/{id:[0-9]{1,18}}/send", send)
    add.add_post(PREFIX + r"/broadcasts/{id:[0-9]{1,18}}/cancel", cancel)
    add.add_get(f"{PREFIX}/audit", audit_entries, allow_head=False)
    add.add_get(f"{PREFIX}/tokens", list_tokens, allow_head=False)
    add.add_post(f"{PREFIX}/tokens", create_token)
    add.add_delete(PREFIX + r"/tokens/{id:[0-9]{1,18}}", revoke_token)
