"""Slow clients: a connection may not hold a slot for ever by sending slowly.

- Headers: aiohttp arms its keep-alive timer when a connection opens and closes a connection
  still waiting for a whole request when it fires; `keepalive_timeout=header_timeout` makes that
  the time a client has for its request line and headers (and the idle time allowed between
  two requests on one connection). A client that never finishes them is cut.
- Bodies: aiohttp has no read timeout once the headers are in, so `read_body_in_time` reads
  the body of every request that has one within body_timeout, before any handler (which then
  gets it from the request's cache): too slow is 408 and the connection is closed. A route
  that reads its body as a stream (larger than client_max_size, behind a token, so checked
  before reading) is marked with `@streams_body` and left to its handler, and so is a
  multipart form to the console (its session is checked before the body is read).

A reverse proxy in front (docs/deploy/Caddyfile, README "Exposing Benkadi") adds HTTPS and its
own limits; these hold without one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from gateway.keys import SETTINGS

log = logging.getLogger(__name__)
BODIED = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STREAMED: set[object] = set()
H = TypeVar("H")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def streams_body(handler: H) -> H:
    """This route's handler reads its body itself, as a stream (after authenticating)."""
    _STREAMED.add(handler)
    return handler


@web.middleware
async def read_body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in BODIED and request.can_read_body and not _streamed(request):
        try:
            async with asyncio.timeout(request.app[SETTINGS].body_timeout):
                await request.read()  # kept by the request: handlers read it again for free
        except TimeoutError:
            log.warning("a request body on %s came too slowly: cut", request.path)
            response = web.Response(status=408, text="request body too slow")
            response.force_close()
            # Answered and closed now: aiohttp would otherwise linger, reading the rest of
            # the body (lingering_time) with the slot still held.
            await response.prepare(request)
            await response.write_eof()
            if request.transport is not None:
                request.transport.close()
            return response
    return await handler(request)


def _streamed(request: web.Request) -> bool:
    """Left to the handler: a route marked so, or a multipart form to the console (a sub-app,
    whose session check answers before the body is read; read here, it could not be parsed)."""
    if request.match_info.handler in _STREAMED:
        return True
    return request.content_type == "multipart/form-data" and len(request.match_info.apps) > 1


def runner(app: web.Application, **kwargs: Any) -> web.AppRunner:
    """The application's runner, with the time a client has for its headers."""
    settings = app[SETTINGS]
    return web.AppRunner(app, keepalive_timeout=settings.header_timeout, **kwargs)
