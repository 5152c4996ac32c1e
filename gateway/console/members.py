"""Members: search and filter, open one (channels, history), export the roster.

Viewers see phone numbers and Telegram ids masked, here and in their exports, and may not search
by number (that would tell them whose number it is).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import exists, func, or_, select

from bot.directory import run_import
from bot.vocabulary.reference import LANGUAGE_LABELS, REGION_LABELS, THEME_LABELS
from gateway.api.auth import may
from gateway.api.members import MAX_DIRECTORY
from gateway.console.auth import page
from gateway.console.i18n import C_
from gateway.console.keys import Who
from gateway.exports import access
from gateway.exports.roster import stream_roster
from gateway.keys import DATABASE, ERASURE_KEY, SETTINGS
from gateway.sending.routes import sms_route_exists
from storage import access_export
from storage.models import Address, InboundMessage, Member, Organisation, OutboxMessage
from storage.outbox.rows import edit_of
from storage.roster import mask_address
from storage.types import utcnow

NAV = (C_("Membres"), "/members", "viewer")
PER_PAGE = 50
HISTORY = 40
# The directory upload: a file as big as the API takes (50,000 people are a few MB), with the
# form's few fields; every other console form keeps the app's client_max_size (1 MB).
DIRECTORY_FORM = MAX_DIRECTORY + 64 * 1024
members, addresses, organisations = Member.__table__, Address.__table__, Organisation.__table__
inbound, outbox = InboundMessage.__table__, OutboxMessage.__table__


def shown_address(who: Who, channel: str, address: str) -> str:
    return address if may(who.role, "secretariat") else mask_address(channel, address)


def _filters(request: web.Request, who: Who) -> tuple[list[Any], dict[str, str]]:
    query = request.query
    chosen = {key: query.get(key, "").strip() for key in ("q", "region", "language", "channel")}
    conditions: list[Any] = [members.c.erased_at.is_(None)]
    text = chosen["q"][:100]
    if text:
        digits = re.sub(r"\D", "", text)
        matches = [func.lower(members.c.name).contains(text.lower(), autoescape=True)]
        if len(digits) >= 4 and may(who.role, "secretariat"):
            matches.append(
                exists(
                    select(1).where(
                        addresses.c.member_id == members.c.id,
                        addresses.c.address.contains(digits, autoescape=True),
                    )
                )
            )
        conditions.append(or_(*matches))
    if chosen["region"] in REGION_LABELS:
        conditions.append(members.c.region == chosen["region"])
    if chosen["language"] in LANGUAGE_LABELS:
        conditions.append(members.c.language == chosen["language"])
    if chosen["channel"] in ("sms", "whatsapp", "telegram"):
        conditions.append(
            exists(
                select(1).where(
                    addresses.c.member_id == members.c.id,
                    addresses.c.channel == chosen["channel"],
                )
            )
        )
    return conditions, chosen


@page("viewer")
async def list_members(request: web.Request, who: Who) -> web.StreamResponse:
    database = request.config_dict[DATABASE]
    conditions, chosen = _filters(request, who)
    number = request.query.get("page", "1")
    current = int(number) if number.isdigit() and 0 < int(number) < 100_000 else 1
    query = (
        select(
            members.c.id,
            members.c.name,
            members.c.region,
            members.c.language,
            members.c.registered_at,
            organisations.c.name.label("organisation"),
        )
        .select_from(
            members.outerjoin(organisations, organisations.c.id == members.c.organisation_id)
        )
        .where(*conditions)
        .order_by(members.c.id.desc())
        .limit(PER_PAGE + 1)
        .offset((current - 1) * PER_PAGE)
    )
    async with database.sessions() as session:
        rows = (await session.execute(query)).all()
        total = await session.scalar(select(func.count()).select_from(members).where(*conditions))
    export_filters = {key: chosen[key] for key in ("region", "language", "channel") if chosen[key]}
    context = {
        "rows": rows[:PER_PAGE],
        "more": len(rows) > PER_PAGE,
        "page": current,
        "total": total,
        "chosen": chosen,
        "regions": REGION_LABELS,
        "languages": LANGUAGE_LABELS,
        "export_query": urlencode(export_filters),
        "request_query": lambda n: urlencode({**{k: v for k, v in chosen.items() if v}, "page": n}),
    }
    return aiohttp_jinja2.render_template("members.html", request, context)


@page("viewer")
async def show_member(request: web.Request, who: Who) -> web.StreamResponse:
    member_id = int(request.match_info["id"])
    database = request.config_dict[DATABASE]
    async with database.sessions() as session:
        member = (
            await session.execute(
                select(members, organisations.c.name.label("organisation"))
                .select_from(
                    members.outerjoin(
                        organisations, organisations.c.id == members.c.organisation_id
                    )
                )
                .where(members.c.id == member_id)
            )
        ).one_or_none()
        if member is None:
            raise web.HTTPNotFound(text=C_("Ce membre n'existe pas."))
        found = (
            await session.execute(
                select(addresses).where(addresses.c.member_id == member_id).order_by(addresses.c.id)
            )
        ).all()
        address_ids = [address.id for address in found]
        received = (
            await session.execute(
                select(inbound.c.received_at.label("at"), inbound.c.channel, inbound.c.body)
                .where(inbound.c.address_id.in_(address_ids))
                .order_by(inbound.c.id.desc())
                .limit(HISTORY + 1)
            )
        ).all()
        sent = (
            await session.execute(
                select(
                    outbox.c.created_at.label("at"),
                    outbox.c.channel,
                    outbox.c.body,
                    outbox.c.status,
                    outbox.c.broadcast_id,
                    outbox.c.error_code,
                    outbox.c.choices,
                )
                # By address too: the replies of a registration went out before there was a
                # member to name in the row.
                .where(or_(outbox.c.member_id == member_id, outbox.c.address_id.in_(address_ids)))
                .order_by(outbox.c.id.desc())
                .limit(HISTORY + 1)
            )
        ).all()
    replies = []
    for row in sent:
        item = row._asdict()
        if edit_of(item.pop("choices"))[0] is None:  # new buttons on a message: not a message
            replies.append({"direction": "out", **item})
    everything = sorted(
        [{"direction": "in", **row._asdict()} for row in received] + replies,
        key=lambda item: item["at"],
        reverse=True,
    )
    history, cut = everything[:HISTORY], len(everything) > HISTORY
    if not may(who.role, "secretariat"):
        # What a member typed, and the replies to it, can hold numbers (LIER), link codes and
        # their own words about violence: a viewer sees only the coordination's broadcasts.
        for item in history:
            if not item.get("broadcast_id"):
                item["body"], item["hidden"] = None, True
    channels = [
        {
            "channel": address.channel,
            "address": shown_address(who, address.channel, address.address),
            "opted_out_at": address.opted_out_at,
            "blocked_at": address.blocked_at,
            "invalid_at": address.invalid_at,
        }
        for address in found
    ]
    context = {
        "member": member,
        "region": REGION_LABELS.get(member.region, member.region),
        "language": LANGUAGE_LABELS.get(member.language, member.language),
        "themes": [THEME_LABELS.get(theme, theme) for theme in member.themes or []],
        "channels": channels,
        "history": history,
        "history_cut": cut,
        "history_max": HISTORY,
    }
    return aiohttp_jinja2.render_template("member.html", request, context)


@page("viewer")
async def export(request: web.Request, who: Who) -> web.StreamResponse:
    """The roster as the API gives it; a viewer's numbers masked; in the audit log."""
    masked = not may(who.role, "secretariat")
    return await stream_roster(request, who.actor, masked, request.query)


