"""The channel-agnostic dialogue engine: one inbound message in, replies and effects out.

Pure: everything it needs is in the Context, everything it decides is in the Outcome.
Keywords start flows; inside a flow, text answers the current question, except STOP, ANNULER
and AIDE, which always work (and, outside free-text questions, any other keyword).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.flows import invitation, link, membership, my_data, poll, registration, report
from bot.flows.common import FREE_TEXT_STEPS, help_text
from bot.model import Context, EraseMember, OptOut, Outcome, Reply, State
from bot.render import choice_hint
from bot.report_line import line_rest
from bot.vocabulary.i18n import LANGUAGES, _, use_locale
from bot.vocabulary.text import fold, keyword, match_choice

ALWAYS = frozenset({"stop", "cancel", "help"})
# A report draft left for another dialogue rides in that dialogue's state under this key, out of
# the flows' sight, and is offered back when it ends: no draft is silently lost.
PARKED = "parked_report"

# Words that also say which language the member wants (SƐBƐN is Bambara, JOIN English,
# WINNDITO Fulfulde, HANTUM Songhay).
KEYWORD_LANGUAGE = {
    "inscription": "fr",
    "inscrire": "fr",
    "seben": "bm",
    "join": "en",
    "register": "en",
    "winndito": "ff",
    "hantum": "ses",
}

FLOW_ANSWERS: dict[str, Callable[[Context, State], Outcome]] = {
    "registration": registration.answer,
    "profile": membership.answer,
    "language": membership.answer,
    "erase": membership.answer,
    "link": link.answer,
    "report": report.answer,
    "poll": poll.answer,
}
FLOW_QUESTIONS: dict[str, Callable[[Context, State], Reply]] = {
    "registration": registration.ask_current,
    "profile": membership.ask_current,
    "language": membership.ask_current,
    "erase": membership.ask_current,
    "link": link.ask_current,
    "report": report.ask_current,
    "poll": poll.ask_current,
}


def _register(ctx: Context) -> Outcome:
    return registration.start(ctx, language=KEYWORD_LANGUAGE.get(fold(ctx.inbound.text)))


COMMANDS: dict[str, Callable[[Context], Outcome]] = {
    "register": _register,
    "help": membership.help_,
    "profile": membership.profile,
    "language": membership.language,
    "stop": membership.stop,
    "start": membership.start_again,
    "erase": membership.erase,
    "link": link.start,
    "report": report.start,
    "poll": poll.resume,
    "my_data": my_data.my_data,
}


def handle(ctx: Context) -> Outcome:
    with use_locale(ctx.language):
        parked = None
        if ctx.state is not None and PARKED in ctx.state.data:
            data = dict(ctx.state.data)
            parked = data.pop(PARKED)
            ctx = replace(ctx, state=replace(ctx.state, data=data))
        outcome = _handle(ctx)
        if _leaves_report(ctx, outcome):
            assert ctx.state is not None
            parked = {"flow": ctx.state.flow, "step": ctx.state.step, "data": ctx.state.data}
        return _carry(outcome, parked)


def _leaves_report(ctx: Context, outcome: Outcome) -> bool:
    """Whether this message leaves a report draft for another dialogue (a keyword, a poll
    button) rather than answering, finishing or cancelling it."""
    state, inbound = ctx.state, ctx.inbound
    if state is None or state.flow != "report":
        return False
    if outcome.state is not None and outcome.state.flow == "report":
        # A new one-line report over an open draft (not an answer to one of its free-text
        # questions): the draft waits its turn instead of being replaced.
        starts_anew = not inbound.button and bool(line_rest(inbound.text))
        return starts_anew and (ctx.state_expired or state.step not in FREE_TEXT_STEPS)
    if poll.parse_button(inbound.button) is not None:
        return True
    command = None if inbound.button else keyword(inbound.text)
    if command is None or command in ("cancel", "report", "stop"):
        return False
    return ctx.state_expired or state.step not in FREE_TEXT_STEPS


def _carry(outcome: Outcome, parked: dict | None) -> Outcome:
    """Keep a parked draft in the next state; when the dialogue ends, offer it back."""
    if parked is None or any(isinstance(e, (OptOut, EraseMember)) for e in outcome.effects):
        return outcome
    if outcome.state is not None:
        return replace(
            outcome, state=replace(outcome.state, data={**outcome.state.data, PARKED: parked})
        )
    offer = Reply(
        _("Votre rapport n'est pas terminé. Que voulez-vous faire ?"), _resume_reply().choices
    )
    state = State("resume", "choose", {"previous": parked})
    return replace(outcome, replies=(*outcome.replies, offer), state=state)


def _handle(ctx: Context) -> Outcome:
    inbound, state = ctx.inbound, ctx.state
    if inbound.is_start:
        return _telegram_start(ctx)
    if ctx.member is not None and ctx.member.invitation is not None and state is None:
        answered = invitation.answer(ctx)  # imported, not yet joined: OUI or STOP first
        if answered is not None:
            return answered
    if poll.parse_button(inbound.button) is not None:
        return poll.tap(ctx)
    command = None if inbound.button else keyword(inbound.text)
    if command is None and not inbound.button and line_rest(inbound.text):
        command = "report"  # the one-line form: RAPPORT formation 12/11 Kayes F25 …
    if state is not None and ctx.state_expired and command is None:
        if state.flow == "poll" and ctx.poll is not None and not ctx.poll.open:
            return poll.closed_for(ctx) or membership.unknown(ctx)
        return _offer_resume(state)
    if state is not None and not ctx.state_expired:
        if command == "cancel":
            return _cancel(ctx, state)
        if command == "help":
            question = (
                FLOW_QUESTIONS[state.flow](ctx, state)
                if state.flow != "resume"
                else _resume_reply()
            )
            return Outcome((Reply(help_text(ctx)), question), state)
        # SONDAGE alone is never a poll comment: it opens the poll last invited (see poll.py).
        free_text = state.step in FREE_TEXT_STEPS and not (
            state.flow == "poll" and command == "poll"
        )
        if command is None or (free_text and command not in ALWAYS):
            if state.flow == "resume":
                return _resume_answer(ctx, state)
            return FLOW_ANSWERS[state.flow](ctx, state)
    if command == "cancel":
        return Outcome((Reply(_("Il n'y a rien à annuler.") + " " + help_text(ctx)),), None)
    if command == "report" and state is not None and state.flow == "report":
        if ctx.member is not None and not line_rest(inbound.text):
            return _offer_resume(state)  # RAPPORT again: the unfinished draft comes first
    if command is not None:
        return COMMANDS[command](ctx)
    if ctx.poll is not None and ctx.poll.open and not ctx.poll.finished:
        return poll.resume(ctx)  # a reply to the invitation, or after a pause
    return poll.closed_for(ctx) or membership.unknown(ctx)  # … or to a poll closed since


def _cancel(ctx: Context, state: State) -> Outcome:
    """ANNULER in a dialogue: said in the language the dialogue was in (a registration begun
    with /start bm or SƐBƐN is in Bambara before anything is stored)."""
    language = state.data.get("language") if state.flow == "registration" else None
    with use_locale(language or ctx.language):
        return Outcome((Reply(_("C'est annulé.") + " " + help_text(ctx)),), None, language=language)


def _telegram_start(ctx: Context) -> Outcome:
    """Telegram's Start button: welcome back, resume, or begin registration."""
    payload = (ctx.inbound.start_payload or "").strip().lower()
    if payload in ("lier", "link"):
        return link.start(ctx)
    if ctx.opted_out:
        return membership.start_again(ctx)
    if ctx.member is not None:
        return Outcome((Reply(_("Bon retour dans Benkadi !") + " " + help_text(ctx)),), None)
    if payload in LANGUAGES:
        return registration.start(ctx, language=payload, language_chosen=True)
    return registration.start(ctx, ask_language_first=True)


