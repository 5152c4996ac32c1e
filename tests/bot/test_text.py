import pytest

from bot.flows.poll import BACK
from bot.vocabulary.phones import mask_phone, normalise_phone
from bot.vocabulary.reference import (
    LANGUAGE_ALIASES,
    LANGUAGE_NAMES,
    REGION_ALIASES,
    REGIONS,
    THEMES,
)
from bot.vocabulary.text import KEYWORDS, NO, SKIP, YES, fold, keyword, match_choice, match_many

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("STOP", "stop"), ("stop.", "stop"), ("Arrêt!", "stop"), ("ARRET", "stop"), ("  arret ", "stop"),
        ("JƆ", "stop"), ("jo", "stop"), ("INSCRIPTION", "register"), ("Join", "register"),
        ("SƐBƐN", "register"), ("sèbèn", "register"), ("aide?", "help"), ("?", "help"), ("DƐMƐ", "help"),
        ("Reprendre", "start"), ("START", "start"), ("oublier", "erase"), ("JƆSI", "erase"),
        ("langue", "language"), ("KAN", "language"), ("profil", "profile"), ("LIER", "link"),
        ("/start", "start"), ("annuler", "cancel"),
        ("WINNDITO", "register"), ("HAƁƁU", "link"), ("habbu", "link"), ("ƊEMNGAL", "language"),
        ("FUƊƊO", "start"), ("fuddo!", "start"), ("DARO", "stop"), ("MOMTU", "erase"), ("GOLLE", "report"),
        ("HANTUM", "register"), ("NAŊ", "cancel"), ("nang", "cancel"), ("SINTIN", "start"),
        ("FAY", "stop"), ("TUUSU", "erase"), ("Hãa", "poll"), ("SENNI", "language"),
        ("KABAARU AM", "my_data"), ("ay alhabarey", "my_data"), ("N KA KUNNAFONIW", "my_data"),
    ],
)  # fmt: skip
def test_keywords_match_whatever_the_case_accents_and_punctuation(typed, command):
    assert keyword(typed) == command


@pytest.mark.parametrize("typed", ["stop please", "bonjour", "", "Awa Traoré"])
def test_sentences_are_not_keywords(typed):
    assert keyword(typed) is None


def test_no_word_belongs_to_two_commands():
    seen: dict[str, str] = {}
    for command, words in KEYWORDS.items():
        for word in words:
            assert seen.setdefault(word, command) == command, (word, seen[word], command)


def test_no_keyword_is_an_answer():
    """A keyword is taken before the answer to a question: none may be a yes, a no, a skip, a
    poll's back, a language's name, or a region (its name, or the start of one, which a choice
    question would take: Songhay's "kay" would be Kayes)."""
    answers = YES | NO | SKIP | BACK | set(LANGUAGE_ALIASES) | {fold(n) for _, n in LANGUAGE_NAMES}
    for command, words in KEYWORDS.items():
        for word in words:
            assert word not in answers, (command, word)
            assert match_choice(word, REGIONS, REGION_ALIASES) is None, (command, word)
    assert not (YES & NO) and not (YES & SKIP) and not (NO & SKIP)


def test_fold():
    assert fold("  Ségou,  SIKASSO. ") == "segou, sikasso"
    assert fold("Ɲɛnɛma ŋ") == "nyenema ng"


@pytest.mark.parametrize("typed", ["4", "4.", " 4 ", "sikasso", "SIKASSO.", "Sikasso ", "sika"])
def test_choices_parse_tolerantly(typed):
    assert match_choice(typed, REGIONS, REGION_ALIASES) == "sikasso"


@pytest.mark.parametrize("typed", ["0", "21", "tokyo", "k", ""])
def test_unknown_choices_are_none(typed):
    assert match_choice(typed, REGIONS, REGION_ALIASES) is None


@pytest.mark.parametrize("typed", ["1,6", "1 6", "1, 6", "1 et 6", "1;6", "vbg jeunesse", "6 1 1"])
def test_several_choices(typed):
    assert sorted(match_many(typed, THEMES)) == ["jeunesse", "vbg"]


def test_several_choices_reject_any_unknown_part():
    assert match_many("1 9", THEMES) is None


@pytest.mark.parametrize(
    "typed",
    ["76 12 34 56", "0022376123456", "+223 76-12-34-56", "+22376123456", "whatsapp:+22376123456"],
)
def test_phone_numbers_normalise_to_one_e164(typed):
    assert normalise_phone(typed) == "+22376123456"


@pytest.mark.parametrize("typed", ["12", "hello", "+223 12 34", ""])
def test_invalid_phone_numbers(typed):
    assert normalise_phone(typed) is None


def test_masked_phone_shows_only_the_ends():
    assert mask_phone("+22376123456") == "+223 76 •• •• 56"
