"""The poll dialogue: one question at a time, tolerant answers, pause and resume. Pure.

The conversation state says which poll the member was last asked about
(State("poll", step, {"poll_id", "question"})); a typed answer lands on that poll's *session*
question (the state may be stale: the member went on from another address), and a yes-word
typed after another poll's invitation arrived is not taken (it may mean that poll: the member is
asked again). Invitations ask for the poll keyword, which opens the poll last invited. Telegram
buttons carry "p:<poll id>:<question>:<option>", so a tap on an old message lands on the
question it was sent for (or is refused once the poll is closed). Skipped, answered and changed
answers become effects; the shell stores them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.flows.poll_fields import (
    invalid_why,
    option_labels,
    parse_button,
    question_reply,
    read_choices,
    read_number,
)
from bot.model import Context, MovePoll, Outcome, PollView, RecordPollAnswer, Reply, State
from bot.vocabulary.i18n import _
from bot.vocabulary.text import SKIP, fold, is_yes, keyword
from broadcasts.polls.model import Question, text_in

FLOW = "poll"
TEXT_STEP = "poll_text"  # free text: keywords other than STOP/ANNULER/AIDE are answers
CHOICE_STEP = "poll_answer"
# "Back" in French, English, Bambara (kɔ), Fulfulde (rutto "go back") and Songhay (yee "return").
BACK = frozenset({"retour", "back", "precedent", "ko", "rutto", "yee"})
TEXT_MAX = 500
# How long after its close an unfinished poll still explains a member's reply (else "not
# understood": a message weeks later is about something else).
CLOSED_NOTICE = timedelta(days=30)


# --- entering and leaving --------------------------------------------------------------------
def _ask(ctx: Context, view: PollView, question: Question, prefix: str | None = None) -> Reply:
    reply = question_reply(view.poll, view.poll_id, question, ctx.language, ctx.inbound.style)
    if prefix and reply.choices and ctx.inbound.style == "sms":
        return replace(reply, text=prefix)  # the why says how to answer; the list follows
    return replace(reply, text=f"{prefix}\n{reply.text}") if prefix else reply


def _state(view: PollView, question: Question, **data: Any) -> State:
    step = TEXT_STEP if question.kind == "text" else CHOICE_STEP
    return State(FLOW, step, {"poll_id": view.poll_id, "question": question.key, **data})


def _closed(ctx: Context) -> Outcome:
    return Outcome((Reply(_("Ce sondage est fermé. Merci de votre intérêt.")),), None)


def closed_for(ctx: Context) -> Outcome | None:
    """A member's reply about a poll that closed before they finished it: it is closed."""
    view = ctx.poll
    if view is None or view.open or view.finished:
        return None
    if view.closes_at is not None and ctx.now - view.closes_at > CLOSED_NOTICE:
        return None
    return _closed(ctx)


def resume(ctx: Context) -> Outcome:
    """SONDAGE / POLL, a reply to the invitation, or its button: start, resume or redo."""
    view = ctx.poll
    if view is None:
        return Outcome((Reply(_("Vous n'avez pas de sondage en cours.")),), None)
    if not view.open:
        return _closed(ctx)
    poll = view.poll
    title = text_in(poll.title, ctx.language)
    current = poll.question(view.question) if view.question else None
    if current is None:  # not started, or finished: from the first question
        first = poll.next_question(None, view.answers)
        assert first is not None
        intro = _(
            "Sondage « {title} » : {count} questions. ANNULER pour faire une pause, "
            "SONDAGE pour reprendre, RETOUR pour revenir en arrière."
        ).format(title=title, count=len(poll.questions))
        if view.finished:
            intro = _("Vous avez déjà répondu. Vos nouvelles réponses remplacent les anciennes.")
        replies = (Reply(intro), _ask(ctx, view, first))
        return Outcome(replies, _state(view, first), (MovePoll(view.poll_id, first.key),))
    prefix = _("On reprend le sondage « {title} ».").format(title=title)
    return Outcome(
        (Reply(prefix), _ask(ctx, view, current)),
        _state(view, current),
        (MovePoll(view.poll_id, current.key),),
    )


def ask_current(ctx: Context, state: State) -> Reply:
    view = ctx.poll
    if view is not None and not view.open:
        return _closed(ctx).replies[0]
    key = view.question if view is not None and view.question else state.data["question"]
    question = view.poll.question(key) if view else None
    if view is None or question is None:
        return Reply(_("Vous n'avez pas de sondage en cours."))
    return _ask(ctx, view, question)


