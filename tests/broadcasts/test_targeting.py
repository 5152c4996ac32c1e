"""Targeting, table-driven: for each audience, exactly who is reached, on which channel, and
who is left out and why. Fan-out, preview and the exclusion query must all agree."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from broadcasts import service
from broadcasts.model import Audience, Draft
from storage.audience import exclusions
from storage.models import Member
from tests.broadcasts.conftest import ALL_CHANNELS, outbox_rows

REACHED_BY_DEFAULT = {
    "Awa": "sms",
    "Binta": "telegram",  # telegram before sms
    "Coumba": "whatsapp",  # whatsapp before sms
    "Nana": "telegram",  # telegram before whatsapp
    "Oumou": "sms",  # her telegram opted out, her sms still good
    "Salimata": "sms",  # two numbers: the first one
    "Zeinab": "telegram",
}
EXCLUDED_BY_DEFAULT = {
    "Djeneba": "opted_out",
    "Fatoumata": "blocked",
    "Hawa": "invalid",
    "Kadiatou": "no_consent",
    "Rokia": "no_channel",  # no address at all
    "Tenin": "opted_out",  # one opted out, one invalid: a tie goes to opted_out
    "Yaye": "invalid",  # one blocked, two invalid: the most common mark
    "Assa": "invited",  # imported, has not said OUI: nothing but the invitation
    "Bintou": "refused",  # imported, said STOP
}  # Mariam is erased: neither reached nor excluded, as if she were not there


@dataclass(frozen=True)
class Case:
    label: str
    audience: Audience
    reached: dict[str, str]
    excluded: dict[str, str]
    enabled: frozenset[str] = field(default=ALL_CHANNELS)


def only(mapping: dict[str, str], *names: str) -> dict[str, str]:
    return {name: mapping[name] for name in names}


CASES = (
    Case("everyone", Audience(), REACHED_BY_DEFAULT, EXCLUDED_BY_DEFAULT),
    Case(
        "one region",
        Audience(regions=("kayes",)),
        only(REACHED_BY_DEFAULT, "Coumba"),
        only(EXCLUDED_BY_DEFAULT, "Djeneba", "Tenin"),
    ),
    Case(
        "one theme",
        Audience(themes=("vbg",)),
        only(REACHED_BY_DEFAULT, "Awa", "Coumba", "Nana", "Salimata", "Zeinab"),
        only(EXCLUDED_BY_DEFAULT, "Fatoumata", "Kadiatou"),
    ),
    Case(
        "any of two themes",
        Audience(themes=("education", "climat")),
        only(REACHED_BY_DEFAULT, "Nana"),
        only(EXCLUDED_BY_DEFAULT, "Hawa"),
    ),
    Case(
        "one language",
        Audience(languages=("bm",)),
        only(REACHED_BY_DEFAULT, "Binta", "Coumba"),
        only(EXCLUDED_BY_DEFAULT, "Rokia", "Yaye"),
    ),
    Case(
        "a kind of organisation",
        Audience(organisation_kinds=("association",)),
        only(REACHED_BY_DEFAULT, "Binta", "Coumba", "Nana", "Salimata"),
        only(EXCLUDED_BY_DEFAULT, "Yaye"),
    ),
    Case(
        "one organisation, nobody reachable",
        Audience(organisations=("Réseau Paix",)),
        {},
        only(EXCLUDED_BY_DEFAULT, "Djeneba", "Rokia"),
    ),
    Case(
        "registered since a day, from midnight in Bamako",
        Audience(registered_since=date(2026, 1, 1)),
        only(REACHED_BY_DEFAULT, "Salimata", "Zeinab"),
        {},
    ),
    Case(
        "SMS only",
        Audience(channels=("sms",)),
        {name: "sms" for name in ("Awa", "Binta", "Coumba", "Oumou", "Salimata")},
        {
            **only(
                EXCLUDED_BY_DEFAULT,
                "Djeneba",
                "Hawa",
                "Kadiatou",
                "Rokia",
                "Yaye",
                "Assa",
                "Bintou",
            ),
            "Fatoumata": "no_channel",  # her blocked telegram is not on the channels asked for
            "Nana": "no_channel",
            "Tenin": "invalid",  # only her invalid sms counts
            "Zeinab": "no_channel",
        },
    ),
    Case(
        "asks for telegram and whatsapp, but telegram is off",
        Audience(channels=("telegram", "whatsapp")),
        {"Coumba": "whatsapp", "Nana": "whatsapp"},
        {
            **{
                name: "no_channel"
                for name in ("Awa", "Binta", "Djeneba", "Fatoumata", "Hawa", "Oumou", "Rokia")
            },
            **{"Salimata": "no_channel", "Zeinab": "no_channel", "Kadiatou": "no_consent"},
            **only(EXCLUDED_BY_DEFAULT, "Assa", "Bintou"),
            "Tenin": "opted_out",
            "Yaye": "invalid",
        },
        enabled=frozenset({"sms", "whatsapp"}),
    ),
    Case(
        "women",
        Audience(sexes=("f",)),
        only(REACHED_BY_DEFAULT, "Awa", "Binta", "Nana", "Zeinab"),
        only(EXCLUDED_BY_DEFAULT, "Kadiatou", "Assa", "Bintou"),
    ),
    Case(
        "young people, two bands",
        Audience(age_bands=("15-24", "25-35")),
        only(REACHED_BY_DEFAULT, "Awa", "Binta", "Coumba"),
        only(EXCLUDED_BY_DEFAULT, "Kadiatou", "Assa", "Bintou"),
    ),
    Case(
        "young women in Bamako",
        Audience(sexes=("f",), age_bands=("15-24", "25-35"), regions=("bamako",)),
        only(REACHED_BY_DEFAULT, "Awa", "Binta"),
        {},
    ),
    Case(
        "filters combine",
        Audience(
            regions=("bamako", "mopti"), themes=("jeunesse", "education"), languages=("bm", "en")
        ),
        only(REACHED_BY_DEFAULT, "Binta", "Nana"),
        only(EXCLUDED_BY_DEFAULT, "Yaye"),
    ),
)


async def excluded_by_name(database, audience: Audience, enabled) -> dict[str, str]:
    query = exclusions(audience, enabled, database.engine.dialect.name).subquery()
    members = Member.__table__
    async with database.sessions() as session:
        rows = await session.execute(
            select(members.c.name, query.c.reason).join(query, query.c.member_id == members.c.id)
        )
        return dict(rows.all())


async def test_each_audience_reaches_exactly_its_members(database, membership):
    wrong = []
    for case in CASES:
        draft = Draft(texts={"fr": "Bonjour"}, audience=case.audience)
        preview = await service.preview(
            database, draft, enabled_channels=case.enabled, price_per_segment=0.05
        )
        broadcast_id = await service.create(database, draft, "test")
        queued = await service.send_now(
            database, broadcast_id, "test", enabled_channels=case.enabled
        )
        rows = await outbox_rows(database, broadcast_id)
        reached = {row.name: row.channel for row in rows}
        excluded = await excluded_by_name(database, case.audience, case.enabled)
        expected_by_channel = Counter(case.reached.values())
        observed = {
            "reached": reached,
            "queued": queued,
            "excluded": excluded,
            "preview recipients": preview["recipients"],
            "preview by channel": {k: v for k, v in preview["reached"]["by_channel"].items() if v},
            "preview excluded": {k: v for k, v in preview["excluded"]["by_reason"].items() if v},
        }
        expected = {
            "reached": case.reached,
            "queued": len(case.reached),
            "excluded": case.excluded,
            "preview recipients": len(case.reached),
            "preview by channel": dict(expected_by_channel),
            "preview excluded": dict(Counter(case.excluded.values())),
        }
        if observed != expected:
            wrong.append((case.label, observed, expected))
    assert not wrong, "\n".join(
        f"{label}:\n  got  {got}\n  want {want}" for label, got, want in wrong
    )


async def test_the_first_of_two_numbers_on_one_channel(database, membership):
    broadcast_id = await service.create(
        database, Draft(texts={"fr": "Bonjour"}, audience=Audience(regions=("tombouctou",))), "t"
    )
    await service.send_now(database, broadcast_id, "t", enabled_channels=ALL_CHANNELS)
    (row,) = await outbox_rows(database, broadcast_id)
    assert (row.name, row.recipient) == ("Salimata", "+22376000012")


async def test_preview_counts_per_channel_and_language(database, membership):
    preview = await service.preview(
        database, Draft(texts={"fr": "Bonjour"}), enabled_channels=ALL_CHANNELS, price_per_segment=1
    )
    assert preview["reached"]["by_channel_and_language"] == {
        "telegram": {"bm": 1, "en": 1, "ses": 1},
        "whatsapp": {"bm": 1},
        "sms": {"ff": 1, "fr": 2},
    }
    assert preview["reached"]["by_language"] == {"bm": 2, "en": 1, "fr": 2, "ff": 1, "ses": 1}
    assert preview["excluded"]["total"] == len(EXCLUDED_BY_DEFAULT)
    assert preview["sms"]["recipients"] == 3 and preview["sms"]["segments"] == 3
