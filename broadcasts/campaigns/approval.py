"""Campaign texts edited for a year, and their approval: the console's and the API's part.

A message's texts for a year (language → text, French required, at most the SMS a campaign
text may be) replace the file's for that year only; the shipped TOML stays the default a new
year starts from. A year goes out only once its texts are approved (who and when audited),
and an edit withdraws the approval (storage.campaign_texts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.vocabulary.errors import FieldError, FieldErrors
from bot.vocabulary.i18n import LANGUAGES
from broadcasts.campaigns import schedule
from broadcasts.campaigns.files import Calendar
from broadcasts.campaigns.service import check_year
from broadcasts.campaigns.texts import too_long
from storage import campaign_texts
from storage.database import Database


def checked_texts(texts: Any, gsm_safe: bool) -> dict[str, str]:
    """Language → text, or every bad field at once."""
    if not isinstance(texts, dict):
        raise FieldError("texts", 'must be { "fr": "…", "bm": "…" }')
    errors: list[FieldError] = []
    kept: dict[str, str] = {}
    for language, text in texts.items():
        if language not in LANGUAGES:
            errors.append(FieldError(f"texts.{language}", "unknown language"))
            continue
        if not isinstance(text, str):
            errors.append(FieldError(f"texts.{language}", "must be text"))
            continue
        if not text.strip():
            continue  # left empty: the member gets the French text
        why = too_long(text.strip(), gsm_safe)
        if why:
            errors.append(FieldError(f"texts.{language}", why))
        kept[language] = text.strip()
    if "fr" not in kept:
        errors.append(FieldError("texts.fr", "the French text is required"))
    if errors:
        raise FieldErrors(errors)
    return kept


async def edit_texts(
    database: Database,
    cal: Calendar,
    name: str,
    message: str,
    year: Any,
    texts: Any,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    campaign = cal.get(name)
    year = check_year(year)
    keys = {occurrence.key for occurrence in schedule.occurrences(campaign, year)}
    if message not in keys:
        raise FieldError("message", f"{name} has no message {message!r} in {year}")
    kept = checked_texts(texts, campaign.sms_gsm_safe)
    async with database.transaction() as connection:
        await campaign_texts.save_texts(connection, campaign.name, message, year, kept, actor, now)
    return {"campaign": campaign.name, "message": message, "year": year, "texts": kept,
            "approved": False}  # fmt: skip


async def approve(
    database: Database, cal: Calendar, name: str, year: Any, actor: str, now: datetime
) -> dict[str, Any]:
    campaign = cal.get(name)
    year = check_year(year)
    async with database.transaction() as connection:
        await campaign_texts.approve(connection, campaign.name, year, actor, now)
    return {"campaign": campaign.name, "year": year, "approved_by": actor,
            "approved_at": now.isoformat()}  # fmt: skip


async def year_state(database: Database, name: str, year: int) -> dict[str, Any]:
    """The year's edited texts and approval, for the console and the API."""
    async with database.sessions() as session:
        connection = await session.connection()
        edited = await campaign_texts.overrides(connection, name, year)
        approved = await campaign_texts.approval(connection, name, year)
    return {
        "edited": edited,
        "approved_by": approved.approved_by if approved else None,
        "approved_at": approved.approved_at.isoformat() if approved else None,
    }
