"""What each member's message says, per (language, channel): pure, a handful of variants.

SMS is billed by segment, and one ɛ turns a whole message into UCS-2 (70 characters per segment
instead of 160); so over SMS, when the broadcast allows it, the GSM-friendly spelling goes out
whenever it saves segments. Telegram and WhatsApp are not billed by segment: text as written.
"""

from __future__ import annotations

from typing import Any

from bot.vocabulary.sms_text import cheapest_sms_text, gsm_friendly, sms_size
from broadcasts.model import BodyRule, Draft


def channel_text(draft: Draft, language: str, channel: str) -> str:
    """The body a member speaking `language` gets on `channel` (French when no text)."""
    text = draft.text_for(language)
    if channel == "sms" and draft.sms_gsm_safe:
        return cheapest_sms_text(text)
    return text


def body_rules(draft: Draft) -> list[BodyRule]:
    """The rules a SQL CASE applies in order: the first that matches gives the body.

    The last rule (None, None) is the default: French as written, for every language without
    its own text. SMS rules appear only where the SMS body differs from the text as written.
    """
    rules: list[BodyRule] = []
    for language, text in draft.texts.items():
        if language == "fr":
            continue
        if (sms := channel_text(draft, language, "sms")) != text:
            rules.append(BodyRule(language, "sms", sms))
        rules.append(BodyRule(language, None, text))
    french = draft.texts["fr"]
    if (sms := channel_text(draft, "fr", "sms")) != french:
        rules.append(BodyRule(None, "sms", sms))
    rules.append(BodyRule(None, None, french))
    return rules


def size_of(text: str) -> dict[str, Any]:
    size = sms_size(text)
    return {
        "text": text,
        "encoding": size.encoding,
        "characters": len(text),
        "units": size.units,
        "segments": size.segments,
    }


def sms_forms(text: str, gsm_safe: bool) -> dict[str, Any]:
    """Both SMS spellings of a text, their sizes, and which one is sent."""
    sent = cheapest_sms_text(text) if gsm_safe else text
    return {
        "as_written": size_of(text),
        "gsm_friendly": size_of(gsm_friendly(text)),
        "sent": "as_written" if sent == text else "gsm_friendly",
        "segments": sms_size(sent).segments,
    }
