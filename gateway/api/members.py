"""The membership roster over the HTTP API, as CSV or XLSX, streamed (gateway/exports/roster.py).

GET /api/v1/members/export?format=csv|xlsx&region=kayes&theme=vbg&…&table=members|organisations
POST /api/v1/members/import?dry_run=1&filename=annuaire.xlsx   the directory file as the body
    (XLSX or CSV, any content type), secretariat: the plan (created, merged, refused, every
    problem with its line and field); without dry_run, written in one transaction, audited,
    the invitations queued. A file that cannot be read at all is a 400 naming why.

Viewers may export, with phone numbers and Telegram ids masked; every export is audited.
"""

from __future__ import annotations

from aiohttp import web

from bot.directory import run_import
from gateway.api.common import PREFIX, actor, endpoint, reply
from gateway.api.errors import json_error
from gateway.exports.roster import stream_roster
from gateway.keys import DATABASE, ERASURE_KEY, SETTINGS
from gateway.sending.routes import sms_route_exists
from gateway.slow_clients import streams_body
from storage.tokens import Principal
from storage.types import utcnow

MAX_DIRECTORY = 32 * 1024 * 1024  # 50,000 people are about 4 MB of XLSX, 8 MB of CSV


@endpoint("viewer")
async def export(request: web.Request, who: Principal) -> web.StreamResponse:
    return await stream_roster(request, actor(who), who.role == "viewer", request.query)


@streams_body  # a directory file up to MAX_DIRECTORY, above the app's client_max_size
@endpoint("secretariat")
async def import_directory(request: web.Request, who: Principal) -> web.Response:
    raw = await request.content.read(MAX_DIRECTORY + 1)
    if len(raw) > MAX_DIRECTORY:
        raise json_error(web.HTTPRequestEntityTooLarge, "file too large", field="body")
    filename = request.query.get("filename") or "body"
    summary = await run_import(
        request.app[DATABASE],
        raw,
        filename,
        actor(who),
        dry_run=request.query.get("dry_run") in ("1", "true", "yes"),
        now=utcnow(),
        holder=request.app[SETTINGS].data_holder,
        erasure_key=request.app[ERASURE_KEY],
        sms_route=await sms_route_exists(request.app[DATABASE], request.app[SETTINGS]),
    )
    return reply(summary)


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/members/export", export, allow_head=False)
    app.router.add_post(f"{PREFIX}/members/import", import_directory)
