"""Campaign and poll files name WhatsApp templates like a broadcast does; errors name the line
and the field."""

from __future__ import annotations

import pytest

from broadcasts.campaigns.calendar import CampaignError, parse_campaign
from broadcasts.model import NEXT_CHANNEL, WhatsAppPlan
from broadcasts.polls.model import Poll
from broadcasts.polls.parse import PollError, parse_poll
from tests.campaigns.conftest import SMALL as CAMPAIGN
from tests.polls.test_definitions import SMALL as POLL

pytestmark = pytest.mark.unit

TABLE = """
fallback = false

[whatsapp]
templates = { fr = "benkadi_campagne", bm = "benkadi_campagne" }
variables = { 1 = "text" }
outside_window = "next_channel"
"""


def with_table(text: str, table: str) -> str:
    """The table goes before the first [table] of the file (top-level keys stay top-level)."""
    head, sep, rest = text.partition("\n[")
    return head + "\n" + table + "\n" + sep.lstrip("\n") + rest


def test_a_campaign_names_its_templates():
    campaign = parse_campaign(with_table(CAMPAIGN, TABLE), "essai.toml", stem="essai")
    plan = WhatsAppPlan({"fr": "benkadi_campagne", "bm": "benkadi_campagne"}, {"1": "text"},
                        NEXT_CHANNEL)  # fmt: skip
    assert (campaign.whatsapp, campaign.fallback) == (plan, False)
    from broadcasts.campaigns import schedule
    from broadcasts.campaigns.model import Occurrence

    slot = next(iter(schedule.schedule(campaign, 2026)))
    draft = Occurrence(slot, {"fr": "Texte"}, "Titre").draft()
    assert (draft.whatsapp, draft.fallback) == (plan, False)


def test_a_poll_names_its_templates_and_keeps_them_as_json():
    poll = parse_poll(with_table(POLL, TABLE), "essai.toml", "essai")
    assert poll.whatsapp is not None and poll.whatsapp.templates["bm"] == "benkadi_campagne"
    assert poll.fallback is False
    assert Poll.from_json(poll.to_json()) == poll


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ('[whatsapp]\ntemplates = { xx = "t" }\n', "whatsapp.templates.xx"),
        ('[whatsapp]\noutside_window = "sms"\n', "whatsapp.outside_window"),
        ("fallback = 3\n", "fallback"),
    ],
)
def test_bad_tables_name_line_and_field(table, field):
    with pytest.raises(CampaignError) as campaign:
        parse_campaign(with_table(CAMPAIGN, table), "essai.toml", stem="essai")
    with pytest.raises(PollError) as poll:
        parse_poll(with_table(POLL, table), "essai.toml", "essai")
    for caught in (campaign.value, poll.value):
        assert caught.field == field and caught.line is not None
