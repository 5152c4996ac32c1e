"""The coordination's list of organisations over the HTTP API.

GET  /api/v1/organisations        every organisation, listed first, with its member count
POST /api/v1/organisations        {"organisations": [{"name": …, "kind": …}], "unlist_others": false}
                                  or a CSV body (Content-Type text/csv: `nom,type`), secretariat
Every bad entry or line is named at once (400, `errors`); nothing is listed then.
GET   /api/v1/organisations/{id}  its record with contact people, roles, focal point
PATCH /api/v1/organisations/{id}  {"kind", "region", "cercle", "themes", "active", "listed",
                                  "focal_member_id"}, secretariat
POST  /api/v1/organisations/merge {"keep": "AFEM", "duplicates": ["A.F.E.M."]}, secretariat
"""

from __future__ import annotations

from aiohttp import web

from bot.vocabulary.errors import FieldError, FieldErrors
from gateway.api.common import ID, PREFIX, actor, body, endpoint, path_id, reply
from gateway.api.errors import json_error
from gateway.keys import DATABASE
from gateway.slow_clients import streams_body
from storage import audit, organisation_list, organisation_records
from storage.organisation_list import Entry
from storage.tokens import Principal

MAX_BODY = 2 * 1024 * 1024  # a list of a few thousand organisations is far below this


@endpoint("viewer")
async def list_organisations(request: web.Request, who: Principal) -> web.Response:
    async with request.app[DATABASE].transaction() as connection:
        rows = await organisation_list.with_member_counts(connection)
    return reply({"organisations": rows})


@streams_body  # a CSV up to MAX_BODY, above the app's client_max_size
@endpoint("secretariat")
async def list_more(request: web.Request, who: Principal) -> web.Response:
    if request.content_type == "text/csv":
        entries, unlist = await _csv_entries(request), request.query.get("unlist") == "1"
    else:
        payload = await body(request)
        entries, unlist = _json_entries(payload), payload.get("unlist_others") is True
    async with request.app[DATABASE].transaction() as connection:
        listed = await organisation_list.list_entries(connection, entries)
        unlisted = await organisation_list.unlist_others(connection, entries) if unlist else 0
        await audit.record(
            connection,
            actor(who),
            "organisations.list",
            None,
            {"listed": listed, "unlisted": unlisted},
        )
    return reply({"listed": listed, "unlisted": unlisted})


async def _csv_entries(request: web.Request) -> list[Entry]:
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise json_error(web.HTTPRequestEntityTooLarge, "file too large", field="body")
    text, _encoding = organisation_list.decode_csv(raw, "body")  # UTF-8, or Excel's cp1252
    return organisation_list.parse_csv(text, "body")


def _json_entries(payload: dict[str, object]) -> list[Entry]:
    items = payload.get("organisations")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise FieldError("organisations", "must be a list of objects")
    entries, wrong = [], []
    for index, item in enumerate(items):
        try:
            entry = organisation_list.parse_entry(
                str(item.get("name") or ""),
                item.get("kind"),
                f"organisations[{index}]",
                fields=("name", "kind"),  # the JSON's keys, not the CSV file's columns
            )
        except FieldError as error:
            wrong.append(error)
        else:
            entries.append(entry)
    if wrong:
        raise FieldErrors(wrong)
    return entries


@endpoint("viewer")
async def get_record(request: web.Request, who: Principal) -> web.Response:
    async with request.app[DATABASE].transaction() as connection:
        return reply(await organisation_records.record(connection, path_id(request)))


@endpoint("secretariat")
async def change_record(request: web.Request, who: Principal) -> web.Response:
    changes = await body(request)
    async with request.app[DATABASE].transaction() as connection:
        organisation_id = await organisation_records.change(connection, path_id(request), changes)
        await audit.record(
            connection, actor(who), "organisations.change", str(organisation_id), changes
        )
        return reply(await organisation_records.record(connection, organisation_id))


@endpoint("secretariat")
async def merge(request: web.Request, who: Principal) -> web.Response:
    payload = await body(request)
    keep, duplicates = payload.get("keep"), payload.get("duplicates")
    if not isinstance(keep, str | int) or isinstance(keep, bool):
        raise FieldError("keep", "must be the name or id of the organisation kept")
    if not isinstance(duplicates, list) or not duplicates:
        raise FieldError("duplicates", "must be a list of names or ids")
    async with request.app[DATABASE].transaction() as connection:
        done = await organisation_records.merge(connection, keep, duplicates)
        await audit.record(connection, actor(who), "organisations.merge", done["kept"], done)
    return reply(done)


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{PREFIX}/organisations/merge", merge)
    app.router.add_get(f"{PREFIX}/organisations/{ID}", get_record)
    app.router.add_patch(f"{PREFIX}/organisations/{ID}", change_record)
    app.router.add_get(f"{PREFIX}/organisations", list_organisations)
    app.router.add_post(f"{PREFIX}/organisations", list_more)
