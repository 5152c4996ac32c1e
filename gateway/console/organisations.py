"""Organisations: each with its kind and its number of members (one GROUP BY)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import and_, func, select

from bot.vocabulary.reference import ORGANISATION_KINDS
from gateway.console.auth import page
from gateway.console.i18n import C_
from gateway.console.keys import Who
from gateway.keys import DATABASE
from storage.models import Member, Organisation

NAV = (C_("Organisations"), "/organisations", "viewer")
members, organisations = Member.__table__, Organisation.__table__
KIND_LABELS = dict(ORGANISATION_KINDS)


@page("viewer")
async def list_organisations(request: web.Request, who: Who) -> web.StreamResponse:
    count = func.count(members.c.id)
    query = (
        select(
            organisations.c.id,
            organisations.c.name,
            organisations.c.kind,
            organisations.c.listed,
            count.label("members"),
        )
        .select_from(
            organisations.outerjoin(
                members,
                and_(
                    members.c.organisation_id == organisations.c.id, members.c.erased_at.is_(None)
                ),
            )
        )
        .group_by(organisations.c.id)
        .order_by(count.desc(), organisations.c.name)
    )
    async with request.config_dict[DATABASE].sessions() as session:
        rows = (await session.execute(query)).all()
    context = {"rows": rows, "kinds": KIND_LABELS}
    return aiohttp_jinja2.render_template("organisations.html", request, context)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/organisations", list_organisations, name="organisations")
