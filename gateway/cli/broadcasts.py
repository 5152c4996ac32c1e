"""`benkadi broadcasts preview|create|send|cancel|status|list`, straight on the database.

Drafts go through the same parse_draft as the HTTP API, so both refuse the same things and
name the same fields; nothing is created from a draft that fails.
"""

from __future__ import annotations

import argparse
import functools
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.vocabulary.errors import FieldError
from broadcasts import service
from broadcasts.model import OUTSIDE_WINDOW_CHOICES, REFUSE, Draft, parse_draft
from gateway.cli import progress
from gateway.cli.arguments import Commands, json_flag, names, noun, positive_id
from gateway.cli.broadcast_text import LIST_COLUMNS, list_row, preview_text, status_text
from gateway.cli.common import actor, answer, counted, enabled_channels
from gateway.cli.tables import print_rows
from gateway.settings import Settings
from storage.database import Database

AUDIENCE_OPTIONS = (  # the draft's audience field, the option that fills it
    ("regions", "region"),
    ("themes", "theme"),
    ("languages", "language"),
    ("organisation_kinds", "organisation_kind"),
    ("organisations", "organisation"),
    ("channels", "channel"),
    ("sexes", "sex"),
    ("age_bands", "age_band"),
)


# --- inputs --------------------------------------------------------------------------------
def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        language, sep, value = item.partition("=")
        if not sep or not language.strip():
            raise FieldError("texts", f"{option} takes LANG=VALUE, e.g. {option} fr=…")
        pairs.append((language.strip(), value))
    return pairs


