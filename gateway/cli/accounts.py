"""`benkadi accounts …`: the web console's per-person accounts, straight on the database.

benkadi accounts add awa --name "Awa Traoré" --role secretariat     (asks for the password)
benkadi accounts passwd awa
benkadi accounts disable awa ; benkadi accounts enable awa
benkadi accounts list
--password-stdin reads the password from the first line of stdin (for scripts).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from bot.vocabulary.errors import FieldError
from gateway.cli.arguments import Commands, json_flag, noun
from gateway.cli.common import actor
from gateway.cli.tables import Column, print_rows
from gateway.settings import Settings
from storage import accounts
from storage.database import Database
from storage.tokens import ROLES

COLUMNS = (
    Column("username", 20),
    Column("role", 12),
    Column("state", 9),
    Column("last sign-in", 16),
    Column("name"),
)


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    accounts.check_password(first)  # too short or too long: said now, not after typing it twice
    if getpass.getpass("Again: ") != first:
        raise FieldError("password", "the two entries differ")
    return first


async def add(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    made = await accounts.create_account(
        database,
        args.username,
        args.name,
        args.role,
        read_password(args),
        actor(),
        languages=(args.languages or "").split(","),
    )
    print(f"account {made.username} ({made.role}) created; sign in at /console/login")
    return 0


async def passwd(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    await accounts.set_password(database, args.username, read_password(args), actor())
    print(f"password of {accounts.clean_username(args.username)} changed")
    return 0


async def disable(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    changed = await accounts.set_disabled(database, args.username, True, actor())
    print(f"{args.username}: {'disabled' if changed else 'was already disabled'}")
    return 0


async def enable(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    changed = await accounts.set_disabled(database, args.username, False, actor())
    print(f"{args.username}: {'enabled' if changed else 'was already enabled'}")
    return 0


def _cells(row: dict[str, Any]) -> tuple[object, ...]:
    last = row["last_login_at"]
    return (
        row["username"],
        row["role"],
        "disabled" if row["disabled_at"] else "active",
        last.strftime("%Y-%m-%d %H:%M") if last else "never",
        row["name"],
    )


async def list_accounts(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    rows = await accounts.list_accounts(database)
    empty = "No accounts. Create one: benkadi accounts add USERNAME --name NAME --role ROLE"
    return print_rows(rows, args.json, COLUMNS, _cells, empty=empty)


def register(commands: Commands) -> None:
    """Add `accounts` and its verbs to the `benkadi` parser."""
    stdin_flag = argparse.ArgumentParser(add_help=False)
    stdin_flag.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    verbs = noun(commands, "accounts", "web console accounts")
    command = verbs.add_parser("add", parents=[stdin_flag], help="create an account")
    command.add_argument("username")
    command.add_argument("--name", required=True, help="the person's name, shown in the console")
    command.add_argument("--role", required=True, choices=ROLES)
    command.add_argument(
        "--languages", help="a translator's languages, e.g. ff,ses (the texts they may edit)"
    )
    command.set_defaults(action=add)
    command = verbs.add_parser("passwd", parents=[stdin_flag], help="set a new password")
    command.add_argument("username")
    command.set_defaults(action=passwd)
    for name, action, meaning in (
        ("disable", disable, "stop an account signing in (its sessions end too)"),
        ("enable", enable, "let a disabled account sign in again"),
    ):
        command = verbs.add_parser(name, help=meaning)
        command.add_argument("username")
        command.set_defaults(action=action)
    command = verbs.add_parser("list", parents=[json_flag()], help="every account")
    command.set_defaults(action=list_accounts)
