"""The `benkadi` command: the service (serve, dispatch, db, chat, telegram-webhook) here; the
nouns the secretariat and admins use (tokens, broadcasts, members, organisations, campaigns,
polls, reports, accounts) each in their module, run by runner.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import logging
import os
import socket
import sys

import aiohttp
from aiohttp import web

from gateway.cli import (
    accounts,
    backup,
    broadcasts,
    campaigns,
    gateways,
    i18n,
    members,
    organisations,
    polls,
    privacy,
    recurring,
    reports,
    runner,
    tokens,
    whatsapp,
)
from gateway.cli.signals import stop_event
from gateway.logs import LOG_FORMAT, quiet_noisy_libraries, redact_secrets
from gateway.settings import Settings, SettingsError
from storage.database import Database
from storage.migrate import current_revision, upgrade

NOUNS = (
    broadcasts,
    members,
    organisations,
    campaigns,
    polls,
    recurring,
    reports,
    tokens,
    accounts,
    gateways,
    privacy,
    i18n,
    whatsapp,
)
COMMANDS = (backup,)  # verbs of their own, no noun
# The spellings before the nouns above, kept so that scripts do not break; in no help.
ALIASES = {
    ("admin", "create-token"): ("tokens", "create"),
    ("admin", "list-tokens"): ("tokens", "list"),
    ("admin", "revoke-token"): ("tokens", "revoke"),
    ("admin",): ("tokens",),  # `benkadi admin --help`: today's verbs, each with its help
    ("broadcast",): ("broadcasts",),
    ("export", "roster"): ("members", "export"),
}


def spelled_now(argv: list[str]) -> list[str]:
    """The command line with an old spelling (`admin create-token …`) replaced by today's."""
    for old, new in ALIASES.items():
        if tuple(argv[: len(old)]) == old:
            return [*new, *argv[len(old) :]]
    return argv


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benkadi", description="Benkadi messaging service")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the web service and the dispatcher")
    serve.add_argument("--host", help="address to listen on (default BENKADI_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default BENKADI_PORT or 8080)")
    serve.add_argument(
        "--dispatch",
        choices=["auto", "inline", "process", "off"],
        default=None,
        help="send the outbox from this process, from a child process (a second core), or not "
        "at all; auto: a child when the machine has two cores or more (default BENKADI_DISPATCH "
        "or auto)",
    )
    dispatch = commands.add_parser(
        "dispatch", help="only send the outbox (beside a `serve --dispatch off`)"
    )
    dispatch.add_argument("--wake-stdin", action="store_true", help=argparse.SUPPRESS)
    db = commands.add_parser("db", help="the database's schema: upgrade it, or show its revision")
    db.add_argument("db_action", choices=["upgrade", "current"])
    chat = commands.add_parser(
        "chat", help="chat with a running service's simulator in this terminal"
    )
    chat.add_argument(
        "--url",
        help="the running `benkadi serve` (default http://127.0.0.1:BENKADI_PORT, port 8080)",
    )
    chat.add_argument("--channel", choices=["sms", "telegram", "whatsapp"], default="sms")
    chat.add_argument(
        "--from", dest="sender", default="76 12 34 56", help="phone number or Telegram id"
    )
    commands.add_parser(
        "telegram-webhook",
        help="point Telegram at BENKADI_PUBLIC_URL/webhooks/telegram with the configured secret",
    )
    for noun in NOUNS:
        noun.register(commands)
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Every file Benkadi makes (database and WAL, photos, exports, keys) is its user's only.
    previous = os.umask(0o077)
    try:
        return _main(argv)
    finally:
        os.umask(previous)


