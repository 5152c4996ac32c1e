"""For administrators: the audit log, console accounts and API tokens."""

from __future__ import annotations

from datetime import timedelta

import aiohttp_jinja2
from aiohttp import web

from bot.vocabulary.errors import Invalid
from gateway.console.auth import page
from gateway.console.errors import field_messages
from gateway.console.i18n import C_
from gateway.console.keys import PREFIX, Who
from gateway.keys import DATABASE
from storage import accounts, audit, rate_counts, tokens
from storage.types import utcnow

NAVS = [(C_("Journal d'audit"), "/audit", "admin"), (C_("Administration"), "/admin", "admin")]


# What was refused to unauthenticated input (bot/sms_limits.py), counted per reason.
REFUSAL_LABELS = {
    "link.country": C_("code LIER vers un pays non configuré"),
    "link.taken": C_("code LIER vers le numéro d'un autre membre"),
    "link.user": C_("codes LIER : limite par utilisateur Telegram atteinte"),
    "link.number": C_("codes LIER : limite par numéro atteinte"),
    "link.overall": C_("codes LIER : limite horaire générale atteinte"),
    "reply.sender": C_("réponses SMS : limite par expéditeur atteinte"),
}


@page("admin")
async def audit_log(request: web.Request, who: Who) -> web.StreamResponse:
    database = request.config_dict[DATABASE]
    context = {
        "entries": await audit.entries(database, limit=200),
        "refusals": await rate_counts.refusals(database, utcnow() - timedelta(hours=24)),
        "refusal_labels": REFUSAL_LABELS,
    }
    return aiohttp_jinja2.render_template("audit.html", request, context)


async def _admin_page(request: web.Request, *, status: int = 200, **extra) -> web.StreamResponse:
    database = request.config_dict[DATABASE]
    context = {
        "accounts": await accounts.list_accounts(database),
        "tokens": await tokens.list_tokens(database),
        "roles": tokens.ROLES,
        "token_roles": tokens.TOKEN_ROLES,
        "errors": {},
        "values": {},
        "issued": None,
        **extra,
    }
    return aiohttp_jinja2.render_template("admin.html", request, context, status=status)


@page("admin")
async def admin_page(request: web.Request, who: Who) -> web.StreamResponse:
    return await _admin_page(request)


@page("admin")
async def add_account(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    values = {key: str(form.get(key, "")) for key in ("username", "name", "role", "languages")}
    missing = {
        key: C_("Ce champ est obligatoire.")
        for key in ("username", "name", "role", "password")
        if not str(form.get(key, "")).strip()
    }
    if missing:
        return await _admin_page(request, status=400, errors=missing, values=values)
    try:
        await accounts.create_account(
            request.config_dict[DATABASE],
            values["username"],
            values["name"],
            values["role"],
            str(form["password"]),
            who.actor,
            languages=values["languages"].replace(" ", ",").split(","),
        )
    except Invalid as error:  # the form again, each bad field marked
        errors = {field or "accounts": text for field, text in field_messages(error)}
        return await _admin_page(request, status=400, errors=errors, values=values)
    raise web.HTTPFound(f"{PREFIX}/admin")


@page("admin")
async def switch_account(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    username, disabled = str(form.get("username", "")), form.get("disable") == "1"
    if who.kind == "account" and username == who.name and disabled:
        return await _admin_page(
            request,
            status=400,
            errors={"accounts": C_("Vous ne pouvez pas désactiver votre propre compte.")},
        )
    try:
        await accounts.set_disabled(request.config_dict[DATABASE], username, disabled, who.actor)
    except Invalid as error:
        texts = [text for _field, text in field_messages(error)]
        return await _admin_page(request, status=400, errors={"accounts": " ".join(texts)})
    raise web.HTTPFound(f"{PREFIX}/admin")


@page("admin")
async def add_token(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    try:
        issued = await tokens.issue_token(
            request.config_dict[DATABASE],
            str(form.get("token_name", "")),
            str(form.get("token_role", "")),
            actor=who.actor,
        )
    except Invalid as error:
        errors = {f"token_{field}": text for field, text in field_messages(error)}
        return await _admin_page(request, status=400, errors=errors)
    return await _admin_page(request, issued=issued)  # shown once, never again


@page("admin", missing=C_("Ce jeton n'existe pas."))
async def revoke_token(request: web.Request, who: Who) -> web.StreamResponse:
    token_id = int(request.match_info["id"])
    await tokens.revoke_token(request.config_dict[DATABASE], token_id, who.actor)
    raise web.HTTPFound(f"{PREFIX}/admin")


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/audit", audit_log, name="audit")
    add.add_get("/admin", admin_page, name="admin")
    add.add_post("/admin/accounts", add_account)
    add.add_post("/admin/accounts/switch", switch_account)
    add.add_post("/admin/tokens", add_token)
    add.add_post(r"/admin/tokens/{id:[0-9]{1,9}}/revoke", revoke_token)
