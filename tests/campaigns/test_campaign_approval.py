"""A campaign message goes out only once its year's texts are approved; a text edited for the
year replaces the file's in what is sent, and withdraws the approval until approved again
(who and when in the audit log); bad texts are refused on their field, all at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.vocabulary.errors import FieldErrors
from broadcasts.campaigns import approval
from broadcasts.campaigns import service as campaign_service
from broadcasts.campaigns.files import load_directory
from broadcasts.campaigns.runner import CampaignRunner
from storage.models import AuditEntry, Broadcast
from tests.campaigns.conftest import ALL_CHANNELS, QUIET, at, made

RAPPEL = at(2026, 3, 1, 10)
NOW = datetime(2026, 2, 20, 9, tzinfo=UTC)


async def test_sent_only_when_approved_and_with_the_edited_text(
    database, membership, campaigns_dir
):
    essai = load_directory(campaigns_dir)
    scheduler = CampaignRunner(database, campaigns_dir, quiet_hours=QUIET)
    await campaign_service.set_enabled(database, essai, "essai", 2026, True, "awa")
    assert await scheduler.run_due(RAPPEL, ALL_CHANNELS) == []  # enabled, not approved
    await approval.approve(database, essai, "essai", 2026, "console:awa", NOW)
    new_text = "Le 8 mars approche : préparez vos activités avec la coordination."
    await approval.edit_texts(
        database, essai, "essai", "rappel", 2026, {"fr": new_text, "bm": ""}, "console:binta", NOW
    )
    assert await scheduler.run_due(RAPPEL, ALL_CHANNELS) == []  # the edit withdrew it
    await approval.approve(database, essai, "essai", 2026, "console:awa", NOW)
    [broadcast_id] = await scheduler.run_due(RAPPEL.replace(minute=5), ALL_CHANNELS)
    assert [m[:3] for m in await made(database)] == [("essai", "rappel", 2026)]
    async with database.sessions() as session:
        texts = await session.scalar(select(Broadcast.texts).where(Broadcast.id == broadcast_id))
        actions = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor).where(
                    AuditEntry.action.in_(("campaign.approve", "campaign.texts"))
                )
            )
        ).all()
    assert texts["fr"] == new_text
    assert actions == [
        ("campaign.approve", "console:awa"),
        ("campaign.texts", "console:binta"),
        ("campaign.approve", "console:awa"),
    ]


async def test_bad_texts_are_refused_on_their_fields(database, campaigns_dir):
    essai = load_directory(campaigns_dir)
    with pytest.raises(FieldErrors) as refused:
        await approval.edit_texts(
            database, essai, "essai", "rappel", 2026,
            {"fr": "", "bm": "trop long " * 80, "xx": "?"}, "console:awa", NOW,
        )  # fmt: skip
    assert {e.field for e in refused.value.errors} == {"texts.fr", "texts.bm", "texts.xx"}
