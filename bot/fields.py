"""The profile fields a member fills in: how each is asked and how an answer is read.

Registration asks them in order; PROFIL asks one again. Each ask is a Reply; each answer
parses to a value, a re-prompt (with why), or, for lists over SMS, the next page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.model import Context, Reply
from bot.render import choice_hint, many_hint, sms_page
from bot.vocabulary.i18n import _
from bot.vocabulary.reference import (
    AGE_BANDS,
    LANGUAGE_ALIASES,
    LANGUAGE_NAMES,
    REGION_ALIASES,
    REGIONS,
    SEX_ALIASES,
    SEXES,
    THEME_ALIASES,
    THEMES,
)
from bot.vocabulary.text import SKIP, fold, match_choice, match_many

DONE_KEY = "done"
SKIP_KEY = "skip"
NAME_MAX = 100


@dataclass(frozen=True)
class Value:
    value: Any


@dataclass(frozen=True)
class Invalid:
    why: str  # said before the question is asked again


@dataclass(frozen=True)
class NextPage:
    start: int


@dataclass(frozen=True)
class Toggled:
    """A Telegram multi-select button: the selection changed, nothing is asked again."""

    selection: tuple[str, ...]
    notice: str


Parsed = Value | Invalid | NextPage | Toggled


@dataclass(frozen=True)
class Field:
    name: str
    ask: Callable[[Context, dict[str, Any]], Reply]
    read: Callable[[Context, str, dict[str, Any]], Parsed]


def _translated(choices: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((key, _(label)) for key, label in choices)


def _page_or_invalid(ctx: Context, reply: Reply, data: dict[str, Any], why: str) -> Parsed:
    """ "0" turns the page of a long SMS list; anything else unreadable is re-prompted."""
    if ctx.inbound.style == "sms" and fold(ctx.inbound.text) == "0":
        _body, next_start = sms_page(reply, data.get("page", 0))
        return NextPage(next_start or 0)
    return Invalid(why)


def _range_hint(ctx: Context, count: int) -> str:
    return choice_hint(ctx.inbound.style, count)


# name ---------------------------------------------------------------------------------------
def ask_name(ctx: Context, data: dict[str, Any]) -> Reply:
    return Reply(_("Quel est votre nom complet ?"))


def read_name(ctx: Context, text: str, data: dict[str, Any]) -> Parsed:
    name = " ".join(text.split())
    if len(name) < 2 or len(name) > NAME_MAX or name.isdigit():
        return Invalid(_("Écrivez votre nom, de 2 à {max} caractères.").format(max=NAME_MAX))
    return Value(name)


# organisation -------------------------------------------------------------------------------
def _organisation_choices(ctx: Context) -> tuple[tuple[str, str], ...]:
    return tuple((name, name) for name in ctx.organisations)


def ask_organisation(ctx: Context, data: dict[str, Any]) -> Reply:
    choices = _organisation_choices(ctx)
    if not choices:
        return Reply(_("Quel est le nom de votre organisation ?"))
    return Reply(_("Votre organisation ? Répondez par son numéro ou écrivez son nom."), choices)


def read_organisation(ctx: Context, text: str, data: dict[str, Any]) -> Parsed:
    choices = _organisation_choices(ctx)
    key = match_choice(text, choices) if choices else None
    if key is not None:
        return Value(key)
    name = " ".join(text.split())
    if fold(name).isdigit():
        if fold(name) == "0" and choices:
            return _page_or_invalid(ctx, ask_organisation(ctx, data), data, "")
        return Invalid(
            _range_hint(ctx, len(choices))
            if choices
            else _("Écrivez le nom de votre organisation.")
        )
    if len(name) < 2 or len(name) > 200:
        return Invalid(_("Écrivez le nom de votre organisation."))
    return Value(name)


# region -------------------------------------------------------------------------------------
def ask_region(ctx: Context, data: dict[str, Any]) -> Reply:
    return Reply(_("Votre région ?"), REGIONS)


def read_region(ctx: Context, text: str, data: dict[str, Any]) -> Parsed:
    key = match_choice(text, REGIONS, REGION_ALIASES)
    if key is not None:
        return Value(key)
    why = _("Je n'ai pas reconnu cette région.") + " " + _range_hint(ctx, len(REGIONS))
    return _page_or_invalid(ctx, ask_region(ctx, data), data, why)


# cercle -------------------------------------------------------------------------------------
def ask_cercle(ctx: Context, data: dict[str, Any]) -> Reply:
    if ctx.inbound.style == "buttons":
        return Reply(_("Votre cercle ou commune ?"), ((SKIP_KEY, _("Passer")),))
    return Reply(_("Votre cercle ou commune ? (0 pour passer)"))


def read_cercle(ctx: Context, text: str, data: dict[str, Any]) -> Parsed:
    if ctx.inbound.button == SKIP_KEY or fold(text) in SKIP:
        return Value(None)
    cercle = " ".join(text.split())
    if len(cercle) < 2 or len(cercle) > 200:
        return Invalid(_("Écrivez le nom du cercle ou de la commune, ou 0 pour passer."))
    return Value(cercle)


# themes -------------------------------------------------------------------------------------
def ask_themes(ctx: Context, data: dict[str, Any]) -> Reply:
    themes = _translated(THEMES)
    if ctx.inbound.style == "buttons":
        chosen = set(data.get("selection", ()))
        marked = tuple((key, ("✓ " if key in chosen else "") + label) for key, label in themes)
        return Reply(
            _("Vos thèmes ? Touchez-en un ou plusieurs, puis Terminé."),
            (*marked, (DONE_KEY, _("Terminé"))),
        )
    return Reply(_("Vos thèmes ? Un ou plusieurs numéros, ex. 1 3"), themes)


def read_themes(ctx: Context, text: str, data: dict[str, Any]) -> Parsed:
    themes = _translated(THEMES)
    button = ctx.inbound.button
    if button is not None and button != DONE_KEY and button in dict(THEMES):
        selection = list(data.get("selection", ()))
        label = dict(themes)[button]
        if button in selection:
            selection.remove(button)
            notice = "✗ " + label
        else:
            selection.append(button)
            notice = "✓ " + label
        return Toggled(tuple(selection), notice)
    if button == DONE_KEY:
        if not data.get("selection"):
            return Invalid(_("Choisissez au moins un thème."))
        return Value(list(data["selection"]))
    keys = match_many(text, themes, THEME_ALIASES)
    if keys:
        return Value(keys)
    why = _("Je n'ai pas compris.") + " " + many_hint(ctx.inbound.style, len(themes))
    return _page_or_invalid(ctx, ask_themes(ctx, data), data, why)


# language -----------------------------------------------------------------------------------
def ask_language(ctx: Context, data: dict[str, Any]) -> Reply:
    return Reply(_("Dans quelle langue voulez-vous recevoir les messages ?"), LANGUAGE_NAMES)


def read_language(ctx: Context, text: str, data: dict[str, Any]) -> Parsed:
    key = match_choice(text, LANGUAGE_NAMES, LANGUAGE_ALIASES)
    if key is not None:
        return Value(key)
    return Invalid(_("Je n'ai pas compris.") + " " + _range_hint(ctx, len(LANGUAGE_NAMES)))


# sex, age band -------------------------------------------------------------------------------
UNSAID_KEY = "nd"  # "prefer not to say": stored as None, like a question never asked


def _sex_choices() -> tuple[tuple[str, str], ...]:
    return (*_translated(SEXES), (UNSAID_KEY, _("Je préfère ne pas le dire")))


def ask_sex(ctx: Context, data: dict[str, Any]) -> Reply:
    return Reply(_("Vous êtes ? (facultatif)"), _sex_choices())


def read_sex(ctx: Context, text: str, data: dict[str, Any]) -> Parsed:
    key = match_choice(text, _sex_choices(), SEX_ALIASES)
    if key is None and fold(text) in SKIP:
        key = UNSAID_KEY
    if key is None:
        return Invalid(_("Je n'ai pas compris.") + " " + _range_hint(ctx, len(_sex_choices())))
    return Value(None if key == UNSAID_KEY else key)


def _age_choices() -> tuple[tuple[str, str], ...]:
    bands = tuple((key, _("{band} ans").format(band=label)) for key, label in AGE_BANDS)
    return (*bands, (UNSAID_KEY, _("Je préfère ne pas le dire")))


def age_band_of(age: int) -> str | None:
    """The band of an age in years; None below 15 (not a band the coordination counts)."""
    if age < 15 or age > 120:
        return None
    return "15-24" if age <= 24 else "25-35" if age <= 35 else "36+"


def ask_age_band(ctx: Context, data: dict[str, Any]) -> Reply:
    return Reply(_("Votre âge ? (facultatif)"), _age_choices())


def read_age_band(ctx: Context, text: str, data: dict[str, Any]) -> Parsed:
    folded = fold(text)
    if folded.isdigit() and int(folded) > len(_age_choices()):
        band = age_band_of(int(folded))  # the age itself, "22", rather than its number
        if band is not None:
            return Value(band)
    key = match_choice(text, _age_choices())
    if key is None and folded in SKIP:
        key = UNSAID_KEY
    if key is None:
        return Invalid(_("Je n'ai pas compris.") + " " + _range_hint(ctx, len(_age_choices())))
    return Value(None if key == UNSAID_KEY else key)


FIELDS: dict[str, Field] = {
    field.name: field
    for field in (
        Field("name", ask_name, read_name),
        Field("organisation", ask_organisation, read_organisation),
        Field("region", ask_region, read_region),
        Field("cercle", ask_cercle, read_cercle),
        Field("themes", ask_themes, read_themes),
        Field("language", ask_language, read_language),
        Field("sex", ask_sex, read_sex),
        Field("age_band", ask_age_band, read_age_band),
    )
}
