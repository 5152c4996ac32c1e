"""The catalogs: complete in every language, consistent placeholders, in step with the source code,
and every entry nobody has reviewed says so."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.flows.poll import BACK
from bot.vocabulary.i18n import REVIEW_MARK
from bot.vocabulary.sms_text import cheapest_sms_text, gsm_friendly, sms_size
from bot.vocabulary.text import KEYWORDS, SKIP, YES, fold

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
PLACEHOLDER = re.compile(r"\{\w+\}")
KEYWORDS_BY_WORD = {word: command for command, words in KEYWORDS.items() for word in words}


def catalog(language: str):
    with (LOCALES / language / "LC_MESSAGES" / "benkadi.po").open("rb") as handle:
        return read_po(handle, locale=language)


def template_ids() -> set[str]:
    with (LOCALES / "benkadi.pot").open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


def test_template_is_in_step_with_the_code(tmp_path):
    """Every string marked in the code is in the template: nothing member-facing escapes."""
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "N_", "-k", "_", "-o", str(fresh), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with fresh.open("rb") as handle:
        extracted = {message.id for message in read_po(handle) if message.id}
    assert extracted == template_ids()


@pytest.mark.parametrize("language", ["bm", "ff", "ses", "en"])
def test_catalog_is_complete(language):
    messages = {m.id: m for m in catalog(language) if m.id}
    assert set(messages) == template_ids()
    untranslated = [mid for mid, m in messages.items() if not m.string.strip() or m.fuzzy]
    assert untranslated == []


@pytest.mark.parametrize("language", ["bm", "ff", "ses"])
def test_unreviewed_entries_say_so(language):
    """Nobody who speaks Bambara, Fulfulde or Songhay natively has read these yet: every entry
    carries the translator comment the status counts, until a reviewer removes it."""
    unmarked = [m.id for m in catalog(language) if m.id and REVIEW_MARK not in m.user_comments]
    assert unmarked == []


@pytest.mark.parametrize("language", ["bm", "en", "ff", "ses"])
def test_placeholders_are_kept(language):
    for message in catalog(language):
        if message.id and message.string:
            assert set(PLACEHOLDER.findall(message.string)) == set(
                PLACEHOLDER.findall(message.id)
            ), message.id


@pytest.mark.parametrize("language", ["bm", "ff", "ses", "en"])
def test_no_more_sms_than_french(language):
    """As SMS sends it (the GSM-friendly spelling when shorter), never more SMS than French."""
    for message in catalog(language):
        if message.id:
            french = sms_size(cheapest_sms_text(message.id)).segments
            assert sms_size(cheapest_sms_text(message.string)).segments <= french, message.string


# Capitalised words in a message that are names, not keywords to send.
NOT_KEYWORDS = {
    "sms", "osc", "cso", "ong", "ngo", "vbg", "ssr", "srh", "gbv", "bot", "benkadi", "telegram", "mali",
}  # fmt: skip


@pytest.mark.parametrize("language", ["fr", "bm", "ff", "ses", "en"])
def test_every_word_a_message_asks_for_is_a_keyword(language):
    """ "Send WINNDITO" must work: every word in capitals a message shows is a keyword (or a skip
    or a poll's back, or a yes: "Reply OUI to join"), in the language's spelling and in the
    GSM-friendly one."""
    words = set(KEYWORDS_BY_WORD) | SKIP | BACK | YES
    for message in catalog("en" if language == "fr" else language):
        if not message.id:
            continue
        text = message.id if language == "fr" else message.string
        for written in (text, cheapest_sms_text(text), gsm_friendly(text)):
            tokens = re.findall(r"[^\W\d_]+", written)
            for n, token in enumerate(tokens):
                pairs = {  # the keyword phrases the token is in: "A TO", "N KA KUNNAFONIW"
                    fold(" ".join(tokens[start : start + size]))
                    for size in (2, 3)
                    for start in range(max(n - size + 1, 0), n + 1)
                }
                if token.isupper() and len(token) > 1 and fold(token) not in NOT_KEYWORDS:
                    assert fold(token) in words or pairs & words, (language, token, text)  # "A TO"


# French keywords for which Bambara, Fulfulde and Songhay have their own ("What members type").
FRENCH_ONLY_KEYWORDS = {
    "INSCRIPTION", "AIDE", "PROFIL", "LANGUE", "OUBLIER", "LIER", "ANNULER", "RAPPORT", "SONDAGE",
    "PASSER", "RETOUR",
}  # fmt: skip


@pytest.mark.parametrize("language", ["bm", "ff", "ses"])
def test_a_message_asks_for_the_languages_own_keyword(language):
    """A Songhay text says TUUSU, not OUBLIER: the word the member reads is one of theirs."""
    for message in catalog(language):
        if message.id:
            words = set(re.findall(r"[^\W\d_]+", message.string))
            assert not words & FRENCH_ONLY_KEYWORDS, (language, message.string)


@pytest.mark.parametrize(("language", "other"), [("ses", "war"), ("ff", "maa")])
def test_one_form_of_address_throughout(language, other):
    """Songhay addresses the member as "wor", Fulfulde as "on"/"mon" (plural, polite), in every
    entry: not "war" or "maa" in the entries written later."""
    for message in catalog(language):
        if message.id:
            assert not re.search(rf"\b{other}\b", message.string, re.IGNORECASE), message.string
