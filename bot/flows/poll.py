"""The poll dialogue: one question at a time, tolerant answers, pause and resume. Pure.

The conversation state says which poll and question the member was last asked
(State("poll", step, {"poll_id", "question"})), so an answer lands on that question of that
poll, whatever other poll opened since. Telegram buttons carry "p:<poll id>:<question>:<option>",
so a tap on an old message lands on the question it was sent for (or is refused once the poll
is closed). Skipped, answered and changed answers become effects; the shell stores them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot.i18n import _, use_locale
from bot.model import Context, MovePoll, Outcome, PollView, RecordPollAnswer, Reply, State
from bot.render import sms_page
from bot.text import NO, SKIP, YES, fold, keyword, match_choice, match_many
from broadcasts.polls.model import Poll, Question, text_in

FLOW = "poll"
TEXT_STEP = "poll_text"  # free text: keywords other than STOP/ANNULER/AIDE are answers
CHOICE_STEP = "poll_answer"
BACK = frozenset({"retour", "back", "precedent", "ko"})
TEXT_MAX = 500
NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
# "deux", "fila": numbers as words, French and Bambara.
NUMBER_WORDS = {
    "un": "1", "une": "1", "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "six": "6",
    "sept": "7", "huit": "8", "neuf": "9", "dix": "10", "kelen": "1", "fila": "2", "saba": "3",
    "naani": "4", "duuru": "5", "wooro": "6", "wolonwula": "7", "seegin": "8", "kononto": "9",
}  # fmt: skip


# --- how a question looks ------------------------------------------------------------------
def button_key(poll_id: int, question: str, option: str) -> str:
    return f"p:{poll_id}:{question}:{option}"


def parse_button(data: str | None) -> tuple[int, str, str] | None:
    """(poll id, question, option) from a poll button's callback data."""
    parts = (data or "").split(":")
    if len(parts) == 4 and parts[0] == "p" and parts[1].isdigit():
        return int(parts[1]), parts[2], parts[3]
    if len(parts) == 3 and parts[0] == "p" and parts[1].isdigit():  # the invitation's button
        return int(parts[1]), "", parts[2]
    return None


def _labels(question: Question, language: str) -> list[tuple[str, str]]:
    if question.kind == "yes_no":
        return [("yes", _("Oui")), ("no", _("Non"))]
    return [(o.key, text_in(o.texts, language)) for o in question.options]


def question_reply(
    poll: Poll,
    poll_id: int,
    question: Question,
    language: str,
    style: str,
    selection: tuple[str, ...] = (),
) -> Reply:
    """The question as a Reply: numbered over SMS, buttons in Telegram (✓ marks a selection)."""
    number = f"{poll.position(question.key) + 1}/{len(poll.questions)}"
    text = f"{number} {text_in(question.texts, language)}"
    if question.optional and style == "sms":
        text += " " + _("(facultatif : PASSER)")
    choices = [
        (button_key(poll_id, question.key, key), ("✓ " if key in selection else "") + label)
        for key, label in _labels(question, language)
    ]
    if style == "buttons":
        if question.kind == "multiple":
            choices.append((button_key(poll_id, question.key, "done"), _("Terminé")))
        if question.optional:
            choices.append((button_key(poll_id, question.key, "skip"), _("Passer")))
    return Reply(text, tuple(choices))


def sms_question(poll: Poll, question: Question, language: str) -> str:
    """The SMS a question becomes (to check, when a poll is loaded, that it fits one SMS)."""
    with use_locale(language):
        return sms_page(question_reply(poll, 0, question, language, "sms"))[0]


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
    question = view.poll.question(state.data["question"]) if view else None
    if view is None or question is None:
        return Reply(_("Vous n'avez pas de sondage en cours."))
    return _ask(ctx, view, question)


# --- reading an answer -------------------------------------------------------------------------
def _invalid(question: Question, count: int) -> str:
    if question.kind == "multiple":
        return _("Répondez par un ou plusieurs numéros de 1 à {count}, ex. 1 3").format(count=count)
    if question.kind == "number":
        return _("Répondez par un nombre de {min} à {max}.").format(
            min=_number_text(question.minimum), max=_number_text(question.maximum)
        )
    return _("Répondez par un numéro de 1 à {count}.").format(count=count)


