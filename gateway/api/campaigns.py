"""Campaign calendars over the HTTP API: viewers read, the secretariat enables and disables.

GET  /api/v1/campaigns?year=2026            every campaign, its dates, the broken files
GET  /api/v1/campaigns/{name}?year=2026     every message: day, audience, SMS per language
POST /api/v1/campaigns/{name}/enable        {"year": 2026}   (disable likewise)
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiohttp import web

from bot.vocabulary.errors import FieldError
from broadcasts.campaigns import approval
from broadcasts.campaigns import service as campaign_service
from broadcasts.campaigns.service import Calendar
from gateway.api.common import PREFIX, actor, body, enabled_channels, endpoint, reply
from gateway.keys import DATABASE, SETTINGS
from storage.tokens import Principal

NAME = r"{name:[a-z0-9][a-z0-9-]{0,59}}"


async def calendar_of(request: web.Request) -> Calendar:
    source = campaign_service.source_for(request.app[SETTINGS].campaigns_directory)
    return await asyncio.to_thread(source.load)  # files read and parsed off the event loop


def query_year(request: web.Request, now: datetime) -> int:
    raw = request.query.get("year")
    return campaign_service.local_year(now) if raw is None else campaign_service.check_year(raw)


@endpoint("viewer")
async def list_campaigns(request: web.Request, who: Principal) -> web.Response:
    now = datetime.now(UTC)
    return reply(
        await campaign_service.list_campaigns(
            request.app[DATABASE], await calendar_of(request), now, query_year(request, now)
        )
    )


@endpoint("viewer")
async def show(request: web.Request, who: Principal) -> web.Response:
    now = datetime.now(UTC)
    return reply(
        await campaign_service.show(
            request.app[DATABASE],
            await calendar_of(request),
            request.match_info["name"],
            query_year(request, now),
            enabled_channels=enabled_channels(request),
            quiet_hours=request.app[SETTINGS].quiet_hours,
            now=now,
        )
    )


async def _switch(request: web.Request, who: Principal, enabled: bool) -> web.Response:
    payload = await body(request)
    if "year" not in payload:
        raise FieldError("year", 'is required: {"year": 2026}')
    result = await campaign_service.set_enabled(
        request.app[DATABASE],
        await calendar_of(request),
        request.match_info["name"],
        payload["year"],
        enabled,
        actor(who),
    )
    return reply(result)


@endpoint("secretariat")
async def enable(request: web.Request, who: Principal) -> web.Response:
    return await _switch(request, who, True)


@endpoint("secretariat")
async def disable(request: web.Request, who: Principal) -> web.Response:
    return await _switch(request, who, False)


@endpoint("secretariat")
async def approve(request: web.Request, who: Principal) -> web.Response:
    """The year's texts approved: its messages may go out (when the year is enabled)."""
    payload = await body(request)
    if "year" not in payload:
        raise FieldError("year", 'is required: {"year": 2026}')
    return reply(
        await approval.approve(
            request.app[DATABASE],
            await calendar_of(request),
            request.match_info["name"],
            payload["year"],
            actor(who),
            datetime.now(UTC),
        )
    )


@endpoint("secretariat")
async def edit_texts(request: web.Request, who: Principal) -> web.Response:
    """{"year", "message", "texts": {"fr": …}}: the message's texts for that year."""
    payload = await body(request)
    for field in ("year", "message", "texts"):
        if field not in payload:
            raise FieldError(field, "is required")
    return reply(
        await approval.edit_texts(
            request.app[DATABASE],
            await calendar_of(request),
            request.match_info["name"],
            payload["message"],
            payload["year"],
            payload["texts"],
            actor(who),
            datetime.now(UTC),
        )
    )


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_post(f"{PREFIX}/campaigns/{NAME}/approve", approve)
    add.add_put(f"{PREFIX}/campaigns/{NAME}/texts", edit_texts)
    add.add_get(f"{PREFIX}/campaigns", list_campaigns, allow_head=False)
    add.add_get(f"{PREFIX}/campaigns/{NAME}", show, allow_head=False)
    add.add_post(f"{PREFIX}/campaigns/{NAME}/enable", enable)
    add.add_post(f"{PREFIX}/campaigns/{NAME}/disable", disable)