def _resume_reply() -> Reply:
    choices = (("resume", _("Continuer")), ("restart", _("Recommencer")), ("cancel", _("Annuler")))
    return Reply(_("Vous n'aviez pas terminé. Que voulez-vous faire ?"), choices)


def _offer_resume(state: State) -> Outcome:
    previous = {"flow": state.flow, "step": state.step, "data": state.data}
    return Outcome((_resume_reply(),), State("resume", "choose", {"previous": previous}))


def _resume_answer(ctx: Context, state: State) -> Outcome:
    choice = match_choice(ctx.inbound.button or ctx.inbound.text, _resume_reply().choices)
    previous = State(**state.data["previous"])
    if previous.flow == "poll" and choice in ("resume", "restart"):
        if ctx.poll is None or not ctx.poll.open:
            return poll.resume(ctx)  # says it is closed (or that there is none)
    if choice == "resume":
        return Outcome((FLOW_QUESTIONS[previous.flow](ctx, previous),), previous)
    if choice == "restart":
        if previous.flow == "registration":
            return registration.start(ctx, language=previous.data.get("language"))
        starts = {
            "profile": membership.profile,
            "language": membership.language,
            "erase": membership.erase,
            "link": link.start,
            "report": report.start,
            "poll": poll.resume,
        }
        return starts[previous.flow](ctx)
    if choice == "cancel":
        return Outcome((Reply(_("C'est annulé.") + " " + help_text(ctx)),), None)
    why = choice_hint(ctx.inbound.style, 3)
    reply = _resume_reply()
    return Outcome((Reply(f"{why}\n{reply.text}", reply.choices),), state)
