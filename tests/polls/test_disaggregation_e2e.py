"""Disaggregation end to end: members of known sex and age band answer a poll by SMS; the
results by sex and age band are exactly their answers, and every group or count of fewer than
five people is shown as "< 5" (with no percentage), while the overall counts stay whole."""

from __future__ import annotations

from broadcasts.polls import results
from broadcasts.polls import service as poll_service
from broadcasts.polls.parse import parse_poll_json
from storage.models import Member
from storage.types import utcnow
from tests.polls.conftest import ALL_CHANNELS, add_member

POLL = {
    "slug": "acces-services",
    "title": {"fr": "Accès aux services"},
    "invitation": {"fr": "Benkadi : une question. Répondez OUI ou NON."},
    "questions": [{"key": "service", "kind": "yes_no", "text": {"fr": "Un service VBG près de chez vous ?"}}],
}  # fmt: skip
# (sex, age band, answer) × how many
PEOPLE = [("f", "15-24", "oui")] * 5 + [("f", "15-24", "non")] * 2 + [("m", "36+", "non")] * 5
PEOPLE += [("f", "25-35", "oui")] * 2


async def test_results_by_sex_and_age_band_match_the_answers_and_hide_small_cells(harness):
    h = harness
    numbers = []
    for n, (sex, band, _answer) in enumerate(PEOPLE):
        number = f"+2237600{n:04d}"
        member_id = await add_member(
            h.database, f"Membre {n}", channel="sms", address=number, language="fr",
            region="mopti", organisation="Musow ka Jɛ", kind="association",
        )  # fmt: skip
        async with h.database.transaction() as connection:
            await connection.execute(
                Member.__table__.update()
                .where(Member.__table__.c.id == member_id)
                .values(sex=sex, age_band=band)
            )
        numbers.append(number)
    await poll_service.save(h.database, parse_poll_json(POLL), "test", utcnow())
    launched = await poll_service.launch(
        h.database, "acces-services", "test", enabled_channels=ALL_CHANNELS, now=utcnow()
    )
    assert launched["invited"] == len(PEOPLE)
    h.dispatcher.wake()
    for number in numbers:
        await h.sms_replies(number, 1)  # the invitation
        assert (await h.sms(number, "OUI")).status == 200  # to take part: the question comes
    for number, (_sex, _band, answer) in zip(numbers, PEOPLE, strict=True):
        await h.sms_replies(number, 2)
        assert (await h.sms(number, answer)).status == 200
    await h.settle()

    result = await results.compute(h.database, "acces-services")
    [question] = result["questions"]

    def counts(group: dict) -> tuple:
        return group["answered"], {o["key"]: (o["count"], o["percent"]) for o in group["options"]}

    # Overall: not a breakdown, whole.
    assert question["answered"] == 14
    assert {o["key"]: o["count"] for o in question["options"]} == {"yes": 7, "no": 7}
    by_sex, by_age = question["by"]["sex"], question["by"]["age_band"]
    # 9 women answered yes or no: with "no" hidden, "yes" (7) would tell it (9 - 7): hidden too.
    assert counts(by_sex["f"]) == (9, {"yes": ("x", None), "no": ("< 5", None)})
    assert counts(by_sex["m"]) == (5, {"yes": (0, 0.0), "no": (5, 100.0)})
    assert counts(by_age["15-24"]) == (7, {"yes": ("x", None), "no": ("< 5", None)})
    assert counts(by_age["36+"]) == (5, {"yes": (0, 0.0), "no": (5, 100.0)})
    assert counts(by_age["25-35"]) == ("< 5", {"yes": ("< 5", None), "no": ("< 5", None)})
    assert "< 5" in result["small_cells"]


def test_a_poll_audience_targets_sex_and_age_band():
    import pytest

    from broadcasts.polls.parse import PollError

    data = {
        **POLL,
        "audience": {"sexes": ["f"], "age_bands": ["15-24", "25-35"], "regions": ["mopti"]},
    }
    audience = parse_poll_json(data).audience
    assert (audience.sexes, audience.age_bands, audience.regions) == (
        ("f",), ("15-24", "25-35"), ("mopti",),
    )  # fmt: skip
    with pytest.raises(PollError, match=r"audience\.age_bands"):
        parse_poll_json({**POLL, "audience": {"age_bands": ["jeunes"]}})