def _typed_elsewhere(ctx: Context, view: PollView, state: State) -> Outcome | None:
    """A typed answer that must not be taken for the question in this address's state."""
    if view.question is None:  # finished from another address since
        return Outcome((Reply(_("Merci ! Vos réponses au sondage sont enregistrées.")),), None)
    current = view.poll.question(view.question) if view.question else None
    if current is not None and current.key != state.data.get("question"):
        # The member went on from another address: the session's question is the one waiting.
        title = text_in(view.poll.title, ctx.language)
        prefix = _("On reprend le sondage « {title} ».").format(title=title)
        return Outcome((Reply(prefix), _ask(ctx, view, current)), _state(view, current))
    if view.newer_invitation and is_yes(ctx.inbound.text) and not state.data.get("warned"):
        # "OUI" just after another poll's invitation may be meant for that poll: ask again.
        why = _(
            "Un autre sondage vient d'arriver : envoyez SONDAGE pour le commencer. "
            "Votre réponse n'est pas enregistrée ; pour le sondage « {title} », "
            "répondez de nouveau :"
        ).format(title=text_in(view.poll.title, ctx.language))
        question = view.poll.question(state.data["question"])
        assert question is not None
        return Outcome(
            (Reply(why), _ask(ctx, view, question)),
            replace(state, data={**state.data, "warned": True}),
        )
    return None


# --- reading an answer -------------------------------------------------------------------------
def _record(
    view: PollView, question: Question, value: Any, skipped: bool = False
) -> RecordPollAnswer:
    base = RecordPollAnswer(
        view.poll_id, question.key, view.poll.position(question.key), dimension=question.dimension
    )
    if skipped:
        return replace(base, skipped=True)
    if question.kind == "number":
        return replace(base, number=float(value))
    if question.kind == "text":
        return replace(base, text=value)
    chosen = tuple(value)
    return replace(
        base, options=chosen, score=question.score_of(chosen), max_score=question.max_score
    )


def _advance(
    ctx: Context, view: PollView, question: Question, value: Any, skipped: bool
) -> Outcome:
    """Store the answer and ask the next question, or thank the member at the end."""
    answers = dict(view.answers)
    answers[question.key] = None if skipped else value
    record = _record(view, question, value, skipped)
    following = view.poll.next_question(question.key, answers)
    if following is None:
        thanks = _("Merci ! Vos réponses au sondage sont enregistrées.")
        return Outcome(
            (Reply(thanks),), None, (record, MovePoll(view.poll_id, None, finished=True))
        )
    moved = replace(view, answers=answers)
    return Outcome(
        (_ask(ctx, moved, following),),
        _state(view, following),
        (record, MovePoll(view.poll_id, following.key)),
    )


