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
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
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
from gateway.keys import DATABASE, SETTINGS
from storage import accounts, audit, sign_in_throttle, tokens
from storage.database import Database
from storage.models import AdminToken

IDLE_SECONDS = 2 * 3600
MAX_SECONDS = 12 * 3600
KNOWN_COOKIE = "benkadi_known"  # this browser has signed in to that account before
KNOWN_SECONDS = 180 * 86400
TOUCH_EVERY = 60  # rewrite the cookie (its idle clock) at most once a minute
Handler = Callable[[web.Request, Who], Awaitable[web.StreamResponse]]


class Throttle:
    """Failed sign-ins, kept in the database (storage/sign_in_throttle.py) under three keys:
    the account from this address (`free` failures, then each attempt waits base·2^(n-free)
    seconds, at most `cap`), the account from anywhere (`account_free`) and the address for any
    account (`address_free`). The looser address and account keys are there so that guesses
    from a shared address (an office, a mobile operator's NAT) slow the guesser, not for long
    a colleague signing in to her own account. An attempt that would wait more than `max_wait`
    is refused at once (429) and not checked. Failures are forgotten `window` seconds after the
    last attempt: nothing is locked for good.

    A browser that has signed in to an account before carries a mark of it (KNOWN_COOKIE, an
    HMAC of the username): its attempts at that account count under a key of their own only, so someone else's guesses at the same account or from the same address cannot keep
    its owner out (OWASP's "device cookie")."""

    def __init__(
        self,
        free: int = 3,
        base: float = 1.0,
        cap: float = 30.0,
        window: float = 900.0,
        max_wait: float = 30.0,
        account_free: int = 10,
        address_free: int = 20,
    ) -> None:
        self.free, self.base, self.cap, self.window = free, base, cap, window
        self.max_wait, self.account_free, self.address_free = max_wait, account_free, address_free
        self.key = b""  # signs the known-browser marks (set from the console's secret)
        self.clock: Callable[[], float] = time.time  # tests: a clock of their own
        self.sleep: Callable[[float], Awaitable[object]] = asyncio.sleep

    def wait(self, failures: int, free: int) -> float:
        return 0.0 if failures < free else min(self.cap, self.base * 2 ** (failures - free))

    def mark(self, username: str) -> str:
        return hmac.new(self.key, username.encode(), hashlib.sha256).hexdigest()

    def knows(self, request: web.Request, username: str | None) -> bool:
        sent = request.cookies.get(KNOWN_COOKIE, "")
        return bool(username and sent and hmac.compare_digest(sent, self.mark(username)))

    def _delays(
        self, username: str | None, address: str, known: bool = False
    ) -> dict[str, Callable[[int], float]]:
        def after(free: int) -> Callable[[int], float]:
            return lambda failures: self.wait(failures, free)

        if known:  # only this account's browsers' own failures count
            return {f"known:{username}": after(self.free)}
        delays = {f"ip:{address}": after(self.address_free)}
        if username is not None:  # a token has no name to guess at: its address only
            delays[f"pair:{username}|{address}"] = after(self.free)
            delays[f"user:{username}"] = after(self.account_free)
        return delays

    async def admit(
        self, database: Database, username: str | None, address: str, known: bool = False
    ) -> bool:
        """Wait for this attempt's turn; False when it is too far away (refused)."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        slot = await sign_in_throttle.reserve(
            database,
            self._delays(username, address, known),
            now,
            timedelta(seconds=self.window),
            timedelta(seconds=self.max_wait),
        )
        if slot is None:
            return False
        await self.sleep(max(0.0, (slot - now).total_seconds()))
        return True

    async def succeeded(
        self, database: Database, username: str | None, address: str, known: bool = False
    ) -> None:
        """That person's slate is clean; the address gets this attempt back, no more."""
        keys = self._delays(username, address, known)
        mine = [key for key in keys if not key.startswith("ip:")]
        await sign_in_throttle.succeeded(database, mine, [key for key in keys if key not in mine])


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
        who = account and Who(
            "account", account.id, account.username, account.role, account.name, account.languages
        )
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
    role: str,
    *,
    missing: str | None = None,
    labels: Mapping[str, str] | None = None,
    max_body: int | None = None,
) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """The handler runs for someone signed in with `role` or above; POSTs carry the CSRF token.

    Nobody signed in: a page goes to the sign-in page (and back after); a .json route is a 401.
    A domain refusal is an error page (console/errors.py): `missing` is its sentence for a
    NotFound ("Ce sondage n'existe pas."), `labels` its sentences for bad fields.
    `max_body`: this page's multipart form may be that big (bytes), above the app's
    client_max_size; it is read only once the sender is known to have `role`.
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
                if max_body and request.content_type == "multipart/form-data":
                    request = await _larger(request, max_body)
                else:
                    await check_csrf(request)
            try:
                return await handler(request, who)
            except DomainError as error:
                return refusal_page(request, error, missing, labels)

        return run

    return wrap


async def _larger(request: web.Request, max_body: int) -> web.Request:
    """The request allowed a body of `max_body` (slow_clients leaves a console multipart form
    unread, so it can still be set), its form read and its CSRF token checked."""
    larger = request.clone(client_max_size=max_body)
    try:
        await check_csrf(larger)
    except web.HTTPRequestEntityTooLarge:
        text = C_("Fichier trop gros : {size} Mo au plus.").format(size=max_body // 1024**2)
        raise web.HTTPRequestEntityTooLarge(max_body, -1, text=text) from None
    return larger


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
    database = request.config_dict[DATABASE]
    name, address = (None if token else username), request.remote or "-"
    known = throttle.knows(request, name)
    if not await throttle.admit(database, name, address, known):
        message = C_("Trop d'essais : attendez une minute avant de recommencer.")
        context = {"next": target, "errors": {"form": message}, "values": values}
        response = aiohttp_jinja2.render_template("login.html", request, context, status=429)
        response.headers["Retry-After"] = str(int(throttle.max_wait))
        return response
    who: Who | None = None
    if token:
        principal = await tokens.authenticate(database, token)
        who = principal and Who("token", principal.id, principal.name, principal.role)
    else:
        account = await accounts.verify(database, username, password)
        who = account and Who("account", account.id, account.username, account.role)
    if not who:  # counted already, by the reservation
        message = C_("Identifiant, mot de passe ou jeton incorrect.")
        context = {"next": target, "errors": {"form": message}, "values": values}
        return aiohttp_jinja2.render_template("login.html", request, context, status=401)
    await throttle.succeeded(database, name, address, known)
    session = await new_session(request)  # a fresh session: no fixation of an old one
    now = time.time()
    session.update(
        who={"kind": who.kind, "id": who.id}, since=now, seen=now, csrf=secrets.token_urlsafe(32)
    )
    async with database.transaction() as connection:
        await audit.record(connection, who.actor, "console.login", None, {"role": who.role})
    if target == PREFIX + "/" and not may(who.role, "viewer"):
        target = PREFIX + "/translations"  # a translator's one page (the dashboard is a viewer's)
    signed_in = web.HTTPFound(target)
    if name is not None:  # this browser is known to that account from now on
        signed_in.set_cookie(
            KNOWN_COOKIE,
            throttle.mark(name),
            max_age=KNOWN_SECONDS,
            path=PREFIX,
            httponly=True,
            samesite="Strict",
            secure=request.config_dict[SETTINGS].public_url.startswith("https://"),
        )
    raise signed_in


@page("translator")
async def logout(request: web.Request, who: Who) -> web.StreamResponse:
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPFound(f"{PREFIX}/login")


async def _dummy_hash_ready(app: web.Application) -> None:
    await accounts.dummy_hash()  # the first unknown username waits as long as the next ones


def add_routes(app: web.Application) -> None:
    app.on_startup.append(_dummy_hash_ready)
    app.router.add_get("/login", login_form, name="login")
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
