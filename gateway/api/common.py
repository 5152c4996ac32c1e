"""What every resource module of the HTTP API (/api/v1) shares: the endpoint decorator (token and
role), JSON answers, and reading the body, a path id and a limit.

Domain errors are not caught here: gateway/api/errors.py turns them into 4xx JSON, once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from aiohttp import web

from bot.vocabulary.errors import FieldError, NotFound
from gateway.api.auth import require
from gateway.channels.base import enabled
from gateway.keys import CHANNELS, DISPATCHER
from storage.tokens import Principal

PREFIX = "/api/v1"
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: anything larger names nothing
ID = r"{id:[0-9]{1,18}}"  # then checked against MAX_ID by path_id
Handler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_dumps = functools.partial(json.dumps, default=_default, ensure_ascii=False)


def reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def endpoint(role: str) -> Callable[[Handler], Route]:
    """The handler runs for a token of `role` or above (else 401/403), with who holds it."""

    def wrap(handler: Handler) -> Route:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            return await handler(request, await require(request, role))

        return run

    return wrap


def actor(who: Principal) -> str:
    """As the audit log names a token's holder."""
    return f"token:{who.name}"


async def body(request: web.Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except (ValueError, UnicodeDecodeError) as error:
        raise FieldError("body", f"malformed JSON: {error}") from None
    if not isinstance(payload, dict):
        raise FieldError("body", "must be a JSON object")
    return payload


async def definition_body(request: web.Request) -> dict[str, Any]:
    """A definition's JSON object (a poll's), each key given once: json.loads would keep the
    last of two silently, and a file's author means one of them."""

    def once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in found:
                raise FieldError("body", f"{key!r} is given twice in one object")
            found[key] = value
        return found

    try:
        payload = json.loads(await request.text(), object_pairs_hook=once)
    except (ValueError, UnicodeDecodeError) as error:
        raise FieldError("body", f"malformed JSON: {error}") from None
    if not isinstance(payload, dict):
        raise FieldError("body", "must be a JSON object")
    return payload


def path_id(request: web.Request) -> int:
    value = int(request.match_info["id"])  # the route accepts 1-18 ASCII digits only
    if value > MAX_ID:
        raise NotFound("no such id", field="id")
    return value


def query_limit(request: web.Request, default: int, maximum: int) -> int:
    raw = request.query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise FieldError("limit", f"must be 1-{maximum}")
    return int(raw)


def enabled_channels(request: web.Request) -> list[str]:
    channels = request.app[CHANNELS]
    return enabled(channels)  # SMS once it has a route


def wake_dispatcher(request: web.Request) -> None:
    dispatcher = request.app.get(DISPATCHER)
    if dispatcher is not None:  # start now rather than at its next poll
        dispatcher.wake()
