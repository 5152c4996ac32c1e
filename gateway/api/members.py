"""The membership roster over the HTTP API, as CSV or XLSX, streamed (gateway/exports/roster.py).

GET /api/v1/members/export?format=csv|xlsx&region=kayes&theme=vbg&…&table=members|organisations

Viewers may export, with phone numbers and Telegram ids masked; every export is audited.
"""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import PREFIX, actor, endpoint
from gateway.exports.roster import stream_roster
from storage.tokens import Principal


@endpoint("viewer")
async def export(request: web.Request, who: Principal) -> web.StreamResponse:
    return await stream_roster(request, actor(who), who.role == "viewer", request.query)


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/members/export", export, allow_head=False)
