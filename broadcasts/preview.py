"""What a draft would do, before anyone sends it: who is reached on which channel and in which
language, who is left out and why, each text as each channel will get it, and what SMS costs.

`summarise` is pure; `counts` is the one round trip to the database (two grouped queries).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from broadcasts.model import Draft
from broadcasts.sms import channel_text, sms_forms
from storage.audience import EXCLUSION_REASONS, allowed_channels, exclusions, reachable

Reached = tuple[str, str, int]  # (channel, language, members)


async def counts(
    connection: AsyncConnection, draft: Draft, enabled_channels: Collection[str]
) -> tuple[list[Reached], dict[str, int]]:
    """Members reached per (channel, language), and members excluded per reason."""
    dialect = connection.dialect.name
    chosen = reachable(draft.audience, enabled_channels, dialect).subquery()
    reached = await connection.execute(
        select(chosen.c.channel, chosen.c.language, func.count()).group_by(
            chosen.c.channel, chosen.c.language
        )
    )
    left_out = exclusions(draft.audience, enabled_channels, dialect).subquery()
    excluded = await connection.execute(
        select(left_out.c.reason, func.count()).group_by(left_out.c.reason)
    )
    return [tuple(row) for row in reached], dict(tuple(row) for row in excluded)


def summarise(
    draft: Draft,
    reached: Iterable[Reached],
    excluded: dict[str, int],
    *,
    enabled_channels: Collection[str],
    price_per_segment: float,
    currency: str = "USD",
) -> dict[str, Any]:
    """The preview as plain JSON-able data."""
    reached = list(reached)
    channels = allowed_channels(draft.audience, enabled_channels)
    by_pair = Counter({(channel, language): n for channel, language, n in reached})
    by_channel: Counter[str] = Counter()
    by_language: Counter[str] = Counter()
    for (channel, language), n in by_pair.items():
        by_channel[channel] += n
        by_language[language] += n
    # The texts written, and the languages of members who will read French in their stead.
    languages = list(dict.fromkeys([*draft.texts, *sorted(by_language)]))
    texts = {
        language: _language_texts(draft, language, channels, by_pair) for language in languages
    }
    segments = sum(
        text["channels"]["sms"]["total_segments"]
        for text in texts.values()
        if "sms" in text["channels"]
    )
    return {
        "title": draft.title,
        "channels": list(channels),
        "recipients": sum(by_pair.values()),
        "reached": {
            "by_channel": {channel: by_channel[channel] for channel in channels},
            "by_language": dict(sorted(by_language.items())),
            "by_channel_and_language": {
                channel: {
                    language: n for (ch, language), n in sorted(by_pair.items()) if ch == channel
                }
                for channel in channels
            },
        },
        "excluded": {
            "total": sum(excluded.values()),
            "by_reason": {reason: excluded.get(reason, 0) for reason in EXCLUSION_REASONS},
        },
        "texts": texts,
        "sms": {
            "gsm_safe": draft.sms_gsm_safe,
            "recipients": by_channel["sms"],
            "segments": segments,
            "price_per_segment": price_per_segment,
            "currency": currency,
            "estimated_cost": round(segments * price_per_segment, 6),
        },
    }


def _language_texts(
    draft: Draft, language: str, channels: Iterable[str], by_pair: Counter[tuple[str, str]]
) -> dict[str, Any]:
    text = draft.text_for(language)
    per_channel: dict[str, Any] = {}
    for channel in channels:
        members = by_pair[(channel, language)]
        if channel == "sms":
            forms = sms_forms(text, draft.sms_gsm_safe)
            per_channel[channel] = {
                "members": members,
                **forms,
                "total_segments": members * forms["segments"],
            }
        else:
            per_channel[channel] = {
                "members": members,
                "text": channel_text(draft, language, channel),
            }
    return {
        "text_language": language if language in draft.texts else "fr",
        "members": sum(by_pair[(channel, language)] for channel in channels),
        "channels": per_channel,
    }