def _number_text(value: float | None) -> str:
    return str(int(value)) if value is not None and value == int(value) else str(value)


def _words_to_digits(text: str) -> str:
    return " ".join(NUMBER_WORDS.get(word, word) for word in fold(text).split(" "))


def _read_number(question: Question, text: str) -> float | None:
    """ "12", "12 personnes", "Nous sommes 12.", "-3" (then out of range), or a number word
    alone ("deux", "fila"); two numbers ("10 ou 12") or "mille deux cents" are not read."""
    found = NUMBER.findall(NUMBER_WORDS.get(fold(text), text))
    if len(found) != 1:
        return None
    match = NUMBER.search(found[0])
    if match is None:
        return None
    value = float(match[0].replace(",", "."))
    value = int(value) if value == int(value) else value
    assert question.minimum is not None and question.maximum is not None
    return value if question.minimum <= value <= question.maximum else None


def _read_choices(question: Question, text: str, language: str) -> list[str] | None:
    labels = _labels(question, language)
    if question.kind == "yes_no":
        folded = fold(text)
        if folded in YES:
            return ["yes"]
        if folded in NO:
            return ["no"]
    words = _words_to_digits(text)
    if question.kind == "multiple":
        return match_many(text, labels) or match_many(words, labels)
    key = match_choice(text, labels) or match_choice(words, labels)
    return [key] if key else None


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
    text = ctx.inbound.text
    option = button[2] if button else None
    folded = fold(text) if not button else ""
    count = len(_labels(question, ctx.language))

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
        and not (question.kind == "number" and _read_number(question, text) is not None)
    ):
        if not question.optional:
            return reprompt(_("Cette question est obligatoire.") + " " + _invalid(question, count))
        return _advance(ctx, view, question, None, skipped=True)
    if question.kind == "multiple" and button is not None:
        selection = list(state.data.get("selection", ()))
        if option == "done":
            if not selection:
                return reprompt(_("Choisissez au moins une réponse."))
            return _advance(ctx, view, question, selection, skipped=False)
        if option not in question.option_keys:
            return reprompt(_invalid(question, count))
        label = dict(_labels(question, ctx.language))[option]
        if option in selection:
            selection.remove(option)
            notice = "✗ " + label
        else:
            selection.append(option)
            notice = "✓ " + label
        new_state = replace(state, data={**state.data, "selection": selection})
        return Outcome((), new_state, notice=notice)
    if question.kind == "text":
        value = text.strip()
        if not value:
            return reprompt(_invalid(question, count))
        if len(value) > TEXT_MAX:
            return reprompt(
                _("Réponse trop longue : {max} caractères au plus.").format(max=TEXT_MAX)
            )
        return _advance(ctx, view, question, value, skipped=False)
    if question.kind == "number":
        number = _read_number(question, text)
        if number is None:
            return reprompt(_("Je n'ai pas compris.") + " " + _invalid(question, count))
        return _advance(ctx, view, question, number, skipped=False)
    if button is not None:
        chosen = [option] if option in question.option_keys else None
    else:
        chosen = _read_choices(question, text, ctx.language)
    if not chosen:
        return reprompt(_("Je n'ai pas compris.") + " " + _invalid(question, count))
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
    if asked and state.data.get("question") == key and not ctx.state_expired:
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
    label = dict(_labels(question, ctx.language))[option]
    record = _record(view, question, [option])
    return Outcome((), keep, (record,), notice="✓ " + label)


def poll_in_question(inbound: Any, state: State | None) -> int | None:
    """Which poll a message may be about, for the shell to load before the engine runs:
    a poll id, 0 for "the member's current poll", or None (not about a poll: nothing loaded)."""
    button = parse_button(inbound.button)
    if button is not None:
        return button[0]
    if state is not None and state.flow == FLOW:
        return int(state.data["poll_id"])
    previous = (state.data.get("previous") or {}) if state is not None else {}
    if state is not None and state.flow == "resume" and previous.get("flow") == FLOW:
        return int(previous["data"]["poll_id"])
    command = keyword(inbound.text) if not inbound.button else None
    if command == "poll" or (state is None and command is None and not inbound.is_start):
        return 0
    return None