def _names(values: list[str] | None) -> list[str]:
    """Repeated options, each possibly a comma-separated list."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def draft_payload(args: argparse.Namespace) -> dict[str, Any]:
    """The API's JSON body, from the command line's options."""
    texts = dict(_pairs(args.text or [], "--text"))
    for language, path in _pairs(args.text_file or [], "--text-file"):
        try:
            texts[language] = sys.stdin.read() if path == "-" else Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise FieldError(f"texts.{language}", f"cannot read {path}: {reason}") from None
    audience: dict[str, Any] = {
        key: _names(getattr(args, option))
        for key, option in AUDIENCE_OPTIONS
        if getattr(args, option)
    }
    if args.since:
        audience["registered_since"] = args.since
    payload: dict[str, Any] = {
        "texts": texts,
        "audience": audience,
        "sms_gsm_safe": not args.no_gsm_safe,
    }
    if args.title is not None:
        payload["title"] = args.title
    if args.at:
        payload["send_at"] = args.at
    templates = dict(_pairs(args.whatsapp_template or [], "--whatsapp-template"))
    variables = dict(_pairs(args.whatsapp_variable or [], "--whatsapp-variable"))
    if templates or variables or args.outside_window:
        payload["whatsapp"] = {
            "templates": templates,
            "variables": variables,
            "outside_window": args.outside_window or REFUSE,
        }
    if args.no_fallback:
        payload["fallback"] = False
    return payload


async def read_draft(database: Database, args: argparse.Namespace) -> Draft:
    known = await service.known_organisations(database)
    return parse_draft(draft_payload(args), datetime.now(UTC), known)


# --- verbs ---------------------------------------------------------------------------------
async def preview(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    draft = await read_draft(database, args)
    channels, note = await enabled_channels(settings, database)
    result = await service.preview(
        database,
        draft,
        enabled_channels=channels,
        price_per_segment=settings.sms_price_per_segment,
        currency=settings.currency,
    )
    return answer(args.json, result, preview_text(result), note)


async def create(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    draft = await read_draft(database, args)
    if args.send and draft.send_at is not None:
        raise FieldError("send", "--send sends now; leave out --at")
    if args.wait and not args.send:
        raise FieldError("wait", "--wait needs --send")
    if args.send:  # refused before anything is made
        channels, _note = await enabled_channels(settings, database)
        await service.check_templates(database, draft, enabled_channels=channels)
    new_id = await service.create(database, draft, actor())
    if not args.send:
        return await show(database, args, new_id, {})
    return await _send(database, args, settings, new_id)


async def send(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    return await _send(database, args, settings, args.id)


async def _send(
    database: Database, args: argparse.Namespace, settings: Settings, ident: int
) -> int:
    channels, note = await enabled_channels(settings, database)
    queued = await service.send_now(database, ident, actor(), enabled_channels=channels)
    extra: dict[str, Any] = {"queued": queued, **({"note": note} if note else {})}
    if args.wait:
        if not args.json:
            print(
                f"Broadcast {ident}: "
                + counted(queued, "{n} message queued.", "{n} messages queued.")
            )
        last = await progress.follow(functools.partial(service.get_status, database, ident))
        if last is not None and not progress.pending(last):
            # Nothing left to send: marked sent now, as the scheduler would on its next round,
            # so the answer ends on "sent" and not on "sending" after "1/1 delivered".
            await service.finish_completed(database, datetime.now(UTC))
            if not args.json:
                extra.pop("queued")  # said before the wait; what became of them is below
    return await show(database, args, ident, extra)


async def cancel(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    cancelled = await service.cancel(database, args.id, actor())
    return await show(database, args, args.id, {"cancelled": cancelled})


async def status(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    if args.wait:
        await progress.follow(functools.partial(service.get_status, database, args.id))
    return await show(database, args, args.id, {})


async def show(
    database: Database, args: argparse.Namespace, ident: int, extra: dict[str, Any]
) -> int:
    result = {**await service.get_status(database, ident), **extra}
    return answer(args.json, result, status_text(result))


async def list_broadcasts(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    rows = await service.list_broadcasts(database, limit=min(args.limit, 500))
    return print_rows(rows, args.json, LIST_COLUMNS, list_row, empty="No broadcasts yet.")


# --- wiring --------------------------------------------------------------------------------
def _draft_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--title", help="a name for the secretariat's lists (members do not see it)")
    add("--text", action="append", metavar="LANG=TEXT", help="the text in a language (fr needed)")
    add("--text-file", action="append", metavar="LANG=PATH", help="the text from a file (- stdin)")
    for option, meaning in (
        ("--region", "a region key (kayes, sikasso, bamako…)"),
        ("--theme", "a theme key (vbg, participation…)"),
        ("--language", "a member language (fr, bm, ff, ses, en)"),
        ("--organisation-kind", "a kind of organisation"),
        ("--organisation", "an organisation's name, as stored"),
        ("--channel", "telegram, sms or whatsapp"),
        ("--sex", "f or m (members who said)"),
        ("--age-band", "15-24, 25-35 or 36+"),
    ):
        add(option, action="append", metavar="NAME", help=meaning + "; repeat or comma-separate")
    add("--since", metavar="YYYY-MM-DD", help="members registered on or after this day")
    add("--at", metavar="'YYYY-MM-DD HH:MM'", help="send then (Bamako time unless a zone is given)")
    add("--no-gsm-safe", action="store_true", help="over SMS, keep ɛ ɔ ɲ ŋ even if it costs more")
    add(
        "--whatsapp-template",
        action="append",
        metavar="LANG=NAME",
        help="the approved WhatsApp template for members of LANG outside the 24 h window",
    )
    add(
        "--whatsapp-variable",
        action="append",
        metavar="N=SOURCE",
        help="fill template variable N with text, title, or the text given",
    )
    add(
        "--outside-window",
        choices=OUTSIDE_WINDOW_CHOICES,
        help="WhatsApp members outside the window without a template: refuse (default) or "
        "their next channel",
    )
    add(
        "--no-fallback",
        action="store_true",
        help="a channel that cannot carry it to a member does not try their next one",
    )


def register(commands: Commands) -> None:
    """Add `broadcasts` and its verbs to the `benkadi` parser."""
    as_json = json_flag()
    wait_flag = argparse.ArgumentParser(add_help=False)
    wait_flag.add_argument(
        "--wait", action="store_true", help="show a progress bar until nothing is left queued"
    )
    verbs = noun(commands, "broadcasts", "compose, send and follow broadcasts")
    command = verbs.add_parser("preview", parents=[as_json], help="who would get what")
    _draft_options(command)
    command.set_defaults(action=preview)
    command = verbs.add_parser(
        "create",
        parents=[as_json, wait_flag],
        help="save it (scheduled with --at, sent with --send)",
    )
    _draft_options(command)
    command.add_argument("--send", action="store_true", help="and send it now")
    command.set_defaults(action=create)
    for name, action, parents, meaning in (
        ("send", send, [as_json, wait_flag], "send a draft or scheduled broadcast now"),
        ("cancel", cancel, [as_json], "cancel it, and its messages not yet sent"),
        ("status", status, [as_json, wait_flag], "where its messages are, per channel"),
    ):
        command = verbs.add_parser(name, parents=parents, help=meaning)
        names(command, "id", type=positive_id, metavar="ID")
        command.set_defaults(action=action)
    command = verbs.add_parser("list", parents=[as_json], help="the latest broadcasts")
    command.add_argument("--limit", type=positive_id, default=50, help="at most this many")
    command.set_defaults(action=list_broadcasts)
