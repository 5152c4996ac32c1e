"""A broadcast as the secretariat composes it: texts per language, an audience, a send time.

Pure: parsing and validation only. Errors name the field, so the API answers 400 with it and
the CLI prints it; nothing is created from a draft that fails here.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.vocabulary.channels import CHANNELS
from bot.vocabulary.errors import FieldError
from bot.vocabulary.i18n import LANGUAGES
from bot.vocabulary.reference import (
    AGE_BAND_LABELS,
    ORGANISATION_KINDS,
    REGION_LABELS,
    SEX_LABELS,
    THEME_LABELS,
)
from bot.vocabulary.sms_text import cheapest_sms_text

BAMAKO = ZoneInfo("Africa/Bamako")
TWILIO_BODY_LIMIT = 1600
TELEGRAM_TEXT_LIMIT = 4096
ORGANISATION_KIND_KEYS = tuple(key for key, _label in ORGANISATION_KINDS)


class DraftError(FieldError):
    """A field of a draft is wrong; `field` names it (e.g. "texts.fr", "audience.regions")."""


@dataclass(frozen=True)
class Audience:
    """Who receives it. Empty tuples mean "no restriction"; restrictions combine with AND."""

    regions: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()  # a member with any of these themes
    languages: tuple[str, ...] = ()
    organisation_kinds: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()  # organisation names, as stored
    channels: tuple[str, ...] = ()
    registered_since: date | None = None
    sexes: tuple[str, ...] = ()  # "f", "m" (bot.vocabulary.reference.SEXES)
    age_bands: tuple[str, ...] = ()  # "15-24", "25-35", "36+": "young women in Mopti"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["registered_since"] = (
            self.registered_since.isoformat() if self.registered_since else None
        )
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in data.items()
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Audience:
        return parse_audience(data or {}, known_organisations=None)


# What happens to WhatsApp members outside the 24 h window when their language has no approved
# template: the send is refused naming the language, or they get it on their next channel.
REFUSE, NEXT_CHANNEL = "refuse", "next_channel"
OUTSIDE_WINDOW_CHOICES = (REFUSE, NEXT_CHANNEL)
# What a template variable may be filled with, besides a text given as is.
VARIABLE_SOURCES = ("text", "title")
# WhatsApp's limits on a template sent (Twilio: a variable's value at most 255 characters; the
# body with its variables at most 1,024, else 63021; no line break, tab or run of more than four
# spaces in a value, else 63013).
TEMPLATE_VARIABLE_MAX = 255
TEMPLATE_BODY_MAX = 1024
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_BLANKS = re.compile(r"\s+")


def template_value(text: str) -> str:
    """A text as a template variable may hold it: on one line, single spaces."""
    return _BLANKS.sub(" ", text).strip()


def template_problem(body: str | None, variables: Mapping[str, str]) -> str | None:
    """Why WhatsApp would refuse this template with these values, or None."""
    long = [name for name, value in variables.items() if len(value) > TEMPLATE_VARIABLE_MAX]
    if long:
        return (
            f"variable {{{{{long[0]}}}}} would hold {len(variables[long[0]])} characters; "
            f"WhatsApp takes {TEMPLATE_VARIABLE_MAX} (map it to the title, or shorten the text)"
        )
    if body is not None:
        filled = _PLACEHOLDER.sub(lambda m: variables.get(m.group(1), m.group(0)), body)
        if len(filled) > TEMPLATE_BODY_MAX:
            return f"the template would be {len(filled)} characters; WhatsApp takes {TEMPLATE_BODY_MAX}"
    return None


@dataclass(frozen=True)
class WhatsAppPlan:
    """The templates a broadcast uses outside WhatsApp's 24 h window: a template name per
    language, what fills each of its variables ("text": the alert's text in the member's
    language, "title": its title, anything else: that text as is), and what happens to members
    whose language has none."""

    templates: dict[str, str] = field(default_factory=dict)  # language → template name
    variables: dict[str, str] = field(default_factory=dict)  # "1" → "text" | "title" | text
    outside_window: str = REFUSE

    def to_json(self) -> dict[str, Any]:
        return {
            "templates": dict(self.templates),
            "variables": dict(self.variables),
            "outside_window": self.outside_window,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> WhatsAppPlan | None:
        return parse_whatsapp(data) if data else None


@dataclass(frozen=True)
class Draft:
    texts: dict[str, str]  # language → text; "fr" always present
    audience: Audience = field(default_factory=Audience)
    send_at: datetime | None = None  # aware; None = send when asked
    sms_gsm_safe: bool = True
    title: str | None = None
    whatsapp: WhatsAppPlan | None = None  # None: no template named (free text only)
    fallback: bool = True  # a channel that cannot carry it to a member: their next one, once

    def text_for(self, language: str) -> str:
        """A member whose language has no text gets the French one."""
        return self.texts.get(language) or self.texts["fr"]

    @property
    def outside_window(self) -> str:
        return self.whatsapp.outside_window if self.whatsapp else REFUSE

    def template_variables(self, language: str) -> dict[str, str]:
        """The variables of the template a member speaking `language` gets, filled in."""
        plan = self.whatsapp or WhatsAppPlan()
        filled = {}
        for name, source in plan.variables.items():
            if source == "text":
                value = self.text_for(language)
            elif source == "title":
                value = self.title or self.text_for(language)
            else:
                value = source
            filled[name] = template_value(value)
        return filled


@dataclass(frozen=True)
class TemplateRule:
    """WhatsApp rows of members speaking `language` carry this approved template (Twilio's
    Content SID) and its variables, sent instead of the text outside the 24 h window."""

    language: str
    content_sid: str
    variables: dict[str, str]


@dataclass(frozen=True)
class BodyRule:
    """`body` for members whose language is `language` (None: any) on `channel` (None: any).

    A broadcast's bodies are a short list of these, computed in Python (broadcasts.sms) and
    applied in order by the fan-out's SQL: the first that matches gives the body, and the last,
    (None, None), is the default."""

    language: str | None
    channel: str | None
    body: str


def _strings(data: Mapping[str, Any], key: str, allowed: Collection[str] | None) -> tuple[str, ...]:
    value = data.get(key) or []
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DraftError(f"audience.{key}", "must be a list of names")
    if allowed is not None:
        unknown = [item for item in value if item not in allowed]
        if unknown:
            raise DraftError(
                f"audience.{key}",
                f"unknown: {', '.join(unknown)} (known: {', '.join(sorted(allowed))})",
            )
    return tuple(dict.fromkeys(value))


def parse_audience(
    data: Mapping[str, Any], known_organisations: Collection[str] | None
) -> Audience:
    if not isinstance(data, Mapping):
        raise DraftError("audience", "must be an object")
    unknown_keys = set(data) - {f for f in Audience.__dataclass_fields__}
    if unknown_keys:
        raise DraftError("audience", f"unknown filter: {', '.join(sorted(unknown_keys))}")
    since = data.get("registered_since")
    if since is not None:
        try:
            since = date.fromisoformat(str(since))
        except ValueError:
            raise DraftError("audience.registered_since", "must be a date, YYYY-MM-DD") from None
    return Audience(
        regions=_strings(data, "regions", REGION_LABELS),
        themes=_strings(data, "themes", THEME_LABELS),
        languages=_strings(data, "languages", LANGUAGES),
        organisation_kinds=_strings(data, "organisation_kinds", ORGANISATION_KIND_KEYS),
        organisations=_strings(data, "organisations", known_organisations),
        channels=_strings(data, "channels", CHANNELS),
        registered_since=since,
        sexes=_strings(data, "sexes", SEX_LABELS),
        age_bands=_strings(data, "age_bands", AGE_BAND_LABELS),
    )


def parse_whatsapp(data: Any) -> WhatsAppPlan:
    """{"templates": {"fr": "benkadi_alerte", …}, "variables": {"1": "text"},
    "outside_window": "refuse" | "next_channel"}, or DraftError naming the field."""
    if not isinstance(data, Mapping):
        raise DraftError("whatsapp", "must be an object: templates, variables, outside_window")
    unknown = set(data) - {"templates", "variables", "outside_window"}
    if unknown:
        raise DraftError("whatsapp", f"unknown key: {', '.join(sorted(unknown))}")
    templates = data.get("templates") or {}
    if not isinstance(templates, Mapping):
        raise DraftError("whatsapp.templates", "must be an object: language → template name")
    for language, name in templates.items():
        if language not in LANGUAGES:
            raise DraftError(
                f"whatsapp.templates.{language}",
                f"unknown language (known: {', '.join(LANGUAGES)})",
            )
        if not isinstance(name, str) or not name.strip():
            raise DraftError(f"whatsapp.templates.{language}", "must be a template's name")
    variables = data.get("variables") or {}
    if not isinstance(variables, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in variables.items()
    ):
        raise DraftError(
            "whatsapp.variables", 'must be an object: variable → "text", "title" or a text'
        )
    outside = data.get("outside_window") or REFUSE
    if outside not in OUTSIDE_WINDOW_CHOICES:
        raise DraftError(
            "whatsapp.outside_window", f"must be one of {', '.join(OUTSIDE_WINDOW_CHOICES)}"
        )
    return WhatsAppPlan(
        templates={language: name.strip() for language, name in templates.items()},
        variables={str(k): v for k, v in variables.items()},
        outside_window=outside,
    )


def parse_send_at(value: Any, now: datetime) -> datetime | None:
    """ISO 8601; a time without a zone is Mali's (Africa/Bamako). Must be in the future."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise DraftError("send_at", "must be a date and time, e.g. 2026-11-25T08:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BAMAKO)
    if moment <= now:
        raise DraftError("send_at", "is in the past")
    return moment


