"""INSCRIPTION: name → organisation → region → cercle → themes → language → sex → age band →
consent → summary."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.fields import Value
from bot.flows.common import EDITABLE, FIELD_LABELS, ask, read, reprompt, summary, yes_no
from bot.model import Context, Effect, Outcome, Reply, SaveRegistration, SetLanguage, State
from bot.render import choice_hint, yes_no_hint
from bot.vocabulary.i18n import LANGUAGES, N_, _, in_language, use_locale
from bot.vocabulary.reference import LANGUAGE_NAMES
from bot.vocabulary.text import match_choice

FLOW = "registration"
CHOOSE_LANGUAGE = N_("Choisissez votre langue")
FIELD_STEPS = (
    "name",
    "organisation",
    "region",
    "cercle",
    "themes",
    "language",
    "sex",
    "age_band",
)


def _choose_language_prompt() -> Reply:
    # Asked before any language is known: the same question in every language.
    text = " / ".join(in_language(lang, CHOOSE_LANGUAGE) for lang in LANGUAGES)
    return Reply(f"Benkadi : {text}", LANGUAGE_NAMES)


def start(
    ctx: Context,
    language: str | None = None,
    ask_language_first: bool = False,
    language_chosen: bool = False,
) -> Outcome:
    if ctx.member is not None:
        return Outcome(
            (
                Reply(
                    _("Vous êtes déjà inscrit(e). PROFIL pour voir ou modifier vos informations.")
                ),
            ),
            None,
        )
    if ask_language_first:
        return Outcome((_choose_language_prompt(),), State(FLOW, "first_language", {}))
    data: dict[str, Any] = {}
    if language:
        data["language"] = language
    if language_chosen:
        data["language_chosen"] = True
    state = State(FLOW, "name", data)
    # The address keeps the language it was started in: a cancel, and whatever follows it,
    # stays in that language (stored on the address until there is a member).
    effects: tuple[Effect, ...] = (SetLanguage(language),) if language else ()
    with use_locale(language or ctx.language):
        intro = _("Benkadi : inscription en quelques questions. ANNULER pour arrêter.")
        return Outcome((ask(ctx, state, intro),), state, effects, language=language)


def _next_field(data: dict[str, Any], after: str) -> str:
    remaining = FIELD_STEPS[FIELD_STEPS.index(after) + 1 :]
    for step in remaining:
        if step == "language" and data.get("language_chosen"):
            continue  # chosen when the dialogue began
        return step
    return "consent"


def _ask_consent(state: State) -> Reply:
    return Reply(
        _(
            "Benkadi garde vos réponses et votre numéro pour la coordination, sans les partager. OUBLIER efface tout. Acceptez-vous ?"
        ),
        yes_no(),
    )


def _ask_confirm(state: State) -> Reply:
    text = _("Vérifiez :") + "\n" + summary(state.data)
    choices = (("confirm", _("Confirmer")), ("edit", _("Modifier")), ("cancel", _("Annuler")))
    return Reply(text, choices)


def _ask_edit(state: State) -> Reply:
    return Reply(_("Que voulez-vous modifier ?"), tuple((f, FIELD_LABELS[f]()) for f in EDITABLE))


def ask_current(ctx: Context, state: State) -> Reply:
    """The question the member left unanswered (after a pause or a help request)."""
    if state.step == "first_language":
        return _choose_language_prompt()
    if state.step == "consent":
        return _ask_consent(state)
    if state.step == "confirm":
        return _ask_confirm(state)
    if state.step == "edit":
        return _ask_edit(state)
    return ask(ctx, state)


def _language_of(state: State, ctx: Context) -> str:
    return state.data.get("language") or ctx.language


def answer(ctx: Context, state: State) -> Outcome:
    language = _language_of(state, ctx)
    with use_locale(language):
        outcome = _answer(ctx, state)
    # Replies are in the language the member is registering in, not yet their stored one.
    return replace(outcome, language=outcome.language or language)


def _answer(ctx: Context, state: State) -> Outcome:
    step, data = state.step, state.data
    answer_text = ctx.inbound.button or ctx.inbound.text
    if step == "first_language":
        key = match_choice(answer_text, LANGUAGE_NAMES)
        if key is None:
            return Outcome((ask_current(ctx, state),), state)
        return start(ctx, language=key, language_chosen=True)
    if step in FIELD_STEPS:
        parsed, state = read(ctx, state)
        if not isinstance(parsed, Value):
            return reprompt(ctx, state, parsed)
        data = {**state.data, step: parsed.value}
        editing = data.pop("editing", False)
        next_step = "confirm" if editing else _next_field(data, step)
        new_state = State(FLOW, next_step, data)
        with use_locale(_language_of(new_state, ctx)):
            reply = ask_current(ctx, new_state)
        return Outcome(
            (reply,), new_state, language=data.get("language") if step == "language" else None
        )
    if step == "consent":
        choice = match_choice(answer_text, yes_no())
        if choice == "yes":
            new_state = State(FLOW, "confirm", data)
            return Outcome((_ask_confirm(new_state),), new_state)
        if choice == "no":
            return Outcome(
                (
                    Reply(
                        _(
                            "Sans votre accord, nous ne pouvons pas vous inscrire. Rien n'a été gardé. INSCRIPTION pour recommencer."
                        )
                    ),
                ),
                None,
            )
        return Outcome((_with_why(_ask_consent(state), yes_no_hint(ctx.inbound.style)),), state)
    if step == "confirm":
        choice = match_choice(answer_text, _ask_confirm(state).choices)
        if choice == "confirm":
            saved = {**data, "consent_at": ctx.now.isoformat()}
            text = _(
                "Bienvenue dans Benkadi, {name} ! Vous recevrez les messages de la coordination. AIDE pour l'aide."
            ).format(name=data.get("name"))
            return Outcome((Reply(text),), None, (SaveRegistration(saved),))
        if choice == "edit":
            new_state = State(FLOW, "edit", data)
            return Outcome((_ask_edit(new_state),), new_state)
        if choice == "cancel":
            return Outcome((Reply(_("Inscription annulée. Rien n'a été gardé.")),), None)
        return Outcome(
            (_with_why(_ask_confirm(state), choice_hint(ctx.inbound.style, 3)),),
            state,
        )
    if step == "edit":
        field = match_choice(answer_text, _ask_edit(state).choices)
        if field is None:
            return Outcome(
                (
                    _with_why(
                        _ask_edit(state),
                        choice_hint(ctx.inbound.style, len(EDITABLE)),
                    ),
                ),
                state,
            )
        new_state = State(FLOW, field, {**data, "editing": True})
        return Outcome((ask(ctx, new_state),), new_state)
    return Outcome((ask_current(ctx, state),), state)


def _with_why(reply: Reply, why: str) -> Reply:
    return Reply(f"{why}\n{reply.text}", reply.choices, reply.page)
