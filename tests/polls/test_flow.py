"""The poll dialogue alone: pure, through bot.engine.handle, with a simulated session store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.engine import handle
from bot.model import Context, Inbound, MovePoll, PollView, Profile, RecordPollAnswer
from tests.polls.conftest import capacity_poll

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
AWA = Profile(1, "Awa", "AMSS", "kayes", None, ("vbg",), "fr")
POLL = capacity_poll()


class Member:
    """Carries the state and the session between messages, as the shell and store would."""

    def __init__(self, channel: str = "sms", open_: bool = True) -> None:
        self.channel, self.state, self.open = channel, None, open_
        self.view = PollView(3, POLL, open_, None, False, {})
        self.recorded: list[RecordPollAnswer] = []

    def say(self, text: str = "", button: str | None = None, expired: bool = False):
        inbound = Inbound(self.channel, text, button=button)
        base = Context(inbound, "fr", AWA, self.state, expired, False, (), NOW, "000000")
        outcome = handle(replace(base, poll=self.view))
        for effect in outcome.effects:
            if isinstance(effect, RecordPollAnswer):
                self.recorded.append(effect)
                answers = dict(self.view.answers)
                answers[effect.question] = None if effect.skipped else (
                    list(effect.options) or effect.number or effect.text
                )  # fmt: skip
                self.view = replace(self.view, answers=answers)
            if isinstance(effect, MovePoll):
                finished = self.view.finished or effect.finished  # as stored: never unset
                self.view = replace(self.view, question=effect.question, finished=finished)
        self.state = outcome.state
        return outcome

    def answer(self, key: str):
        return next(r for r in reversed(self.recorded) if r.question == key)


def texts(outcome) -> list[str]:
    return [reply.text for reply in outcome.replies]


def test_tolerant_answers_back_and_skip():
    awa = Member()
    assert texts(awa.say("SONDAGE"))[1].startswith("1/12")
    awa.say("oui")
    awa.say("deux")  # the second option: no
    assert awa.answer("plan-strategique").options == ("no",)
    assert texts(awa.say("RETOUR"))[0].startswith("2/12")  # back to question 2
    awa.say("Oui.")
    assert awa.answer("plan-strategique").options == ("yes",)  # latest wins
    awa.say("1")
    [why] = texts(awa.say("mille deux cents"))
    assert "de 0 à 1000" in why
    awa.say("Nous sommes 12.")
    assert awa.answer("salaries").number == 12
    awa.say("0")  # zero volunteers: a number, not a skip
    assert awa.answer("benevoles").number == 0
    [required] = texts(awa.say("PASSER"))  # question 6 is not optional
    assert "obligatoire" in required and "1 à 3" in required
    awa.say("la moitié ou plus")  # the option's text
    assert awa.answer("femmes-direction").options == ("moitie",)
    awa.say("3")
    awa.say("non")  # no referral: the next question is skipped
    assert awa.view.question == "financement"
    awa.say("1 et 3")
    assert awa.answer("financement").options == ("cotisations", "partenaires")
    assert awa.answer("financement").score == 2 and awa.answer("financement").max_score == 4
    awa.say("passer")
    assert awa.answer("formation").skipped
    outcome = awa.say("STOP")  # STOP always works: an opt-out, not an answer
    assert awa.view.question == "commentaire" and outcome.state is None


def test_a_closed_poll_says_so():
    awa = Member()
    awa.say("SONDAGE")
    awa.view = replace(awa.view, open=False)
    [closed] = texts(awa.say("1"))
    assert "fermé" in closed and not awa.recorded


def closed(member: Member, ago: timedelta = timedelta(hours=1)) -> None:
    member.view = replace(member.view, open=False, closes_at=NOW - ago)


def test_a_paused_or_never_started_member_is_told_the_poll_closed():
    awa = Member()
    awa.say("SONDAGE")
    awa.say("ANNULER")  # a pause: no conversation state left
    closed(awa)
    [reply] = texts(awa.say("oui"))
    assert "fermé" in reply and not awa.recorded
    never = Member()  # invited, never started
    closed(never)
    [reply] = texts(never.say("1"))
    assert "fermé" in reply and never.view.question is None
    long_ago = Member()  # a message weeks after the close is about something else
    closed(long_ago, timedelta(days=60))
    assert "fermé" not in texts(long_ago.say("bonjour"))[0]


def test_after_the_state_expired_continuer_does_not_reask_a_closed_poll():
    awa = Member()
    awa.say("SONDAGE")
    closed(awa)
    [reply] = texts(awa.say("oui", expired=True))  # a day later, the poll closed meanwhile
    assert "fermé" in reply and awa.state is None and not awa.recorded
    bob = Member()
    bob.say("SONDAGE")
    [offer] = texts(bob.say("bonjour", expired=True))  # still open: the resume choice
    assert "pas terminé" in offer
    closed(bob)  # closes before the member chooses
    [reply] = texts(bob.say("1"))  # Continuer
    assert "fermé" in reply and bob.state is None
    assert "fermé" in texts(bob.say("oui"))[0] and not bob.recorded


def test_a_typed_answer_goes_to_the_sessions_question_not_a_stale_one():
    sms = Member()
    sms.say("SONDAGE")
    sms.say("oui")  # question 2 waits in the SMS address's state
    telegram = Member("telegram")  # the same member goes on in Telegram
    telegram.view = sms.view
    telegram.say("SONDAGE")
    telegram.say("non")
    telegram.say("oui")
    assert telegram.view.question == "salaries"
    sms.view = telegram.view
    back, question = texts(sms.say("1"))  # meant for question 2 hours ago: not taken
    assert "reprend" in back and question.startswith("4/12")
    assert sms.recorded[-1].question == "recepisse"
    sms.say("12")
    assert sms.answer("salaries").number == 12
    # A Telegram tap on the question of that stale state changes the answer, explicitly; the
    # session stays where it is.
    sms.state = telegram.state = replace(telegram.state, data={"poll_id": 3, "question": "audit"})
    telegram.view = sms.view
    assert telegram.say(button="p:3:audit:no").notice == "✓ Non"
    assert telegram.answer("audit").options == ("no",) and telegram.view.question == "benevoles"
    # A typed answer after finishing elsewhere is not taken either.
    telegram.view = replace(sms.view, question=None, finished=True)
    sms.view = telegram.view
    [thanks] = texts(sms.say("3"))
    assert "enregistrées" in thanks and sms.state is None and len(sms.recorded) == 2


def test_telegram_multi_select_and_skip_buttons():
    awa = Member("telegram")
    awa.say("SONDAGE")
    awa.view = replace(awa.view, question="financement")
    awa.state = replace(awa.state, data={"poll_id": 3, "question": "financement"})
    ticked = awa.say(button="p:3:financement:etat")
    assert ticked.notice.startswith("✓")
    # The pressed message gets its buttons again, with the tick on the option chosen.
    marked = [label for key, label in ticked.keyboard.choices if label.startswith("✓ ")]
    assert marked == [ticked.notice] and ticked.keyboard.choices[-1][0] == "p:3:financement:done"
    done = awa.say(button="p:3:financement:done")
    assert awa.answer("financement").options == ("etat",)
    assert [key for key, _ in done.replies[0].choices][-1] == "p:3:formation:skip"
    awa.say(button="p:3:formation:skip")
    assert awa.answer("formation").skipped
    # A button of another poll than this session's is refused, not attributed.
    outcome = awa.say(button="p:4:recepisse:yes")
    assert "pas de sondage" in texts(outcome)[0] and awa.answer("formation").skipped


def test_after_finishing_sondage_goes_through_again_and_a_pause_resumes_it():
    awa = Member()
    awa.view = replace(awa.view, finished=True, answers={"recepisse": ["yes"]})
    again, first = texts(awa.say("SONDAGE"))
    assert "remplacent" in again and first.startswith("1/12")
    awa.say("non")
    assert awa.answer("recepisse").options == ("no",)
    awa.say("ANNULER")
    _back, second = texts(awa.say("SONDAGE"))
    assert second.startswith("2/12")  # resumed where the new pass was, not from the start
