"""For administrators: the Android phones that send and receive SMS from Malian SIMs — each one's
state, SIMs and today's counts — registered and removed here as with `benkadi gateways`. Their
password and signing key are taken, never shown back."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from bot.vocabulary.errors import Invalid
from gateway.channels.android import WEBHOOK_PATH
from gateway.console.auth import page
from gateway.console.errors import field_messages
from gateway.console.i18n import C_
from gateway.console.keys import PREFIX, Who
from gateway.keys import CHANNELS, DATABASE, SETTINGS
from gateway.sending.routes import reload_routes
from storage import gateways as store

NAV = (C_("Téléphones SMS"), "/gateways", "admin")
FIELDS = ("name", "url", "login", "hours", "sims")


async def _page(request: web.Request, *, status: int = 200, **extra) -> web.StreamResponse:
    context = {
        "gateways": await store.status(request.config_dict[DATABASE]),
        "webhook": request.config_dict[SETTINGS].public_url + WEBHOOK_PATH.format(gateway="NOM"),
        "errors": {},
        "values": {"login": "sms"},
        **extra,
    }
    return aiohttp_jinja2.render_template("gateways.html", request, context, status=status)


@page("admin")
async def gateways_page(request: web.Request, who: Who) -> web.StreamResponse:
    return await _page(request)


@page("admin")
async def add_gateway(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    values = {key: str(form.get(key, "")).strip() for key in FIELDS}
    try:
        specs = [store.parse_sim(line) for line in values["sims"].splitlines() if line.strip()]
        await store.add_gateway(
            request.config_dict[DATABASE],
            name=values["name"],
            base_url=values["url"],
            login=values["login"] or None,  # empty: a cloud token (bearer)
            password=str(form.get("password", "")),
            signing_key=str(form.get("signing_key", "")),
            sims_=specs,
            working_hours=values["hours"] or None,
            actor=who.actor,
        )
    except Invalid as error:  # the form again, each bad field marked
        errors = {
            ("sims" if field == "sim" else field or "form"): text
            for field, text in field_messages(error)
        }
        return await _page(request, status=400, errors=errors, values=values)
    await reload_routes(request.config_dict[CHANNELS])  # used from now on, no restart
    raise web.HTTPFound(f"{PREFIX}/gateways")


@page("admin", missing=C_("Ce téléphone n'existe pas."))
async def remove_gateway(request: web.Request, who: Who) -> web.StreamResponse:
    await store.remove_gateway(request.config_dict[DATABASE], request.match_info["name"], who.actor)
    await reload_routes(request.config_dict[CHANNELS])
    raise web.HTTPFound(f"{PREFIX}/gateways")


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/gateways", gateways_page, name="gateways")
    add.add_post("/gateways", add_gateway)
    add.add_post(r"/gateways/{name:[a-z0-9-]{1,32}}/remove", remove_gateway)