def _main(argv: list[str] | None) -> int:
    args = parser().parse_args(spelled_now(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    quiet_noisy_libraries()
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"benkadi: configuration error: {error}", file=sys.stderr)
        return 2
    redact_secrets(settings)  # from here on, no configured secret reaches the log
    if "action" in args or "offline" in args:  # a noun's verb
        return asyncio.run(runner.run(args, settings))
    if args.command == "serve":
        choice = args.dispatch or os.environ.get("BENKADI_DISPATCH") or "auto"
        if choice == "auto":
            choice = "process" if (os.cpu_count() or 1) > 1 else "inline"
        settings = dataclasses.replace(settings, dispatch=choice)
        return asyncio.run(_serve(settings, args.host, args.port))
    if args.command == "dispatch":
        return asyncio.run(_dispatch(settings, args.wake_stdin))
    if args.command == "db":
        return asyncio.run(_db(settings, args.db_action))
    if args.command == "telegram-webhook":
        return asyncio.run(_telegram_webhook(settings))
    url = args.url or f"http://127.0.0.1:{settings.port}"
    return asyncio.run(_chat(url.rstrip("/"), args.channel, args.sender))


async def _db(settings: Settings, action: str) -> int:
    # Alembic's INFO lines ("Context impl SQLiteImpl.") say nothing to whoever runs this.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    database = Database(settings.database_url)
    try:
        if action == "upgrade":
            await upgrade(database.engine)
        print(f"database at revision {await current_revision(database.engine)}")
    finally:
        await database.dispose()
    return 0


async def _dispatch(settings: Settings, wake_stdin: bool) -> int:
    from gateway.app import build_channels, supervised_dispatcher
    from gateway.channels.base import enabled
    from gateway.sending.process import database_heartbeat, heartbeat, wake_from_stdin
    from gateway.sending.routes import with_routes

    database = Database(settings.database_url)
    channels = await with_routes(database, build_channels(settings), settings)
    if not enabled(channels):  # the SMS route layer is always there, waiting for a route
        print(
            "benkadi dispatch: nothing to send with yet (no Telegram, no Twilio, no Android "
            "phone): waiting; a phone added with `benkadi gateways add` is used without a restart",
            file=sys.stderr,
        )
    stop = stop_event()
    try:
        async with supervised_dispatcher(database, channels, settings) as running:
            helpers = []
            if wake_stdin:  # a child of `benkadi serve`: woken by, and reporting to, its parent
                helpers.append(asyncio.create_task(wake_from_stdin(running.wake, stop.set)))
                helpers.append(
                    asyncio.create_task(heartbeat(running.report, settings.heartbeat_seconds))
                )
            else:  # on its own (`serve --dispatch off`): reporting through the database
                helpers.append(
                    asyncio.create_task(
                        database_heartbeat(database, running.report, settings.heartbeat_seconds)
                    )
                )
            await stop.wait()
            for helper in helpers:
                helper.cancel()
    finally:
        await database.dispose()
    return 0


async def _telegram_webhook(settings: Settings) -> int:
    """Point Telegram at BENKADI_PUBLIC_URL/webhooks/telegram with the configured secret."""
    from telegram import Bot

    token = settings.telegram_bot_token
    if not settings.telegram_enabled or not token:
        print("benkadi: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first", file=sys.stderr)
        return 2
    url = settings.public_url + "/webhooks/telegram"
    async with Bot(token, base_url=settings.telegram_api_url + "/bot") as bot:
        await bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=["message", "callback_query", "my_chat_member"],
        )
    print(f"Telegram now posts updates to {url}")
    return 0


async def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    from gateway import slow_clients
    from gateway.app import create_app

    changes: dict = {"migrate_on_start": settings.database_url.startswith("sqlite")}
    if host:
        changes["host"] = host
    if port is not None:
        changes["port"] = port
    settings = dataclasses.replace(settings, **changes)
    if not os.environ.get("BENKADI_PUBLIC_URL"):  # follow --host/--port when none is configured
        local = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        settings = dataclasses.replace(settings, public_url=f"http://{local}:{settings.port}")
    if not settings.database_url.startswith("sqlite"):
        database = Database(settings.database_url)
        revision = await current_revision(database.engine)
        await database.dispose()
        if revision is None:
            print(
                "benkadi: the database has no schema; run `benkadi db upgrade` first",
                file=sys.stderr,
            )
            return 2
    if not (settings.telegram_enabled or settings.twilio_enabled):
        settings = dataclasses.replace(settings, simulator=True)
    # Before anything starts (a child dispatcher, the channels): a port in use is one line.
    if not _can_listen(settings.host, settings.port):
        print(f"benkadi: port {settings.port} is in use (on {settings.host})", file=sys.stderr)
        return 2
    runner = slow_clients.runner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as error:  # taken meanwhile, or not ours to listen on
        await runner.cleanup()
        print(f"benkadi: cannot listen on {settings.host}:{settings.port}: {error.strerror}",
              file=sys.stderr)  # fmt: skip
        return 2
    where = f"http://{settings.host}:{settings.port}"
    if settings.simulator:
        print(
            f"Benkadi is running with the simulator (no credentials): open {where}/simulator",
            flush=True,
        )
    else:
        print(f"Benkadi is running on {where}", flush=True)
    stop = stop_event()
    await stop.wait()
    await runner.cleanup()
    return 0


