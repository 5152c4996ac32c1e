"""A directory import from start to end, whoever asks (CLI, API, console): read the file,
plan, and — unless it is a dry run — write the plan, queue the invitations and audit it, all
in one transaction. Refused rows are left out and named; the rest goes in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import invitations
from storage import audit, directory
from storage.database import Database
from storage.directory_file import read_directory
from storage.suppression import SuppressionKey


async def run_import(
    database: Database,
    raw: bytes,
    filename: str,
    actor: str,
    *,
    dry_run: bool,
    now: datetime,
    erasure_key: SuppressionKey,
    holder: str | None = None,
    sms_route: bool = True,
) -> dict[str, Any]:
    """The plan's summary (see storage.directory.Plan.summary), plus, once written,
    `invited`: how many invitations were queued. FieldErrors if the file cannot be read.

    `erasure_key`: the deployment's key of the erasure suppression list (gateway/secret.py):
    whoever erased themselves is neither created nor invited again. `sms_route` False (no
    Twilio, no phone): the invitations queued wait in the outbox until a route exists, and the
    summary says so (`invitations_waiting`)."""
    parsed = read_directory(raw, filename)
    async with database.transaction() as connection:
        plan = await directory.plan(connection, parsed, erasure_key)
        summary = plan.summary()
        summary["file"], summary["dry_run"] = filename, dry_run
        if parsed.encoding:
            summary["encoding"] = parsed.encoding
        if dry_run:
            return summary
        written = await directory.apply(connection, plan, now)
        invited = await invitations.invite(
            connection, written["created"] + written["merged"], now, holder, erasure_key
        )
        summary["invited"] = len(invited)
        if invited and not sms_route:
            summary["invitations_waiting"] = len(invited)
        details = {
            key: summary[key]
            for key in (
                "file",
                "rows",
                "created",
                "merged",
                "refused",
                "erased",
                "telegram_only",
                "organisations_created",
            )
        } | {"invited": len(invited)}
        await audit.record(connection, actor, "members.import", None, details)
    return summary
