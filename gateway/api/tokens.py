"""API tokens over the HTTP API, for admins: issued once (shown once), listed, revoked.

GET    /api/v1/tokens          every token, never its secret
POST   /api/v1/tokens          {"name": …, "role": viewer|secretariat|admin}
DELETE /api/v1/tokens/{id}
"""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import ID, PREFIX, actor, body, endpoint, path_id, reply
from gateway.keys import DATABASE
from storage import tokens
from storage.tokens import Principal


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
    add.add_get(f"{PREFIX}/tokens", list_tokens, allow_head=False)
    add.add_post(f"{PREFIX}/tokens", create_token)
    add.add_delete(f"{PREFIX}/tokens/{ID}", revoke_token)