def _can_listen(host: str, port: int) -> bool:
    """Whether this address and port are free to listen on (as the server will: reuse_address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return True  # a name that does not resolve: the server's own error says so
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return False
    return True


CHAT_POLL = 0.5  # seconds between looks at the conversation: broadcasts show as they come
REPLY_WAIT = 10.0  # how long a line waits for its first reply before the next is read


class _Phone:
    """The terminal's side of the conversation: prints Benkadi's messages as they arrive,
    whether they answer a line or not (a broadcast, a reminder)."""

    def __init__(self, http: aiohttp.ClientSession, url: str, channel: str, sender: str):
        self.http, self.url = http, url
        self.params = {"channel": channel, "from": sender}
        self.shown = 0
        self.buttons: list[list[str]] = []
        self.pressed_in: str | None = None  # the message whose buttons are numbered
        self.arrived = asyncio.Event()
        self._looking = asyncio.Lock()  # the watcher and a line's wait: each message once

    async def benkadi_messages(self) -> list[dict]:
        async with self.http.get(f"{self.url}/simulator/api/messages", params=self.params) as r:
            return [m for m in (await r.json())["messages"] if m["from"] == "benkadi"]

    async def look(self) -> None:
        async with self._looking:
            await self._look()

    async def _look(self) -> None:
        messages = await self.benkadi_messages()
        for message in messages[self.shown :]:
            print(f"\n{message['text']}")
            if message["buttons"]:
                self.buttons, self.pressed_in = message["buttons"], message.get("id")
                for number, (label, _data) in enumerate(self.buttons, 1):
                    print(f"  [{number}] {label}")
            print(flush=True)
        if len(messages) > self.shown:
            self.shown = len(messages)
            self.arrived.set()

    async def watch(self) -> None:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                await self.look()
            await asyncio.sleep(CHAT_POLL)


async def _chat(url: str, channel: str, sender: str) -> int:
    """A terminal phone: type a line, see Benkadi's replies and broadcasts as they come;
    numbers press Telegram buttons."""
    print(f"Simulator chat as {channel} {sender} with {url}. Ctrl-D to leave.")
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(f"{url}/healthz") as response:
                response.raise_for_status()
        except aiohttp.ClientError:
            print(
                f"benkadi: no service answers at {url}; start it with `benkadi serve` "
                "(or give its address: benkadi chat --url http://HOST:PORT)",
                file=sys.stderr,
            )
            return 2
        phone = _Phone(http, url, channel, sender)
        phone.shown = len(await phone.benkadi_messages())  # what was said before: not again
        watcher = asyncio.create_task(phone.watch())
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    return 0
                text = line.rstrip("\n")
                payload: dict = {"channel": channel, "from": sender, "text": text}
                buttons = phone.buttons
                if (
                    channel == "telegram"
                    and text.strip().isdigit()
                    and 0 < int(text) <= len(buttons)
                ):
                    label, data = buttons[int(text) - 1]
                    payload |= {"text": label, "button": data, "message_id": phone.pressed_in}
                phone.arrived.clear()
                async with http.post(f"{url}/simulator/api/send", json=payload) as response:
                    if response.status != 200:
                        print(f"! {await response.text()}")
                        continue
                    notice = (await response.json()).get("notice")
                if notice:
                    print(f"  ({notice})", flush=True)
                    continue  # a tick: the buttons changed, nothing new is said
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(phone.arrived.wait(), REPLY_WAIT)
                await asyncio.sleep(CHAT_POLL)  # a reply in several SMS: the rest of it
                await phone.look()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