@page("secretariat")
async def import_form(request: web.Request, who: Who) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("members_import.html", request, {"summary": None})


@page("secretariat", max_body=DIRECTORY_FORM)
async def import_file(request: web.Request, who: Who) -> web.StreamResponse:
    """The directory file: checked (a dry run) or imported, every problem listed by line."""
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        context = {"summary": None, "error": C_("Choisissez un fichier XLSX ou CSV.")}
        return aiohttp_jinja2.render_template("members_import.html", request, context, status=400)
    raw = upload.file.read()
    summary = await run_import(
        request.config_dict[DATABASE],
        raw,
        upload.filename or "fichier",
        who.actor,
        dry_run=form.get("action") != "import",
        now=utcnow(),
        holder=request.config_dict[SETTINGS].data_holder,
        erasure_key=request.config_dict[ERASURE_KEY],
        sms_route=await sms_route_exists(
            request.config_dict[DATABASE], request.config_dict[SETTINGS]
        ),
    )
    return aiohttp_jinja2.render_template("members_import.html", request, {"summary": summary})


@page("admin", missing=C_("Ce membre n'existe pas."))
async def data_copy(request: web.Request, who: Who) -> web.StreamResponse:
    """An access request answered: everything held about the member, HTML or JSON, audited."""
    member_id, format_ = int(request.match_info["id"]), request.path.rsplit(".", 1)[-1]
    held = await access_export.collect(
        request.config_dict[DATABASE], member_id, who.actor, "console"
    )
    name = f"donnees-membre-{member_id}.{format_}"
    if format_ == "json":
        body, content_type = access.as_json(held), "application/json"
    else:
        body, content_type = (
            access.as_html(held, utcnow().isoformat(timespec="minutes")),
            "text/html",
        )
    return web.Response(
        text=body,
        content_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/members/import", import_form, name="members_import")
    app.router.add_post("/members/import", import_file)
    app.router.add_get("/members", list_members, name="members")
    app.router.add_get("/members/export", export, name="members_export")
    app.router.add_get(r"/members/{id:[0-9]{1,9}}", show_member, name="member")
    for format_ in ("html", "json"):
        app.router.add_get(
            rf"/members/{{id:[0-9]{{1,9}}}}/data.{format_}", data_copy, name=f"member_{format_}"
        )
