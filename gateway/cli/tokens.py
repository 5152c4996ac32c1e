"""`benkadi tokens create|list|revoke`: the HTTP API's bearer tokens, straight on the database.
A token is shown once, when it is created; only its hash is stored."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gateway.cli.arguments import Commands, json_flag, names, noun, positive_id
from gateway.cli.common import actor, answer, emit_json
from gateway.cli.tables import Column, print_rows
from gateway.settings import Settings
from storage import tokens
from storage.database import Database

COLUMNS = (
    Column("id", 4, right=True),
    Column("name", 24),
    Column("role", 12),
    Column("state", 24),
    Column("last used"),
)


async def create(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    issued = await tokens.issue_token(database, args.name, args.role, actor=actor())
    if args.json:
        emit_json(issued._asdict())
    else:
        print(f"Token {issued.id} ({issued.name}, {issued.role}):\n\n    {issued.token}\n")
    print("Keep it now: it is not shown again (only its hash is stored).", file=sys.stderr)
    return 0


def _cells(row: dict[str, Any]) -> tuple[object, ...]:
    return (
        row["id"],
        row["name"],
        row["role"],
        f"revoked {row['revoked_at'][:16]}" if row["revoked_at"] else "active",
        row["last_used_at"][:16] if row["last_used_at"] else "never",
    )


async def list_tokens(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    empty = "No tokens. Create one: benkadi tokens create --name NAME --role ROLE"
    return print_rows(await tokens.list_tokens(database), args.json, COLUMNS, _cells, empty=empty)


async def revoke(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    newly = await tokens.revoke_token(database, args.id, actor())
    result = {"id": args.id, "revoked": True, "already_revoked": not newly}
    return answer(
        args.json, result, [f"Token {args.id} {'revoked' if newly else 'was already revoked'}."]
    )


def register(commands: Commands) -> None:
    """Add `tokens` and its verbs to the `benkadi` parser."""
    as_json = json_flag()
    verbs = noun(commands, "tokens", "the HTTP API's tokens: create, list, revoke")
    command = verbs.add_parser("create", parents=[as_json], help="issue a token (shown once)")
    command.add_argument("--name", required=True, help="who or what holds it")
    command.add_argument("--role", required=True, choices=tokens.TOKEN_ROLES)
    command.set_defaults(action=create)
    command = verbs.add_parser("list", parents=[as_json], help="every token, never its secret")
    command.set_defaults(action=list_tokens)
    command = verbs.add_parser("revoke", parents=[as_json], help="revoke a token")
    names(command, "id", type=positive_id, metavar="ID")
    command.set_defaults(action=revoke)
