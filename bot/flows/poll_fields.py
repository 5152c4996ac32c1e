"""How a poll question looks on each channel, and how an answer to it is read. Pure.

Over SMS: the question numbered "3/12", its options as a numbered list; in Telegram: buttons
whose callback data is "p:<poll id>:<question>:<option>" (a multi-select gets ✓ marks and
"Terminé", an optional question "Passer"). Answers are read tolerantly: "2", "2.", "deux",
"fila", the option's text, "1,3", "1 3"; a number from "12", "12 personnes".
"""

from __future__ import annotations

import re

from bot.model import Reply
from bot.render import choice_hint, many_hint, sms_page
from bot.vocabulary.channels import Style
from bot.vocabulary.i18n import _, use_locale
from bot.vocabulary.text import NO, YES, fold, match_choice, match_many
from broadcasts.polls.model import Poll, Question, text_in

NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
# "deux", "fila": numbers as words, French and Bambara.
NUMBER_WORDS = {
    "un": "1", "une": "1", "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "six": "6",
    "sept": "7", "huit": "8", "neuf": "9", "dix": "10", "kelen": "1", "fila": "2", "saba": "3",
    "naani": "4", "duuru": "5", "wooro": "6", "wolonwula": "7", "seegin": "8", "kononto": "9",
}  # fmt: skip


def button_key(poll_id: int, question: str, option: str) -> str:
    return f"p:{poll_id}:{question}:{option}"


def parse_button(data: str | None) -> tuple[int, str, str] | None:
    """(poll id, question, option) from a poll button's callback data."""
    parts = (data or "").split(":")
    if len(parts) == 4 and parts[0] == "p" and parts[1].isdigit():
        return int(parts[1]), parts[2], parts[3]
    if len(parts) == 3 and parts[0] == "p" and parts[1].isdigit():  # the invitation's button
        return int(parts[1]), "", parts[2]
    return None


def option_labels(question: Question, language: str) -> list[tuple[str, str]]:
    if question.kind == "yes_no":
        return [("yes", _("Oui")), ("no", _("Non"))]
    return [(o.key, text_in(o.texts, language)) for o in question.options]


def question_reply(
    poll: Poll,
    poll_id: int,
    question: Question,
    language: str,
    style: str,
    selection: tuple[str, ...] = (),
) -> Reply:
    """The question as a Reply: numbered over SMS, buttons in Telegram (✓ marks a selection)."""
    number = f"{poll.position(question.key) + 1}/{len(poll.questions)}"
    text = f"{number} {text_in(question.texts, language)}"
    if question.optional and style == "sms":
        text += " " + _("(facultatif : PASSER)")
    choices = [
        (button_key(poll_id, question.key, key), ("✓ " if key in selection else "") + label)
        for key, label in option_labels(question, language)
    ]
    if style == "buttons":
        if question.kind == "multiple":
            choices.append((button_key(poll_id, question.key, "done"), _("Terminé")))
        if question.optional:
            choices.append((button_key(poll_id, question.key, "skip"), _("Passer")))
    return Reply(text, tuple(choices))


def sms_question(poll: Poll, question: Question, language: str) -> str:
    """The SMS a question becomes (to check, when a poll is loaded, that it fits one SMS)."""
    with use_locale(language):
        return sms_page(question_reply(poll, 0, question, language, "sms"))[0]


# --- reading an answer ----------------------------------------------------------------------
def invalid_why(question: Question, count: int, style: Style = "sms") -> str:
    if question.kind == "multiple":
        return many_hint(style, count)
    if question.kind == "number":
        return _("Répondez par un nombre de {min} à {max}.").format(
            min=number_text(question.minimum), max=number_text(question.maximum)
        )
    return choice_hint(style, count)


def number_text(value: float | None) -> str:
    return str(int(value)) if value is not None and value == int(value) else str(value)


def words_to_digits(text: str) -> str:
    return " ".join(NUMBER_WORDS.get(word, word) for word in fold(text).split(" "))


def read_number(question: Question, text: str) -> float | None:
    """ "12", "12 personnes", "Nous sommes 12.", "-3" (then out of range), or a number word
    alone ("deux", "fila"); two numbers ("10 ou 12") or "mille deux cents" are not read."""
    found = NUMBER.findall(NUMBER_WORDS.get(fold(text), text))
    if len(found) != 1:
        return None
    match = NUMBER.search(found[0])
    if match is None:
        return None
    value = float(match[0].replace(",", "."))
    value = int(value) if value == int(value) else value
    assert question.minimum is not None and question.maximum is not None
    return value if question.minimum <= value <= question.maximum else None


def read_choices(question: Question, text: str, language: str) -> list[str] | None:
    labels = option_labels(question, language)
    if question.kind == "yes_no":
        folded = fold(text)
        if folded in YES:
            return ["yes"]
        if folded in NO:
            return ["no"]
    words = words_to_digits(text)
    if question.kind == "multiple":
        return match_many(text, labels) or match_many(words, labels)
    key = match_choice(text, labels) or match_choice(words, labels)
    return [key] if key else None
