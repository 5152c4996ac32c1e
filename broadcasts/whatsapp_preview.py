"""The WhatsApp part of a draft's preview: members inside and outside the 24 h window, the
template each language outside it gets, and who falls back to their next channel (SMS: at
what cost) for want of one. Pure: the counts come from storage/whatsapp.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from broadcasts.model import NEXT_CHANNEL, Draft, TemplateRule
from broadcasts.sms import channel_text, sms_forms


def summarise(
    draft: Draft,
    windows: Mapping[str, tuple[int, int]],
    outside_next: Iterable[tuple[str, str | None, int]],
    rules: Sequence[TemplateRule],
    template_names: Mapping[str, str],
    *,
    price_per_segment: float,
    problems: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`windows`: language → (inside, outside); `outside_next`: (language, next channel,
    members) of those outside; `rules`: the approved templates per language;
    `template_names`: content sid → name; `problems`: language → why its named template cannot
    go (not approved, too long for WhatsApp)."""
    by_rule = {rule.language: rule for rule in rules}
    languages: dict[str, Any] = {}
    for language, (inside, outside) in sorted(windows.items()):
        rule = by_rule.get(language)
        languages[language] = {
            "inside_window": inside,
            "outside_window": outside,
            "template": (
                {"name": template_names.get(rule.content_sid), "sid": rule.content_sid,
                 "variables": rule.variables}
                if rule else None
            ),
            "template_problem": (problems or {}).get(language) if rule is None else None,
        }  # fmt: skip
    missing = {
        language: entry["outside_window"]
        for language, entry in languages.items()
        if entry["outside_window"] and entry["template"] is None
    }
    sends_on = draft.outside_window == NEXT_CHANNEL
    falls_back: dict[str, int] = {}
    segments = 0
    for language, channel, members in outside_next:
        if language not in missing:
            continue
        target = channel if (sends_on and draft.fallback) else None
        falls_back[target or "nowhere"] = falls_back.get(target or "nowhere", 0) + members
        if target == "sms":
            segments += members * sms_segments(draft, language)
    refused = None
    if missing and not sends_on:
        named = ", ".join(f"{language} ({n})" for language, n in missing.items())
        refused = (
            f"refused: WhatsApp members outside the 24 h window without an approved template "
            f"in their language: {named}"
        )
    return {
        "inside_window": sum(e["inside_window"] for e in languages.values()),
        "outside_window": sum(e["outside_window"] for e in languages.values()),
        "by_language": languages,
        "missing_templates": missing,
        "outside_window_choice": draft.outside_window,
        "refused": refused,
        "falls_back": falls_back,  # next channel → members (only with next_channel)
        "fallback_sms": {
            "members": falls_back.get("sms", 0),
            "segments": segments,
            "estimated_cost": round(segments * price_per_segment, 6),
        },
    }


def sms_segments(draft: Draft, language: str) -> int:
    """The segments of one member's SMS in `language` when they fall back to SMS."""
    forms = sms_forms(channel_text(draft, language, "sms"), draft.sms_gsm_safe)
    return int(forms["segments"])
