"""Campaigns with their years as the database holds them (storage.campaign_edits and
campaign_texts, made a campaign's YearEdits by broadcasts.campaigns.edits): what the page, the
API, the export and the scheduler read."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from broadcasts.campaigns import edits as pure
from broadcasts.campaigns.model import Campaign
from storage import campaign_edits


async def with_edits(
    connection: Any, campaigns: Collection[Campaign], years: Collection[int]
) -> list[Campaign]:
    """The campaigns with their years' edits from the database (as they are, when none):
    two queries, however many campaigns and years."""
    names = [campaign.name for campaign in campaigns]
    rows = await campaign_edits.year_rows(connection, names, years)
    found = []
    for campaign in campaigns:
        mine = {year: pure.year_edits(rows[(campaign.name, year)])
                for year in years if (campaign.name, year) in rows}  # fmt: skip
        found.append(campaign if not mine else _replace_edits(campaign, mine))
    return found


def _replace_edits(campaign: Campaign, edits: Mapping[int, Any]) -> Campaign:
    for year, year_edits in edits.items():
        campaign = pure.with_year(campaign, year, year_edits)
    return campaign
