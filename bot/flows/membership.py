"""AIDE, LANGUE, STOP/START, OUBLIER and PROFIL: what a member does with their membership."""

from __future__ import annotations

from bot.fields import Value
from bot.flows.common import EDITABLE, FIELD_LABELS, ask, help_text, read, reprompt, summary, yes_no
from bot.model import (
    Context,
    EraseMember,
    OptIn,
    OptOut,
    Outcome,
    Reply,
    SetLanguage,
    State,
    UpdateProfile,
)
from bot.render import choice_hint, yes_no_hint
from bot.vocabulary.i18n import _, use_locale
from bot.vocabulary.reference import LANGUAGE_LABELS
from bot.vocabulary.text import match_choice


def help_(ctx: Context) -> Outcome:
    return Outcome((Reply(help_text(ctx)),), None)


def unknown(ctx: Context) -> Outcome:
    if ctx.member is None:
        return help_(ctx)
    return Outcome((Reply(_("Je n'ai pas compris.") + " " + help_text(ctx)),), None)


def stop(ctx: Context) -> Outcome:
    if not ctx.inbound.traits.phone_number:
        text = _("Vous ne recevrez plus les messages de Benkadi ici. Envoyez START pour revenir.")
    else:
        text = _(
            "Vous ne recevrez plus les messages de Benkadi sur ce numéro. Envoyez START pour revenir."
        )
    return Outcome((Reply(text),), None, (OptOut(),))


def start_again(ctx: Context) -> Outcome:
    if ctx.opted_out:
        return Outcome(
            (Reply(_("Vous recevez de nouveau les messages de Benkadi. STOP pour arrêter.")),),
            None,
            (OptIn(),),
        )
    return help_(ctx)


# LANGUE -------------------------------------------------------------------------------------
def language(ctx: Context) -> Outcome:
    state = State("language", "language", {})
    return Outcome((ask(ctx, state),), state)


def _language_answer(ctx: Context, state: State) -> Outcome:
    parsed, state = read(ctx, state)
    if not isinstance(parsed, Value):
        return reprompt(ctx, state, parsed)
    with use_locale(parsed.value):
        text = _("C'est noté : nous vous écrirons en {language}.").format(
            language=LANGUAGE_LABELS[parsed.value]
        )
        return Outcome((Reply(text),), None, (SetLanguage(parsed.value),), language=parsed.value)


# OUBLIER ------------------------------------------------------------------------------------
def erase(ctx: Context) -> Outcome:
    if ctx.member is None:
        return Outcome((Reply(_("Vous n'êtes pas inscrit(e) : il n'y a rien à effacer.")),), None)
    state = State("erase", "confirm", {})
    return Outcome((_ask_erase(),), state)


def _ask_erase() -> Reply:
    return Reply(
        _(
            "Effacer toutes vos données (nom, organisation, numéros) ? Vous ne recevrez plus rien de Benkadi."
        ),
        yes_no(),
    )


def _erase_answer(ctx: Context, state: State) -> Outcome:
    choice = match_choice(ctx.inbound.button or ctx.inbound.text, yes_no())
    if choice == "yes":
        return Outcome(
            (Reply(_("Vos données ont été effacées. Merci d'avoir été avec nous.")),),
            None,
            (EraseMember(),),
        )
    if choice == "no":
        return Outcome((Reply(_("Rien n'a été effacé.")),), None)
    return Outcome(
        (Reply(yes_no_hint(ctx.inbound.style) + "\n" + _ask_erase().text, yes_no()),), state
    )


# PROFIL -------------------------------------------------------------------------------------
def profile_values(ctx: Context) -> dict:
    member = ctx.member
    assert member is not None
    return {
        "name": member.name,
        "organisation": member.organisation,
        "region": member.region,
        "cercle": member.cercle,
        "themes": list(member.themes),
        "language": member.language,
        "sex": member.sex,
        "age_band": member.age_band,
    }


def _ask_pick() -> Reply:
    choices = (*((f, FIELD_LABELS[f]()) for f in EDITABLE), ("nothing", _("Rien")))
    return Reply(_("Que voulez-vous modifier ?"), choices)


def profile(ctx: Context) -> Outcome:
    if ctx.member is None:
        return Outcome((Reply(_("Vous n'êtes pas encore inscrit(e). Envoyez INSCRIPTION.")),), None)
    state = State("profile", "pick", {})
    return Outcome((Reply(summary(profile_values(ctx))), _ask_pick()), state)


def _profile_answer(ctx: Context, state: State) -> Outcome:
    if ctx.member is None:  # erased from another channel meanwhile
        return profile(ctx)
    if state.step == "pick":
        field = match_choice(ctx.inbound.button or ctx.inbound.text, _ask_pick().choices)
        if field == "nothing":
            return Outcome((Reply(_("Rien n'a été modifié.")),), None)
        if field is None:
            why = choice_hint(ctx.inbound.style, len(EDITABLE) + 1)
            pick = _ask_pick()
            return Outcome((Reply(f"{why}\n{pick.text}", pick.choices),), state)
        new_state = State("profile", field, {})
        return Outcome((ask(ctx, new_state),), new_state)
    parsed, state = read(ctx, state)
    if not isinstance(parsed, Value):
        return reprompt(ctx, state, parsed)
    if state.step == "language":
        return _language_answer(ctx, State("language", "language", {}))
    values = {**profile_values(ctx), state.step: parsed.value}
    text = _("C'est enregistré.") + "\n" + summary(values)
    return Outcome((Reply(text),), None, (UpdateProfile(state.step, parsed.value),))


def answer(ctx: Context, state: State) -> Outcome:
    if state.flow == "language":
        return _language_answer(ctx, state)
    if state.flow == "erase":
        return _erase_answer(ctx, state)
    return _profile_answer(ctx, state)


def ask_current(ctx: Context, state: State) -> Reply:
    if state.flow == "erase":
        return _ask_erase()
    if state.step == "pick":
        return _ask_pick()
    return ask(ctx, state)
