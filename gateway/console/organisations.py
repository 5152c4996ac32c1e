"""Organisations: each with its kind and its number of members (as `benkadi organisations list`);
one organisation's record (contacts, roles, focal point), edited by the secretariat; merging
the duplicates typed-in names make."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from bot.vocabulary.reference import ORGANISATION_KINDS, REGION_LABELS, THEME_LABELS
from gateway.console.auth import page
from gateway.console.i18n import C_
from gateway.console.keys import PREFIX, Who
from gateway.keys import DATABASE
from storage import audit, organisation_list, organisation_records

NAV = (C_("Organisations"), "/organisations", "viewer")
KIND_LABELS = dict(ORGANISATION_KINDS)


@page("viewer")
async def list_organisations(request: web.Request, who: Who) -> web.StreamResponse:
    async with request.config_dict[DATABASE].sessions() as session:
        connection = await session.connection()
        rows = await organisation_list.with_member_counts(connection)
        duplicates = await organisation_records.likely_duplicates(connection)
    rows.sort(key=lambda row: (-row["members"], row["name"]))  # the largest first
    context = {"rows": rows, "kinds": KIND_LABELS, "duplicates": duplicates}
    return aiohttp_jinja2.render_template("organisations.html", request, context)


MISSING = C_("Cette organisation n'existe pas.")


@page("viewer", missing=MISSING)
async def show_organisation(request: web.Request, who: Who) -> web.StreamResponse:
    async with request.config_dict[DATABASE].transaction() as connection:
        found = await organisation_records.record(connection, int(request.match_info["id"]))
    context = {
        "o": found,
        "kinds": KIND_LABELS,
        "regions": REGION_LABELS,
        "themes": THEME_LABELS,
    }
    return aiohttp_jinja2.render_template("organisation.html", request, context)


@page("secretariat", missing=MISSING)
async def change_organisation(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    focal = str(form.get("focal_member_id", ""))
    changes = {
        "kind": str(form.get("kind", "")) or None,
        "region": str(form.get("region", "")) or None,
        "cercle": str(form.get("cercle", "")),
        "themes": [str(theme) for theme in form.getall("themes", [])],
        "active": form.get("active") == "on",
        "focal_member_id": int(focal) if focal.isdigit() else None,
    }
    organisation_id = int(request.match_info["id"])
    async with request.config_dict[DATABASE].transaction() as connection:
        await organisation_records.change(connection, organisation_id, changes)
        await audit.record(
            connection, who.actor, "organisations.change", str(organisation_id), changes
        )
    raise web.HTTPSeeOther(f"{PREFIX}/organisations/{organisation_id}")


@page("secretariat", missing=MISSING)
async def merge_organisations(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    keep, duplicate = str(form.get("keep", "")), str(form.get("duplicate", ""))
    async with request.config_dict[DATABASE].transaction() as connection:
        done = await organisation_records.merge(connection, keep, [duplicate])
        await audit.record(connection, who.actor, "organisations.merge", done["kept"], done)
        kept = await organisation_records.find(connection, keep)
    raise web.HTTPSeeOther(f"{PREFIX}/organisations/{kept.id}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/organisations", list_organisations, name="organisations")
    app.router.add_post("/organisations/merge", merge_organisations)
    app.router.add_get(r"/organisations/{id:[0-9]{1,9}}", show_organisation)
    app.router.add_post(r"/organisations/{id:[0-9]{1,9}}", change_organisation)
