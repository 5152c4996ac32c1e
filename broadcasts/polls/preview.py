"""Each question of a poll as it will arrive, before it is saved: by SMS (numbered, its options
listed, the GSM-friendly spelling when it saves an SMS, the segments) and in Telegram (the
text and its buttons), in every language, saying where a language falls back to French (the
question's text, or one of its choices), and the condition a question is asked under. Pure.
"""

from __future__ import annotations

from typing import Any

from bot.flows.poll_fields import question_reply, sms_question
from bot.vocabulary.i18n import LANGUAGES, use_locale
from bot.vocabulary.sms_text import cheapest_sms_text, sms_size
from broadcasts.polls.model import Poll, Question


def preview(poll: Poll) -> list[dict[str, Any]]:
    out = []
    for question in poll.questions:
        languages = []
        for language in LANGUAGES:
            written = sms_question(poll, question, language)
            sent = cheapest_sms_text(written) if poll.sms_gsm_safe else written
            size = sms_size(sent)
            with use_locale(language):
                reply = question_reply(poll, 0, question, language, "buttons")
            languages.append(
                {
                    "language": language,
                    "fallback": language not in question.texts,
                    "choices_fallback": [
                        option.key
                        for option in question.options
                        if option.texts and not option.texts.get(language)
                    ],
                    "sms": sent,
                    "segments": size.segments,
                    "encoding": size.encoding,
                    "characters": size.units,
                    "telegram": reply.text,
                    "buttons": [label for _key, label in reply.choices],
                }
            )
        out.append(
            {
                "key": question.key,
                "kind": question.kind,
                "languages": languages,
                "ask_if": _condition(poll, question),
            }
        )
    return out


def _condition(poll: Poll, question: Question) -> dict[str, Any] | None:
    """The condition in French words for the page: the earlier question and the choices (their
    French labels) or the least number that asks this one."""
    condition = question.ask_if
    if condition is None:
        return None
    earlier = poll.question(condition.question)
    labels: dict[str, str] = {"yes": "Oui", "no": "Non"}
    if earlier is not None:
        labels |= {option.key: option.texts["fr"] for option in earlier.options if option.texts}
    return {
        "question": condition.question,
        "position": poll.position(condition.question) + 1 if earlier else None,
        "values": [labels.get(value) or value for value in condition.values],
        "at_least": None if condition.at_least is None else f"{condition.at_least:g}",
    }