def _twilio_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_draft(
    payload: Mapping[str, Any], now: datetime, known_organisations: Collection[str] | None
) -> Draft:
    """A draft from the API's JSON (or the CLI's options), or DraftError naming the field."""
    if not isinstance(payload, Mapping):
        raise DraftError("body", "must be a JSON object")
    texts = payload.get("texts")
    if not isinstance(texts, Mapping):
        raise DraftError("texts", "must be an object: language → text, with at least fr")
    gsm_safe = payload.get("sms_gsm_safe", True)
    if not isinstance(gsm_safe, bool):
        raise DraftError("sms_gsm_safe", "must be true or false")
    cleaned: dict[str, str] = {}
    for language, text in texts.items():
        if language not in LANGUAGES:
            raise DraftError(
                f"texts.{language}", f"unknown language (known: {', '.join(LANGUAGES)})"
            )
        if not isinstance(text, str):
            raise DraftError(f"texts.{language}", "must be text")
        text = text.strip()
        if not text:
            raise DraftError(f"texts.{language}", "is empty (leave the language out instead)")
        # Twilio counts the body as sent (the GSM-friendly form can be longer: ɲ → ny), in
        # UTF-16 units (an emoji is two).
        sent = cheapest_sms_text(text) if gsm_safe else text
        length = max(_twilio_length(text), _twilio_length(sent))
        if length > TWILIO_BODY_LIMIT:
            raise DraftError(
                f"texts.{language}",
                f"is {length} characters by SMS; Twilio allows {TWILIO_BODY_LIMIT}",
            )
        cleaned[language] = text
    if "fr" not in cleaned:
        raise DraftError(
            "texts.fr", "is required (members without a text in their language get French)"
        )
    title = payload.get("title")
    if title is not None and (not isinstance(title, str) or len(title) > 200):
        raise DraftError("title", "must be text of at most 200 characters")
    fallback = payload.get("fallback", True)
    if not isinstance(fallback, bool):
        raise DraftError("fallback", "must be true or false")
    whatsapp = payload.get("whatsapp")
    return Draft(
        texts=cleaned,
        audience=parse_audience(payload.get("audience") or {}, known_organisations),
        send_at=parse_send_at(payload.get("send_at"), now),
        sms_gsm_safe=gsm_safe,
        title=title,
        whatsapp=parse_whatsapp(whatsapp) if whatsapp else None,
        fallback=fallback,
    )
