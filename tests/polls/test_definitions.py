"""Poll files: the shipped one is valid; bad ones are refused with file:line and the field."""

from __future__ import annotations

import pytest

from bot.vocabulary.i18n import LANGUAGES
from broadcasts.polls.model import DIMENSIONS, Poll
from broadcasts.polls.parse import PollError, parse_poll, parse_poll_json
from tests.polls.conftest import CAPACITY, capacity_poll

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

SMALL = """\
slug = "essai"
title = "Essai"
invitation = "Un sondage : envoyez SONDAGE pour commencer."

[[questions]]
key = "couleur"
kind = "single"
text = { fr = "Votre couleur ?", bm = "I ka kulɛri ?" }
[[questions.options]]
key = "rouge"
text = "Rouge"
[[questions.options]]
key = "bleu"
text = "Bleu"

[[questions]]
key = "combien"
kind = "number"
min = 0
max = 10
ask_if = { question = "couleur", in = ["bleu"] }
text = "Combien ?"
"""


def test_the_shipped_capacity_poll():
    poll = capacity_poll()
    assert 8 <= len(poll.questions) <= 12
    assert {q.dimension for q in poll.questions} >= set(DIMENSIONS)
    every = set(LANGUAGES)
    for question in poll.questions:  # every language for every question and option
        assert set(question.texts) == every, question.key
        assert all(set(o.texts) == every for o in question.options if o.texts)
    assert set(poll.title) == set(poll.invitation) == set(poll.reminder) == every
    assert poll.reminder_days
    assert poll.review_pending == {"bm", "ff", "ses"}  # no native speaker has read them yet
    assert Poll.from_json(poll.to_json()) == poll  # stored as JSON, read back the same


def test_the_review_table_of_a_poll():
    assert parse_poll(SMALL, "essai.toml", "essai").review_pending == frozenset()
    poll = parse_poll(
        SMALL.replace("[[questions]]", '[review]\npending = ["ses"]\n\n[[questions]]', 1),
        "essai.toml",
        "essai",
    )
    assert poll.review_pending == {"ses"} and Poll.from_json(poll.to_json()) == poll
    with pytest.raises(PollError, match=r"essai.toml:6: review.pending: 'xx': unknown language"):
        parse_poll(
            SMALL.replace("[[questions]]", '[review]\npending = ["xx"]\n\n[[questions]]', 1),
            "essai.toml",
            "essai",
        )


def test_a_small_poll_and_its_condition():
    poll = parse_poll(SMALL, "essai.toml", "essai")
    assert [q.kind for q in poll.questions] == ["single", "number"]
    assert poll.next_question("couleur", {"couleur": ["rouge"]}) is None
    assert poll.next_question("couleur", {"couleur": ["bleu"]}).key == "combien"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            ('kind = "single"', 'kind = "several"'),
            "essai.toml:7: questions[1].kind: must be one of",
        ),
        (('key = "bleu"', 'key = "rouge"'), "essai.toml:13: questions[1].options[2].key"),
        (("max = 10", "max = -1"), "essai.toml:20: questions[2].max: a number question needs"),
        (('in = ["bleu"]', 'in = ["vert"]'), "essai.toml:21: questions[2].ask_if.in[1]"),
        (('question = "couleur"', 'question = "plus-tard"'), "questions[2].ask_if.question"),
        (('text = { fr = "Votre', 'text = { xx = "?", fr = "Votre'), "questions[1].text.xx"),
        (('slug = "essai"', 'slug = "autre"'), "essai.toml:1: slug: must be the file's name"),
        (("min = 0", "min = 0\ncolour = 1"), "essai.toml:20: questions[2].colour: unknown key"),
        (('title = "Essai"', "title = ["), "essai.toml:3: toml:"),
    ],
)
def test_malformed_files_name_file_line_and_field(change, where):
    old, new = change
    assert old in SMALL
    with pytest.raises(PollError) as raised:
        parse_poll(SMALL.replace(old, new, 1), "essai.toml", "essai")
    assert where in str(raised.value)


def test_a_question_too_long_for_one_sms_is_refused():
    text = SMALL.replace('text = "Combien ?"', 'text = "' + "Combien de personnes ? " * 8 + '"')
    with pytest.raises(PollError, match=r"essai.toml:22: questions\[2\].text.fr: is 2 SMS"):
        parse_poll(text, "essai.toml", "essai")


def test_the_api_json_gets_the_same_checks():
    data = {
        "slug": "essai",
        "title": {"fr": "Essai"},
        "invitation": {"fr": "Répondez OUI."},
        "questions": [{"key": "ok", "kind": "yes_no", "text": {"fr": "Ça va ?"}}],
    }
    assert parse_poll_json(data).questions[0].option_keys == ("yes", "no")
    data["questions"][0]["kind"] = "maybe"
    with pytest.raises(PollError, match=r"questions\[1\].kind"):
        parse_poll_json(data)


def test_capacity_file_is_read_from_disk():
    assert CAPACITY.exists()
