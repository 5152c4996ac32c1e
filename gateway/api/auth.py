"""Bearer tokens for the HTTP API: who is asking (401 if nobody), and may they (403 if not)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.errors import json_error
from gateway.keys import DATABASE
from storage.tokens import ROLES, Principal, authenticate

CHALLENGE = 'Bearer realm="benkadi"'


def may(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


async def require(request: web.Request, needed: str) -> Principal:
    """The token's holder, if their role reaches `needed`; else 401 or 403 is raised."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise json_error(
            web.HTTPUnauthorized,
            "an API token is required: Authorization: Bearer <token>",
            {"WWW-Authenticate": CHALLENGE},
        )
    who = await authenticate(request.app[DATABASE], token.strip())
    if who is None:
        raise json_error(
            web.HTTPUnauthorized,
            "the API token is unknown or revoked",
            {"WWW-Authenticate": CHALLENGE + ', error="invalid_token"'},
        )
    if who.role not in ROLES or not may(who.role, needed):
        raise json_error(
            web.HTTPForbidden, f"a {who.role} token may not do this; it needs {needed} or above"
        )
    return who
