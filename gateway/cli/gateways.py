"""`benkadi gateways add|list|remove|set-rate|set-hours|set-connection|status|register-webhooks`: Android phones with Malian SIMs
(SMS Gateway for Android), straight on the database. Their password and signing key are asked
for (or read from BENKADI_GATEWAY_PASSWORD / BENKADI_GATEWAY_SIGNING_KEY) and never shown back."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from bot.vocabulary.errors import FieldError, NotFound
from gateway.channels.android import WEBHOOK_PATH, AndroidSender
from gateway.cli.arguments import Commands, json_flag, names, noun
from gateway.cli.common import actor, answer, emit_json, when
from gateway.cli.tables import Column, print_rows, print_table
from gateway.settings import Settings
from storage import gateways as store
from storage.database import Database

COLUMNS = (
    Column("name", 12),
    Column("mode", 6),
    Column("url", 34),
    Column("SIMs"),
)
STATUS_COLUMNS = (
    Column("name", 12),
    Column("state", 5),
    Column("SIM", 26),
    Column("per min", 7, right=True),
    Column("last seen", 20),
    Column("sent today", 10, right=True),
    Column("failed", 6, right=True),
    Column("queue", 6, right=True),
)


def _secret(given: str | None, variable: str, field: str, prompt: str) -> str:
    value = given or os.environ.get(variable, "")
    if not value and sys.stdin.isatty():
        value = getpass.getpass(prompt)
    if not value:
        raise FieldError(field, f"is required: --{field.replace('_', '-')} or {variable}")
    return value


async def add(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    specs = [store.parse_sim(text) for text in args.sim or []]
    password = _secret(
        args.password, "BENKADI_GATEWAY_PASSWORD", "password", "Password (or cloud token): "
    )
    key = _secret(
        args.signing_key, "BENKADI_GATEWAY_SIGNING_KEY", "signing_key", "Webhook signing key: "
    )
    gateway_id = await store.add_gateway(
        database,
        name=args.name,
        base_url=args.url,
        login=None if args.cloud else args.login,
        password=password,
        signing_key=key,
        sims_=specs,
        device_id=args.device,
        rate_per_minute=args.rate,
        working_hours=args.hours,
        actor=actor(),
    )
    url = settings.public_url + WEBHOOK_PATH.format(gateway=args.name)
    return answer(
        args.json,
        {"id": gateway_id, "name": args.name, "webhook_url": url},
        [
            f"Gateway {args.name} added ({len(specs)} SIM{'s' * (len(specs) > 1)}).",
            f"Its webhooks: benkadi gateways register-webhooks {args.name}  (→ {url})",
        ],
    )


def _sims(row: dict[str, Any]) -> str:
    return ", ".join(f"{s['slot']}:{s['number']} {s['operator']}" for s in row["sims"])


async def list_gateways(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    rows = await store.status(database)
    visible = [{k: v for k, v in row.items() if k != "last_error"} for row in rows]
    return print_rows(
        visible,
        args.json,
        COLUMNS,
        lambda row: (row["name"], row["mode"], row["url"], _sims(row)),
        empty="No gateways. Add one: benkadi gateways add NAME --url URL --sim 1:NUMBER:OPERATOR",
    )


async def remove(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    await store.remove_gateway(database, args.name, actor())
    return answer(
        args.json, {"name": args.name, "removed": True}, [f"Gateway {args.name} removed."]
    )


async def set_rate(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    await store.set_sim_rate(database, args.name, args.slot, args.per_minute, actor())
    result = {"name": args.name, "slot": args.slot, "rate_per_minute": args.per_minute}
    return answer(
        args.json, result, [f"{args.name} SIM {args.slot}: {args.per_minute:g} SMS per minute."]
    )


async def set_hours(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    hours = await store.set_hours(database, args.name, args.hours, actor())
    said = f"sends {hours} (Bamako time)" if hours else "sends at any hour"
    return answer(args.json, {"name": args.name, "working_hours": hours}, [f"{args.name} {said}."])


async def set_connection(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    password = key = None
    if args.password is not None:  # --password alone: BENKADI_GATEWAY_PASSWORD, or asked
        password = _secret(
            args.password, "BENKADI_GATEWAY_PASSWORD", "password", "Password (or cloud token): "
        )
    if args.signing_key is not None:
        key = _secret(
            args.signing_key, "BENKADI_GATEWAY_SIGNING_KEY", "signing_key", "Webhook signing key: "
        )
    changed = await store.set_connection(
        database, args.name, base_url=args.url, password=password, signing_key=key,
        actor=actor(),
    )  # fmt: skip
    return answer(
        args.json,
        {"name": args.name, "changed": changed},
        [f"{args.name}: {', '.join(changed)} changed (its SIMs and members' routes kept)."],
    )


async def status(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    rows = await store.status(database)
    if args.json:
        emit_json(rows)
        return 0
    lines = []
    for row in rows:
        state = "up" if row["up"] else "down"
        for index, sim in enumerate(row["sims"]):
            first = index == 0
            lines.append(
                (
                    row["name"] if first else "",
                    state if first else "",
                    f"{sim['slot']}:{sim['number']} {sim['operator']}",
                    f"{sim['rate_per_minute']:g}",
                    when(row["last_seen"]) if first else "",
                    row["sent_today"] if first else "",
                    row["failed_today"] if first else "",
                    row["queue"] if first else "",
                )
            )
    print_table(STATUS_COLUMNS, lines, empty="No gateways.")
    for row in rows:
        if row["working_hours"]:
            print(f"{row['name']}: sends {row['working_hours']} (Bamako time)")
        if not row["up"] and row["last_error"]:
            print(f"{row['name']}: down since {when(row['down_since'])}: {row['last_error']}")
    return 0


async def register_webhooks(
    database: Database, args: argparse.Namespace, settings: Settings
) -> int:
    configured = await store.load_gateways(database)
    chosen = [g for g in configured if not args.name or g.name in args.name]
    missing = set(args.name or ()) - {g.name for g in chosen}
    if missing:
        raise NotFound(f"no gateway {sorted(missing)[0]!r}", field="name")
    done: dict[str, Any] = {}
    lines = []
    failed = False
    for gateway in chosen:
        url = settings.public_url + WEBHOOK_PATH.format(gateway=gateway.name)
        sender = AndroidSender(gateway)
        await sender.start()
        try:
            events = await sender.register_webhooks(url)
        except Exception as error:  # one phone away must not stop the others
            failed = True
            done[gateway.name] = {"error": str(error)}
            lines.append(f"{gateway.name}: failed: {error}")
        else:
            done[gateway.name] = {"url": url, "events": events}
            lines.append(f"{gateway.name}: {', '.join(events)} → {url}")
        finally:
            await sender.stop()
    answer(args.json, done, lines or ["No gateways."])
    return 1 if failed else 0


def register(commands: Commands) -> None:
    """Add `gateways` and its verbs to the `benkadi` parser."""
    as_json = json_flag()
    verbs = noun(commands, "gateways", "Android phones sending SMS from Malian SIMs")
    command = verbs.add_parser("add", parents=[as_json], help="register a phone and its SIMs")
    names(command, "name", metavar="NAME")
    command.add_argument("--url", required=True, help="http://<phone>:8080 or the cloud's URL")
    command.add_argument("--login", default="sms", help="the local server's user (default sms)")
    command.add_argument("--cloud", action="store_true", help="cloud/private: a bearer token")
    command.add_argument("--password", help="or BENKADI_GATEWAY_PASSWORD, or asked")
    command.add_argument("--signing-key", help="or BENKADI_GATEWAY_SIGNING_KEY, or asked")
    command.add_argument("--device", help="cloud: the device id of this phone")
    command.add_argument(
        "--sim",
        action="append",
        metavar="SLOT:NUMBER:OPERATOR[:PRICE[:PER_MINUTE]]",
        help="a SIM (repeat for a dual-SIM phone); default rate 1 SMS/min (Android's 30/30 min)",
    )
    command.add_argument("--rate", type=float, help="the whole phone's SMS per minute, if capped")
    command.add_argument("--hours", help='working hours, Bamako time, e.g. "08:00-20:00"')
    command.set_defaults(action=add)
    command = verbs.add_parser("list", parents=[as_json], help="every phone, never its secrets")
    command.set_defaults(action=list_gateways)
    command = verbs.add_parser("remove", parents=[as_json], help="forget a phone")
    names(command, "name", metavar="NAME")
    command.set_defaults(action=remove)
    command = verbs.add_parser(
        "set-rate", parents=[as_json], help="a SIM's SMS per minute (after raising Android's)"
    )
    names(command, "name", metavar="NAME")
    command.add_argument("slot", type=int, choices=store.SLOTS, metavar="SLOT")
    command.add_argument("per_minute", type=float, metavar="PER_MINUTE")
    command.set_defaults(action=set_rate)
    command = verbs.add_parser(
        "set-hours", parents=[as_json], help='when the phone sends: "08:00-20:00" or "off"'
    )
    names(command, "name", metavar="NAME")
    command.add_argument("hours", metavar="HOURS")
    command.set_defaults(action=set_hours)
    command = verbs.add_parser(
        "set-connection", parents=[as_json],
        help="a new URL, password or signing key, keeping the SIMs and members' routes",
    )  # fmt: skip
    names(command, "name", metavar="NAME")
    command.add_argument("--url", help="the phone's new address (or the cloud's)")
    command.add_argument(
        "--password", nargs="?", const="", help="alone: BENKADI_GATEWAY_PASSWORD, or asked"
    )
    command.add_argument(
        "--signing-key", nargs="?", const="", help="alone: BENKADI_GATEWAY_SIGNING_KEY, or asked"
    )
    command.set_defaults(action=set_connection)
    command = verbs.add_parser("status", parents=[as_json], help="up or down, sent, failed, queue")
    command.set_defaults(action=status)
    command = verbs.add_parser(
        "register-webhooks", parents=[as_json], help="point each phone's webhooks at Benkadi"
    )
    command.add_argument("name", nargs="*", metavar="NAME", help="only these (default: all)")
    command.set_defaults(action=register_webhooks, subject="name")
