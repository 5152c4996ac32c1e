"""Pieces every flow uses: asking a field, the profile summary, help texts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.fields import FIELDS, Invalid, NextPage, Parsed, Toggled, Value
from bot.model import Context, Outcome, Reply, State
from bot.vocabulary.i18n import _
from bot.vocabulary.reference import (
    AGE_BAND_LABELS,
    LANGUAGE_LABELS,
    REGION_LABELS,
    SEX_LABELS,
    THEME_LABELS,
)

FIELD_LABELS = {
    "name": lambda: _("Nom"),
    "organisation": lambda: _("Organisation"),
    "region": lambda: _("Région"),
    "cercle": lambda: _("Cercle/commune"),
    "themes": lambda: _("Thèmes"),
    "language": lambda: _("Langue"),
    "sex": lambda: _("Sexe"),
    "age_band": lambda: _("Âge"),
}
EDITABLE = ("name", "organisation", "region", "cercle", "themes", "language", "sex", "age_band")
FREE_TEXT_STEPS = frozenset(
    {"name", "organisation", "cercle", "phone", "code", "commune", "description", "poll_text"}
)


def ask(ctx: Context, state: State, prefix: str | None = None) -> Reply:
    """The question of the state's field step, on the page the member is on."""
    reply = FIELDS[state.step].ask(ctx, state.data)
    if prefix and reply.choices and ctx.inbound.style == "sms":
        text = prefix  # the why says how to answer; the list follows, within one SMS
    else:
        text = f"{prefix}\n{reply.text}" if prefix else reply.text
    return replace(reply, text=text, page=state.data.get("page", 0))


def read(ctx: Context, state: State) -> tuple[Parsed, State]:
    """Read an answer to a field step; the state keeps pages and Telegram selections."""
    parsed = FIELDS[state.step].read(ctx, ctx.inbound.button or ctx.inbound.text, state.data)
    data = {k: v for k, v in state.data.items() if k not in ("page", "selection")}
    if isinstance(parsed, NextPage):
        data["page"] = parsed.start
    elif isinstance(parsed, Toggled):
        data["selection"] = list(parsed.selection)
    elif isinstance(parsed, Invalid) and "selection" in state.data:
        data["selection"] = state.data["selection"]
    return parsed, replace(state, data=data)


def reprompt(ctx: Context, state: State, parsed: Parsed) -> Outcome:
    """What a field answer that is not (yet) a value gets: the question again, a page, a toast."""
    if isinstance(parsed, Toggled):
        return Outcome((), state, notice=parsed.notice, keyboard=ask(ctx, state))
    prefix = parsed.why if isinstance(parsed, Invalid) else None
    return Outcome((ask(ctx, state, prefix),), state)


def summary(values: dict[str, Any]) -> str:
    """The profile as the member sees it."""
    themes = ", ".join(
        _(THEME_LABELS[key]) for key in values.get("themes") or () if key in THEME_LABELS
    )
    lines = [
        f"{_('Nom')} : {values.get('name') or '-'}",
        f"{_('Organisation')} : {values.get('organisation') or '-'}",
        f"{_('Région')} : {REGION_LABELS.get(values.get('region') or '', '-')}",
        f"{_('Cercle/commune')} : {values.get('cercle') or '-'}",
        f"{_('Thèmes')} : {themes or '-'}",
        f"{_('Langue')} : {LANGUAGE_LABELS.get(values.get('language') or '', '-')}",
    ]
    sex, age_band = values.get("sex"), values.get("age_band")
    lines.append(f"{_('Sexe')} : {_(SEX_LABELS[sex]) if sex in SEX_LABELS else '-'}")
    age = _("{band} ans").format(band=AGE_BAND_LABELS[age_band]) if age_band else "-"
    lines.append(f"{_('Âge')} : {age}")
    return "\n".join(lines)


def help_text(ctx: Context) -> str:
    if ctx.member is None:
        return _(
            "Benkadi relie les OSC du Mali. INSCRIPTION pour vous inscrire, "
            "LANGUE pour changer de langue, MES DONNÉES pour voir ce qui est gardé, "
            "AIDE pour l'aide."
        )
    # Two SMS at most in every language (tests/bot/test_every_flow.py: French is the budget).
    return _(
        "Benkadi : RAPPORT signaler une activité, SONDAGE reprendre un sondage, PROFIL vos "
        "infos, MES DONNÉES ce que Benkadi garde sur vous, LANGUE changer de langue, LIER "
        "Telegram et SMS, STOP ne plus recevoir, OUBLIER tout effacer."
    )


def yes_no() -> tuple[tuple[str, str], ...]:
    return (("yes", _("Oui")), ("no", _("Non")))


def is_value(parsed: Parsed) -> bool:
    return isinstance(parsed, Value)
