"""Each question of a poll as it will arrive, before it is saved: by SMS (numbered, its options
listed, the GSM-friendly spelling when it saves an SMS, the segments) and in Telegram (the
text and its buttons), in every language, saying where a language falls back to French. Pure.
"""

from __future__ import annotations

from typing import Any

from bot.flows.poll_fields import question_reply, sms_question
from bot.vocabulary.i18n import LANGUAGES, use_locale
from bot.vocabulary.sms_text import cheapest_sms_text, sms_size
from broadcasts.polls.model import Poll


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
                    "sms": sent,
                    "segments": size.segments,
                    "encoding": size.encoding,
                    "characters": size.units,
                    "telegram": reply.text,
                    "buttons": [label for _key, label in reply.choices],
                }
            )
        out.append({"key": question.key, "kind": question.kind, "languages": languages})
    return out
