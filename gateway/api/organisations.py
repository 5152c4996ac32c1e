"""The coordination's list of organisations over the HTTP API.

GET  /api/v1/organisations        every organisation, listed first, with its member count
POST /api/v1/organisations        {"organisations": [{"name": …, "kind": …}], "unlist_others": false}
                                  or a CSV body (Content-Type text/csv: `nom,type`), secretariat
"""

from __future__ import annotations

from aiohttp import web

from gateway.api import common as api
from gateway.api.auth import json_error
from gateway.keys import DATABASE
from storage import audit, organisation_list
from storage.organisation_list import Entry, OrganisationFileError
from storage.tokens import Principal

MAX_BODY = 2 * 1024 * 1024  # a list of a few thousand organisations is far below this


@api.endpoint("viewer")
async def list_organisations(request: web.Request, who: Principal) -> web.Response:
    async with request.app[DATABASE].transaction() as connection:
        rows = await organisation_list.with_member_counts(connection)
    return api.reply({"organisations": rows})


@api.endpoint("secretariat")
async def list_more(request: web.Request, who: Principal) -> web.Response:
    entries, unlist = await _entries(request)
    async with request.app[DATABASE].transaction() as connection:
        listed = await organisation_list.list_entries(connection, entries)
        unlisted = await organisation_list.unlist_others(connection, entries) if unlist else 0
        await audit.record(
            connection,
            api.actor(who),
            "organisations.list",
            None,
            {"listed": listed, "unlisted": unlisted},
        )
    return api.reply({"listed": listed, "unlisted": unlisted})


async def _entries(request: web.Request) -> tuple[list[Entry], bool]:
    try:
        if request.content_type == "text/csv":
            raw = await request.content.read(MAX_BODY + 1)
            if len(raw) > MAX_BODY:
                raise json_error(web.HTTPRequestEntityTooLarge, "file too large", field="body")
            text = raw.decode("utf-8")
            return organisation_list.parse_csv(text, "body"), request.query.get("unlist") == "1"
        payload = await api.body(request)
        items = payload.get("organisations")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise json_error(web.HTTPBadRequest, "must be a list of objects", field="organisations")
        entries = [
            organisation_list.parse_entry(
                str(item.get("name") or ""), item.get("kind"), f"organisations[{index}]"
            )
            for index, item in enumerate(items)
        ]
        return entries, payload.get("unlist_others") is True
    except UnicodeDecodeError:
        raise json_error(web.HTTPBadRequest, "not UTF-8", field="body") from None
    except OrganisationFileError as error:
        raise json_error(
            web.HTTPBadRequest, f"{error.where}: {error.message}", field=error.field
        ) from None


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{api.PREFIX}/organisations", list_organisations)
    app.router.add_post(f"{api.PREFIX}/organisations", list_more)
