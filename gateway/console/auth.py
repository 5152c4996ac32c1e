"""Signing in and out, sessions, roles on every page, CSRF on every form, slowed failures.

The session (kept in the database, the cookie holds a random id: console/sessions.py) holds who
signed in and a CSRF token. Signing out, a new password, disabling the account or revoking the
token delete it, so a copied cookie is worth nothing after; each page also looks the account or
token up again. A session idle for IDLE_SECONDS, or older than MAX_SECONDS, sends to the sign-in page,
which comes back to the page asked for.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session
from sqlalchemy import select

from bot.vocabulary.errors import DomainError
from gateway.api.auth import may
from gateway.console.errors import refusal_page
from gateway.console.i18n import C_
from gateway.console.keys import PREFIX, THROTTLE, WHO, Who
from gateway.keys import DATABASE
from storage import accounts, audit, tokens
from storage.models import AdminToken

IDLE_SECONDS = 2 * 3600
MAX_SECONDS = 12 * 3600
TOUCH_EVERY = 60  # rewrite the cookie (its idle clock) at most once a minute
Handler = Callable[[web.Request, Who], Awaitable[web.StreamResponse]]


class Throttle:
    """Failed sign-ins, per username and per address: past `free` failures in `window`
    seconds, each attempt waits base·2^(n-free) seconds, at most `cap`."""

    def __init__(
        self, free: int = 3, base: float = 1.0, cap: float = 30.0, window: float = 900.0
    ) -> None:
        self.free, self.base, self.cap, self.window = free, base, cap, window
        self.failures: dict[str, tuple[int, float]] = {}

    def delay(self, keys: Iterable[str]) -> float:
        now, worst = time.monotonic(), 0
        for key in keys:
            count, last = self.failures.get(key, (0, 0.0))
            if now - last < self.window:
                worst = max(worst, count)
        return 0.0 if worst < self.free else min(self.cap, self.base * 2 ** (worst - self.free))

    def failed(self, keys: Iterable[str]) -> None:
        now = time.monotonic()
        if len(self.failures) > 10_000:  # a spray of names must not grow memory for ever
            self.failures = {k: v for k, v in self.failures.items() if now - v[1] < self.window}
        for key in keys:
            count, last = self.failures.get(key, (0, 0.0))
            self.failures[key] = (count + 1 if now - last < self.window else 1, now)

    def succeeded(self, key: str) -> None:
        self.failures.pop(key, None)


def safe_next(target: object) -> str:
    """Only a page of the console: never another site (//evil, https://evil)."""
    if isinstance(target, str) and target.startswith(PREFIX + "/") and not target.startswith("//"):
        if "\\" not in target and "\n" not in target and "\r" not in target:
            return target
    return PREFIX + "/"


async def _current(request: web.Request, session) -> Who | None:
    data = session.get("who")
    now = time.time()
    if not data or now - session.get("since", 0) > MAX_SECONDS:
        return None
    if now - session.get("seen", 0) > IDLE_SECONDS:
        return None
    database = request.config_dict[DATABASE]
    if data["kind"] == "account":
        account = await accounts.current(database, data["id"])
        who = account and Who("account", account.id, account.username, account.role, account.name)
    else:
        table = AdminToken.__table__
        query = select(table.c.id, table.c.name, table.c.role).where(
            table.c.id == data["id"], table.c.revoked_at.is_(None)
        )
        async with database.sessions() as db_session:
            row = (await db_session.execute(query)).one_or_none()
        who = row and Who("token", row.id, row.name, row.role)
    if who and now - session.get("seen", 0) > TOUCH_EVERY:
        session["seen"] = now
    return who or None


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


async def check_csrf(request: web.Request) -> None:
    session = await get_session(request)
    form = await request.post()
    sent = form.get("csrf", "")
    expected = session.get("csrf", "")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise web.HTTPForbidden(
            text=C_("Formulaire expiré ou invalide : rechargez la page et recommencez.")
        )


@web.middleware
async def identify(request: web.Request, handler) -> web.StreamResponse:
    """Who is signed in, for the page and its templates (nobody on static files)."""
    who = None
    if not request.path.startswith(PREFIX + "/static/"):
        who = await _current(request, await get_session(request))
    request[WHO] = who
    return await handler(request)


def page(
    role: str, *, missing: str | None = None, labels: Mapping[str, str] | None = None
) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """The handler runs for someone signed in with `role` or above; POSTs carry the CSRF token.

    Nobody signed in: a page goes to the sign-in page (and back after); a .json route is a 401.
    A domain refusal is an error page (console/errors.py): `missing` is its sentence for a
    NotFound ("Ce sondage n'existe pas."), `labels` its sentences for bad fields.
    """

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            who = request[WHO]
            if who is None:
                if request.path.endswith(".json"):
                    raise web.HTTPUnauthorized(
                        text='{"error": "signed out"}', content_type="application/json"
                    )
                back = request.path_qs if request.method == "GET" else request.path
                if request.method != "GET":  # a form posted after expiry: back to where it was
                    referer = request.headers.get("Referer", "")
                    back = referer.split(request.host, 1)[-1] if request.host in referer else back
                raise web.HTTPFound(f"{PREFIX}/login?next={quote(safe_next(back), safe='/')}")
            if not may(who.role, role):
                return aiohttp_jinja2.render_template(
                    "error.html",
                    request,
                    {"who": who, "message": C_("Votre rôle ne permet pas cette page.")},
                    status=403,
                )
            if request.method == "POST":
                await check_csrf(request)
            try:
                return await handler(request, who)
            except DomainError as error:
                return refusal_page(request, error, missing, labels)

        return run

    return wrap


async def login_form(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template(
        "login.html",
        request,
        {"next": safe_next(request.query.get("next")), "errors": {}, "values": {}},
    )


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    target = safe_next(form.get("next"))
    session = await get_session(request)
    if not hmac.compare_digest(str(form.get("csrf", "")), session.get("csrf", "-")):
        raise web.HTTPForbidden(text=C_("Formulaire expiré : rechargez la page de connexion."))
    username = str(form.get("username", "")).strip().lower()
    password, token = str(form.get("password", "")), str(form.get("token", "")).strip()
    values = {"username": username}
    if not token:
        errors = {
            name: C_("Ce champ est obligatoire.")
            for name, value in (("username", username), ("password", password))
            if not value
        }
        if errors:
            context = {"next": target, "errors": errors, "values": values}
            return aiohttp_jinja2.render_template("login.html", request, context, status=400)
    throttle = request.app[THROTTLE]
    # Per address always; per username for passwords (a token has no name to guess at).
    keys = [f"ip:{request.remote}"] + ([f"user:{username}"] if not token else [])
    await asyncio.sleep(throttle.delay(keys))
    database = request.config_dict[DATABASE]
    who: Who | None = None
    if token:
        principal = await tokens.authenticate(database, token)
        who = principal and Who("token", principal.id, principal.name, principal.role)
    else:
        account = await accounts.verify(database, username, password)
        who = account and Who("account", account.id, account.username, account.role)
    if not who:
        throttle.failed(keys)
        message = C_("Identifiant, mot de passe ou jeton incorrect.")
        context = {"next": target, "errors": {"form": message}, "values": values}
        return aiohttp_jinja2.render_template("login.html", request, context, status=401)
    if not token:
        throttle.succeeded(keys[-1])  # that person's slate is clean; the address's stays as it is
    session = await new_session(request)  # a fresh session: no fixation of an old one
    now = time.time()
    session.update(
        who={"kind": who.kind, "id": who.id}, since=now, seen=now, csrf=secrets.token_urlsafe(32)
    )
    async with database.transaction() as connection:
        await audit.record(connection, who.actor, "console.login", None, {"role": who.role})
    raise web.HTTPFound(target)


@page("viewer")
async def logout(request: web.Request, who: Who) -> web.StreamResponse:
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPFound(f"{PREFIX}/login")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_form, name="login")
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
