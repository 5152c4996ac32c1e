"""What the web application answers when a handler refuses or fails, in one middleware.

- A domain refusal (bot.vocabulary.errors) is a 4xx with a JSON body: 400 for Invalid, 404 for
  NotFound, 409 for Conflict; `{"error": …, "field": …}`, with `file` and `line` when the input
  was a file, and `errors` (every bad line) for FieldErrors. A NotFound that names no field is
  about what the route's path named (`id`, `name`, `slug`).
- An aiohttp HTTP error goes out as raised (401, 403, 413 … built with `json_error`).
- Anything else is a bug or an outage: logged, answered 500 (503 when the database is the cause,
  so providers deliver their webhooks again), never with a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.vocabulary.errors import Conflict, DomainError, FieldError, FieldErrors, NotFound

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
dumps = functools.partial(json.dumps, ensure_ascii=False)


def status_of(error: DomainError) -> int:
    """The HTTP status of a refusal (the console's pages answer with it too)."""
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 400


def headline(error: DomainError) -> str:
    """The body's `error`: what to change, preceded by where when the input was a file."""
    if isinstance(error, FieldErrors):
        return error.message if len(error.errors) > 1 else headline(error.errors[0])
    if isinstance(error, FieldError) and error.place:
        return str(error)
    return error.message


def error_body(error: DomainError, path_names: tuple[str, ...] = ()) -> dict[str, object]:
    body = error.as_json()
    body["error"] = headline(error)
    if isinstance(error, NotFound) and "field" not in body and path_names:
        body["field"] = path_names[0]
    return body


def json_error(
    error: type[web.HTTPException],
    message: str,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> web.HTTPException:
    """An aiohttp HTTP error with a JSON body, so every API answer is JSON."""
    return error(
        text=dumps({"error": message, **extra}),
        content_type="application/json",
        headers=headers,
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except DomainError as error:
        if request.writer.output_size:  # a download had begun: too late to answer, cut it
            log.warning("%s after the answer began on %s", type(error).__name__, request.path)
            _cut(request)
        body = error_body(error, tuple(request.match_info))
        return web.json_response(body, status=status_of(error), dumps=dumps)
    except Exception as error:
        log.exception("unexpected error on %s", request.path)
        _cut(request)
        if isinstance(error, SQLAlchemyError):
            return web.json_response({"error": "database unavailable"}, status=503)
        return web.json_response({"error": "internal error"}, status=500)


def _cut(request: web.Request) -> None:
    """A streamed export had begun: cut the connection so the client sees a broken download,
    rather than an error appended to the file (or a wait for the rest)."""
    if request.writer.output_size and request.transport is not None:
        request.transport.close()