def answer(ctx: Context, state: State) -> Outcome:
    """A message while a poll question is waiting for an answer."""
    view = ctx.poll
    if view is None or view.poll_id != state.data.get("poll_id"):
        return Outcome((Reply(_("Vous n'avez pas de sondage en cours.")),), None)
    if not view.open:
        return _closed(ctx)
    question = view.poll.question(state.data["question"])
    if question is None:
        return Outcome((Reply(_("Vous n'avez pas de sondage en cours.")),), None)
    button = parse_button(ctx.inbound.button)
    if button is None:
        elsewhere = _typed_elsewhere(ctx, view, state)
        if elsewhere is not None:
            return elsewhere
    text = ctx.inbound.text
    option = button[2] if button else None
    folded = fold(text) if not button else ""
    count = len(option_labels(question, ctx.language))

    def reprompt(why: str) -> Outcome:
        return Outcome((_ask(ctx, view, question, why),), state)

    if folded in BACK:
        previous = view.poll.previous_question(question.key, view.answers)
        target = previous or question
        return Outcome(
            (_ask(ctx, view, target),), _state(view, target), (MovePoll(view.poll_id, target.key),)
        )
    if option == "skip" or (
        folded in SKIP
        and not (question.kind == "number" and read_number(question, text) is not None)
    ):
        if not question.optional:
            return reprompt(
                _("Cette question est obligatoire.")
                + " "
                + invalid_why(question, count, ctx.inbound.style)
            )
        return _advance(ctx, view, question, None, skipped=True)
    if question.kind == "multiple" and button is not None:
        selection = list(state.data.get("selection", ()))
        if option == "done":
            if not selection:
                return reprompt(_("Choisissez au moins une réponse."))
            return _advance(ctx, view, question, selection, skipped=False)
        if option not in question.option_keys:
            return reprompt(invalid_why(question, count, ctx.inbound.style))
        label = dict(option_labels(question, ctx.language))[option]
        if option in selection:
            selection.remove(option)
            notice = "✗ " + label
        else:
            selection.append(option)
            notice = "✓ " + label
        new_state = replace(state, data={**state.data, "selection": selection})
        keyboard = question_reply(
            view.poll, view.poll_id, question, ctx.language, "buttons", tuple(selection)
        )
        return Outcome((), new_state, notice=notice, keyboard=keyboard)
    if question.kind == "text":
        value = text.strip()
        if not value:
            return reprompt(invalid_why(question, count, ctx.inbound.style))
        if len(value) > TEXT_MAX:
            return reprompt(
                _("Réponse trop longue : {max} caractères au plus.").format(max=TEXT_MAX)
            )
        return _advance(ctx, view, question, value, skipped=False)
    if question.kind == "number":
        number = read_number(question, text)
        if number is None:
            return reprompt(
                _("Je n'ai pas compris.") + " " + invalid_why(question, count, ctx.inbound.style)
            )
        return _advance(ctx, view, question, number, skipped=False)
    if button is not None:
        chosen = [option] if option in question.option_keys else None
    else:
        chosen = read_choices(question, text, ctx.language)
    if not chosen:
        return reprompt(
            _("Je n'ai pas compris.") + " " + invalid_why(question, count, ctx.inbound.style)
        )
    return _advance(ctx, view, question, chosen, skipped=False)


def tap(ctx: Context) -> Outcome:
    """A poll button, wherever the conversation is: the question it was sent for gets it."""
    parsed = parse_button(ctx.inbound.button)
    assert parsed is not None
    poll_id, key, option = parsed
    view = ctx.poll
    keep = ctx.state if not ctx.state_expired else None
    if view is None or view.poll_id != poll_id:
        return Outcome((Reply(_("Vous n'avez pas de sondage en cours.")),), keep)
    if not view.open:
        return Outcome((Reply(_("Ce sondage est fermé. Merci de votre intérêt.")),), keep)
    if not key:  # the invitation's "start" button
        return resume(ctx)
    state = ctx.state
    asked = state is not None and state.flow == FLOW and state.data.get("poll_id") == poll_id
    waiting = key == view.question  # else an earlier question: a change, the session stays
    if (
        state is not None
        and asked
        and state.data.get("question") == key
        and waiting
        and not ctx.state_expired
    ):
        return answer(ctx, state)
    question = view.poll.question(key)
    if question is None:
        return Outcome((), keep, notice=_("Envoyez SONDAGE pour reprendre."))
    if key == view.question and not asked:  # the waiting question, after a pause
        return answer(ctx, _state(view, question))
    reached = view.finished or (
        view.question is not None and view.poll.position(key) < view.poll.position(view.question)
    )
    if not reached or question.kind == "multiple" or option not in question.option_keys:
        return Outcome((), keep, notice=_("Envoyez SONDAGE pour reprendre."))
    # A late tap on an earlier question: the answer changes (latest wins), the dialogue stays.
    label = dict(option_labels(question, ctx.language))[option]
    record = _record(view, question, [option])
    return Outcome((), keep, (record,), notice="✓ " + label)


def poll_in_question(inbound: Any, state: State | None) -> int | None:
    """Which poll a message may be about, for the shell to load before the engine runs:
    a poll id, 0 for "the member's current poll", or None (not about a poll: nothing loaded)."""
    button = parse_button(inbound.button)
    if button is not None:
        return button[0]
    command = keyword(inbound.text) if not inbound.button else None
    if command == "poll":  # the keyword the invitations ask for: the poll last invited
        return 0
    if state is not None and state.flow == FLOW:
        return int(state.data["poll_id"])
    previous = (state.data.get("previous") or {}) if state is not None else {}
    if state is not None and state.flow == "resume" and previous.get("flow") == FLOW:
        return int(previous["data"]["poll_id"])
    if state is None and command is None and not inbound.is_start:
        return 0
    return None
