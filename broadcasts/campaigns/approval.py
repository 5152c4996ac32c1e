"""Campaign texts edited for a year, and their approval: the console's and the API's part.

A message's texts for a year (language → text, French required, at most the SMS a campaign
text may be) replace the file's for that year only; the shipped TOML stays the default a new
year starts from. A year goes out only once its texts are approved (who and when audited),
and an edit withdraws the approval (storage.campaign_texts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.vocabulary.errors import FieldError
from broadcasts.campaigns import edits, schedule, year_editor
from broadcasts.campaigns.files import Calendar
from broadcasts.campaigns.service import check_year
from storage import campaign_edits, campaign_texts
from storage.database import Database


def checked_texts(texts: Any, gsm_safe: bool) -> dict[str, str]:
    """Language → text, or every bad field at once (broadcasts.campaigns.edits)."""
    return edits.checked_texts(texts, gsm_safe)


async def edit_texts(
    database: Database,
    cal: Calendar,
    name: str,
    message: str,
    year: Any,
    texts: Any,
    actor: str,
    now: datetime,
    revision: Any = None,
) -> dict[str, Any]:
    year = check_year(year)
    campaign = await year_editor.load_year(database, cal, name, year)
    keys = {slot.key for slot in schedule.schedule(campaign, year)}
    if message not in keys:
        raise FieldError("message", f"{name} has no message {message!r} in {year}")
    kept = checked_texts(texts, campaign.sms_gsm_safe)
    expected = year_editor.revision_of(revision)
    async with database.transaction() as connection:
        new = await campaign_edits.bump(connection, campaign.name, year, expected, actor, now)
        await campaign_texts.save_texts(connection, campaign.name, message, year, kept, actor, now)
    return {"campaign": campaign.name, "message": message, "year": year, "texts": kept,
            "approved": False, "revision": new}  # fmt: skip


async def approve(
    database: Database,
    cal: Calendar,
    name: str,
    year: Any,
    actor: str,
    now: datetime,
    revision: Any = None,
) -> dict[str, Any]:
    """The year's texts approved, as they were when the approver saw them: with `revision`,
    refused when someone changed the year since ("modifié entre-temps")."""
    campaign = cal.get(name)
    year = check_year(year)
    expected = year_editor.revision_of(revision)
    async with database.transaction() as connection:
        new = await campaign_edits.bump(connection, campaign.name, year, expected, actor, now)
        await campaign_texts.approve(connection, campaign.name, year, actor, now)
    return {"campaign": campaign.name, "year": year, "approved_by": actor,
            "approved_at": now.isoformat(), "revision": new}  # fmt: skip


async def year_state(database: Database, name: str, year: int) -> dict[str, Any]:
    """The year's edited texts and approval, for the console and the API."""
    async with database.sessions() as session:
        connection = await session.connection()
        edited = await campaign_texts.overrides(connection, name, year)
        approved = await campaign_texts.approval(connection, name, year)
        revision = await campaign_edits.revision(connection, name, year)
    return {
        "revision": revision,
        "edited": edited,
        "approved_by": approved.approved_by if approved else None,
        "approved_at": approved.approved_at.isoformat() if approved else None,
    }


async def approved(database: Database, name: str, year: int) -> dict[str, Any]:
    """Who approved the year's texts and when (both None: not approved, nothing goes out)."""
    state = await year_state(database, name, year)
    return {"approved_by": state["approved_by"], "approved_at": state["approved_at"]}
