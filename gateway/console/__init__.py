"""The administrators' web console, under /console: server-rendered pages, no CDN, small.

A page group is one module of this package, named once in PAGES below (one line), with:
- `NAV = (label, path, role)` (or `NAVS = [...]` for several entries): the navigation is built
  from these, in PAGES order, each shown to `role` and above;
- `add_routes(app)`: routes on the console sub-application (paths without the /console prefix),
  handlers wrapped in `auth.page(role)` (signed in, role checked, CSRF checked on POST; the
  handler gets `(request, who)`; a domain refusal becomes an error page, see errors.py),
  rendered with `aiohttp_jinja2.render_template("x.html", …)` from a template that
  `{% extends "base.html" %}`; charts from `charts.py`; exports through `gateway/exports` like
  `members.export`, so they are the API's, audited the same.
The console is a sub-application, so its middlewares (sessions, HTML errors) touch nothing else.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import get_session
from aiohttp_session import setup as setup_sessions

from gateway.api.auth import may
from gateway.console import auth, formats
from gateway.console.errors import Handler, errors
from gateway.console.i18n import catalog, label
from gateway.console.keys import NAV, PREFIX, THROTTLE, WHO
from gateway.console.secret import known_browser_key
from gateway.console.sessions import DatabaseStorage
from gateway.keys import SETTINGS
from gateway.settings import Settings

HERE = Path(__file__).resolve().parent
# One line per page group (a module of this package), in the order of the navigation.
PAGES = (
    "dashboard",
    "members",
    "organisations",
    "broadcasts",
    "campaigns",
    "polls",
    "recurring",
    "reports",
    "gateways",
    "translations",
    "admin",
)


def page_groups() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{name}") for name in PAGES]


async def _context(request: web.Request) -> dict[str, Any]:
    who = request.get(WHO)
    role = who.role if who else None

    def allowed(needed: str) -> bool:
        return role is not None and may(role, needed)

    return {
        "who": who,
        "csrf": await auth.csrf_token(request),
        "nav": [entry for entry in request.app[NAV] if allowed(entry[2])],
        "path": request.path,
        "prefix": PREFIX,
        "may": allowed,
    }


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    )
    if not request.path.startswith(PREFIX + "/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.Response) and not response.prepared:
        response.enable_compression()  # gzip when the browser accepts it: a slow link
    return response


def build(settings: Settings) -> web.Application:
    console = web.Application(middlewares=[headers])
    storage = DatabaseStorage(
        idle=timedelta(seconds=auth.IDLE_SECONDS),
        starts_at=f"{PREFIX}/login",
        cookie_name="benkadi_console",
        path=PREFIX,
        max_age=auth.MAX_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=settings.public_url.startswith("https://"),
    )
    setup_sessions(console, storage)
    console.middlewares.append(auth.identify)
    console.middlewares.append(errors)
    environment = aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        context_processors=[_context],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(  # type: ignore[attr-defined]  # jinja2.ext.i18n's
        catalog(), newstyle=True
    )
    environment.filters["label"] = label
    formats.install(environment)  # number, percent, when, day, details, action (Babel, French)
    console[THROTTLE] = auth.Throttle()
    console[THROTTLE].key = known_browser_key(settings)
    groups = page_groups()
    console[NAV] = [
        entry for group in groups for entry in getattr(group, "NAVS", None) or [group.NAV]
    ]
    auth.add_routes(console)
    for group in groups:
        group.add_routes(console)
    console.router.add_static("/static", HERE / "static", name="static")
    return console


async def _root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(PREFIX + "/")


def add_routes(app: web.Application) -> None:
    """Mount the console on the main application (one line in gateway/app.py)."""
    app.router.add_get(PREFIX, _root)  # before the sub-application, which would take "/console"
    app.add_subapp(PREFIX, build(app[SETTINGS]))


__all__ = ["PAGES", "add_routes", "get_session"]
