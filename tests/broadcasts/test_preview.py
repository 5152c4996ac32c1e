"""Preview: who would be reached, each text as each channel gets it, SMS encoding and cost."""

from __future__ import annotations

import pytest

from bot.vocabulary.sms_text import gsm_friendly
from broadcasts import service
from broadcasts.model import Audience, Draft
from broadcasts.preview import summarise
from tests.broadcasts.conftest import ALL_CHANNELS, BAMBARA

FRENCH = "Réunion des organisations vendredi à 9h au siège. Venez nombreuses !"  # GSM-7


def test_bambara_is_ucs2_as_written_and_gsm7_in_the_older_spelling():
    draft = Draft(texts={"fr": FRENCH, "bm": BAMBARA})
    preview = summarise(
        draft,
        [("sms", "bm", 10), ("telegram", "bm", 4), ("sms", "fr", 3)],
        {"opted_out": 2},
        enabled_channels=ALL_CHANNELS,
        price_per_segment=0.05,
    )
    sms = preview["texts"]["bm"]["channels"]["sms"]
    assert sms["as_written"] == {
        "text": BAMBARA,
        "encoding": "UCS-2",
        "characters": 100,
        "units": 100,
        "segments": 2,
    }
    assert sms["gsm_friendly"] == {
        "text": gsm_friendly(BAMBARA),
        "encoding": "GSM-7",
        "characters": 101,  # ɲ → ny
        "units": 101,
        "segments": 1,
    }
    assert (sms["sent"], sms["segments"], sms["members"], sms["total_segments"]) == (
        "gsm_friendly",
        1,
        10,
        10,
    )
    telegram = preview["texts"]["bm"]["channels"]["telegram"]
    assert telegram == {"members": 4, "text": BAMBARA}
    assert preview["texts"]["fr"]["channels"]["sms"]["sent"] == "as_written"
    assert preview["sms"] == {
        "gsm_safe": True,
        "recipients": 13,
        "segments": 13,
        "price_per_segment": 0.05,
        "currency": "USD",
        "estimated_cost": pytest.approx(0.65),
    }
    assert preview["recipients"] == 17
    assert preview["excluded"] == {
        "total": 2,
        "by_reason": {
            "refused": 0,
            "invited": 0,
            "no_consent": 0,
            "opted_out": 2,
            "blocked": 0,
            "invalid": 0,
            "no_channel": 0,
        },
    }


def test_as_written_when_gsm_friendly_spelling_is_refused():
    draft = Draft(texts={"fr": FRENCH, "bm": BAMBARA}, sms_gsm_safe=False)
    preview = summarise(
        draft,
        [("sms", "bm", 10)],
        {},
        enabled_channels={"sms"},
        price_per_segment=25,
        currency="XOF",
    )
    sms = preview["texts"]["bm"]["channels"]["sms"]
    assert (sms["sent"], sms["segments"], sms["total_segments"]) == ("as_written", 2, 20)
    assert (preview["sms"]["estimated_cost"], preview["sms"]["currency"]) == (500, "XOF")
    assert preview["channels"] == ["sms"]


def test_languages_without_a_text_read_french():
    draft = Draft(texts={"fr": FRENCH, "bm": BAMBARA})
    preview = summarise(
        draft, [("sms", "ff", 2)], {}, enabled_channels=ALL_CHANNELS, price_per_segment=1
    )
    assert list(preview["texts"]) == ["fr", "bm", "ff"]  # the texts written, then who reads French
    ff = preview["texts"]["ff"]
    assert (ff["text_language"], ff["members"]) == ("fr", 2)
    assert ff["channels"]["whatsapp"] == {"members": 0, "text": FRENCH}
    assert preview["texts"]["bm"]["members"] == 0  # written, read by nobody in this audience


async def test_preview_of_the_membership(database, membership):
    draft = Draft(texts={"fr": FRENCH, "bm": BAMBARA}, audience=Audience(channels=("sms",)))
    preview = await service.preview(
        database, draft, enabled_channels=ALL_CHANNELS, price_per_segment=25.0, currency="XOF"
    )
    # SMS: Awa and Oumou (fr), Salimata (ff → fr), 1 segment each; Binta and Coumba (bm),
    # 1 segment each in the older spelling.
    assert preview["reached"]["by_channel_and_language"] == {"sms": {"bm": 2, "ff": 1, "fr": 2}}
    assert preview["sms"]["segments"] == 5
    assert preview["sms"]["estimated_cost"] == 125.0
    assert preview["excluded"]["by_reason"]["no_channel"] == 4
