"""The audit log over the HTTP API, for admins: GET /api/v1/audit?limit=100 (newest first)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import PREFIX, endpoint, query_limit, reply
from gateway.keys import DATABASE
from storage import audit
from storage.tokens import Principal


@endpoint("admin")
async def entries(request: web.Request, who: Principal) -> web.Response:
    limit = query_limit(request, 100, 1000)
    return reply({"entries": await audit.entries(request.app[DATABASE], limit=limit)})


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/audit", entries, allow_head=False)
