"""How the console says no: a small French page, never a traceback.

- A domain refusal (bot.vocabulary.errors) escaping a page becomes that page: the status the
  API would answer (gateway.api.errors.status_of), the page's own sentence for a NotFound
  ("Ce sondage n'existe pas."), the field and its message for an Invalid.
- A form shows itself again with each bad field marked: `field_messages` gives the text for each
  field (the page's French sentence when it has one), the page puts each under its input.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

import aiohttp_jinja2
from aiohttp import web

from bot.vocabulary.errors import DomainError, FieldErrors, Invalid, NotFound
from gateway.api.errors import status_of
from gateway.console.i18n import C_

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def field_messages(
    error: Invalid, labels: Mapping[str, str] | None = None, *, named: bool = False
) -> list[tuple[str | None, str]]:
    """(field, text) for every bad field: the page's sentence for that field if `labels` has
    one, else the message, after its field name when `named` (a message shown away from its
    input must say which it is)."""
    found = error.errors if isinstance(error, FieldErrors) else (error,)
    pairs: list[tuple[str | None, str]] = []
    for each in found:
        if each.field and labels and each.field in labels:
            pairs.append((each.field, labels[each.field]))
        elif each.field and named:
            pairs.append((each.field, f"{each.field} : {each.message}"))
        else:
            pairs.append((each.field, each.message))
    return pairs


def refusal_text(
    error: DomainError, missing: str | None = None, labels: Mapping[str, str] | None = None
) -> str:
    """What the error page says about a refusal."""
    if isinstance(error, NotFound):
        return missing or C_("Ce que vous demandez n'existe pas.")
    if isinstance(error, Invalid):
        return " ".join(text for _field, text in field_messages(error, labels, named=True))
    return str(error)  # a Conflict says what state forbids it


def refusal_page(
    request: web.Request,
    error: DomainError,
    missing: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    context = {"message": refusal_text(error, missing, labels)}
    return aiohttp_jinja2.render_template("error.html", request, context, status=status_of(error))


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HTTP errors as the page (JSON ones as they are), refusals as theirs, bugs as a 500 page."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or error.content_type == "application/json":
            raise
        context = {"message": error.text or error.reason}
        return aiohttp_jinja2.render_template("error.html", request, context, status=error.status)
    except DomainError as error:  # from a page that had nothing more to say about it
        return refusal_page(request, error)
    except Exception:
        log.exception("console error on %s", request.path)
        context = {"message": C_("Erreur interne : réessayez, ou prévenez l'administrateur.")}
        return aiohttp_jinja2.render_template("error.html", request, context, status=500)
