"""Organisations: each with its kind and its number of members (as `benkadi organisations list`)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from bot.vocabulary.reference import ORGANISATION_KINDS
from gateway.console.auth import page
from gateway.console.i18n import C_
from gateway.console.keys import Who
from gateway.keys import DATABASE
from storage import organisation_list

NAV = (C_("Organisations"), "/organisations", "viewer")
KIND_LABELS = dict(ORGANISATION_KINDS)


@page("viewer")
async def list_organisations(request: web.Request, who: Who) -> web.StreamResponse:
    async with request.config_dict[DATABASE].sessions() as session:
        connection = await session.connection()
        rows = await organisation_list.with_member_counts(connection)
    rows.sort(key=lambda row: (-row["members"], row["name"]))  # the largest first
    context = {"rows": rows, "kinds": KIND_LABELS}
    return aiohttp_jinja2.render_template("organisations.html", request, context)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/organisations", list_organisations, name="organisations")
