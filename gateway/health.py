"""Liveness and readiness, for a supervisor or a load balancer.

- `/livez`: the process answers (no database, nothing else).
- `/readyz`: the database takes a write, the dispatcher is alive (its heartbeat, wherever it
  runs) and none of its loops is stalled: 200, else 503. Each channel's state and the age of
  the oldest message due per channel are in the answer for an admin's API token only: the
  public answer is the status word, nothing about what is configured.
- `/healthz` (app.py) stays what it was for existing probes: the process and a database read.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from aiohttp import web
from sqlalchemy import text

from gateway.keys import DATABASE, HEALTH, SETTINGS
from gateway.sending.process import SILENT_BEATS
from storage import heartbeats
from storage.outbox import claims
from storage.tokens import ROLES, authenticate
from storage.types import utcnow

log = logging.getLogger(__name__)
DATABASE_TIMEOUT = 5.0  # seconds: a database locked longer than this is not ready


async def livez(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    report = await readiness(request.app)
    status = 503 if report["status"] == "not ready" else 200
    if await _is_admin(request):
        return web.json_response(report, status=status)
    return web.json_response({"status": report["status"]}, status=status)


async def readiness(app: web.Application) -> dict[str, object]:
    writable, oldest = await _database(app)
    sending = app[HEALTH].report()
    if sending.get("elsewhere"):  # --dispatch off: the other process's beats in the database
        sending = await _elsewhere(app)
    reported = sending.get("channels")
    channels: dict[str, dict] = dict(reported) if isinstance(reported, dict) else {}
    now = utcnow()
    for name, since in oldest.items():
        age = round((now - since).total_seconds(), 1)
        channels[name] = {**channels.get(name, {}), "oldest_due_seconds": age}
    ready = writable and bool(sending.get("alive")) and not sending.get("stalled")
    down = any(
        isinstance(state, dict) and state.get("state") == "down" for state in channels.values()
    )
    status = "not ready" if not ready else "degraded" if down else "ready"
    return {
        "status": status,
        "database": "writable" if writable else "unavailable",
        "dispatcher": {key: value for key, value in sending.items() if key != "channels"},
        "channels": channels,
    }


async def _database(app: web.Application) -> tuple[bool, dict]:
    """Whether a write goes through (one that changes nothing), and the oldest due rows."""
    database = app[DATABASE]

    async def probe() -> dict:
        async with database.transaction() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
        async with database.read_engine.connect() as connection:
            return await claims.oldest_due(connection, utcnow())

    if database in _probing:  # its last probe still waits on a lock: not ready, no second one
        return False, {}
    # Not wait_for: cancelling a write that waits on SQLite's lock waits for that wait to end
    # (the busy timeout, 10 s). The probe is left to finish on its own; the answer comes now.
    task = asyncio.ensure_future(probe())
    done, _ = await asyncio.wait({task}, timeout=DATABASE_TIMEOUT)
    if not done:
        _probing[database] = task
        task.add_done_callback(lambda done: _forget_probe(database, done))
        log.warning("readiness: the database took no write within %s s", DATABASE_TIMEOUT)
        return False, {}
    try:
        return True, task.result()
    except Exception as error:
        log.warning("readiness: the database is not writable (%s)", type(error).__name__)
        return False, {}


# Per database (tests run several apps in one process), dropped with it.
_probing: weakref.WeakKeyDictionary[object, asyncio.Future[dict]] = weakref.WeakKeyDictionary()


def _forget_probe(database: object, task: asyncio.Future[dict]) -> None:
    _probing.pop(database, None)
    if not task.cancelled():
        task.exception()  # retrieved: its outcome no longer matters


async def _elsewhere(app: web.Application) -> dict[str, object]:
    """A `benkadi dispatch` of its own is alive while its heartbeat rows keep coming."""
    silent = SILENT_BEATS * app[SETTINGS].heartbeat_seconds
    try:
        last = await asyncio.wait_for(heartbeats.last(app[DATABASE]), DATABASE_TIMEOUT)
    except Exception:  # the database is down: the database line says so
        last = None
    if last is None:
        return {"alive": False, "stalled": [], "channels": {}, "elsewhere": True}
    beat_at, beat = last
    age = (utcnow() - beat_at).total_seconds()
    return {
        "alive": age < silent and bool(beat.get("alive", False)),
        "stalled": beat.get("stalled", []),
        "channels": beat.get("channels", {}),
        "elsewhere": {"heartbeat_age": round(age, 1)},
    }


async def _is_admin(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        who = await authenticate(request.app[DATABASE], token.strip())
    except Exception:  # the database is down: the public answer says so already
        return False
    return who is not None and who.role == ROLES[-1]


def add_routes(app: web.Application) -> None:
    app.router.add_get("/livez", livez)
    app.router.add_get("/readyz", readyz)
