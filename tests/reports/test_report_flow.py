"""The RAPPORT dialogue in the engine alone: guided, one line, edit, cancel, drafts, reminders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.engine import handle
from bot.model import Context, Inbound, Profile, SaveReport
from bot.vocabulary.i18n import in_language

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
AWA = Profile(1, "Awa", "AMSS", "kayes", None, ("vbg",), "fr")
REMINDER = "Rappel : n'écrivez jamais le nom d'une survivante."


def ctx(text="", *, channel="sms", state=None, member=AWA, media=None, **more) -> Context:
    inbound = Inbound(channel, text, media=media)
    base = Context(inbound, "fr", member, state, False, False, (), NOW, "424242")
    return replace(base, **more)


def run(lines, **kw):
    state, outcomes = None, []
    for line in lines:
        media = None
        if isinstance(line, tuple):
            line, media = line
        outcome = handle(ctx(line, state=state, media=media, **kw))
        outcomes.append(outcome)
        state = outcome.state
    return outcomes


def saves(outcomes) -> list[dict]:
    return [e.data for o in outcomes for e in o.effects if isinstance(e, SaveReport)]


def texts(outcomes) -> list[str]:
    return [r.text for o in outcomes for r in o.replies]


def test_guided_report_asks_every_question_and_saves_only_on_confirm():
    outcomes = run(
        ["RAPPORT", "2", "hier", "1", "Diéma", "25 10 5 3", "Formation des leaders", "1"]
    )
    assert [o.state.step if o.state else None for o in outcomes] == [
        "activity", "when", "region_keep", "commune", "beneficiaries", "description", "confirm",
        None,
    ]  # fmt: skip
    assert saves(outcomes[:-1]) == []
    [saved] = saves(outcomes)
    assert saved == {
        "channel": "sms",
        "activity": "formation",
        "date": "2026-11-28",
        "region": "kayes",
        "commune": "Diéma",
        "women": 25,
        "men": 10,
        "girls": 5,
        "boys": 3,
        "description": "Formation des leaders",
    }
    summary = outcomes[-2].replies[0].text
    assert "Kayes, Diéma" in summary and "(= 43)" in summary and "28/11/2026" in summary
    # The survivors' reminder comes once, with the description question.
    assert sum(REMINDER in text for text in texts(outcomes)) == 1
    assert REMINDER in outcomes[5].replies[0].text


def test_bad_answers_are_asked_again_with_why():
    outcomes = run(
        [
            "RAPPORT",
            "atelier de cuisine",  # unknown type
            "4",
            "demain",  # unreadable
            "30/11/2026",  # future
            "01/01/2020",  # more than a year ago
            "12/11",
            "2",  # another region
            "sikasso",
            "0",  # no commune
            "-1 2 3 4",
            "1 2 3 999999",
            "1 2 3",
            "1 2 3 4",
        ]
    )
    replies = texts(outcomes)
    assert "Je ne connais pas ce type d'activité" in replies[1]
    assert "Je n'ai pas compris cette date" in replies[3]
    assert "Cette date est dans le futur" in replies[4]
    assert "plus d'un an" in replies[5]
    assert "négatifs" in replies[10]
    assert "trop grand (au plus 100000)" in replies[11]
    assert "Il faut 4 nombres" in replies[12]
    state = outcomes[-1].state
    assert state.step == "description"
    assert state.data["date"] == "2026-11-12" and state.data["region"] == "sikasso"
    assert state.data["commune"] is None and state.data["activity"] == "accompagnement"


def test_the_maximum_comes_from_the_context():
    outcomes = run(["RAPPORT", "1", "bi", "1", "0", "1 2 3 60"], report_max_beneficiaries=50)
    assert "au plus 50" in texts(outcomes)[-1]


def test_bambara_member_gets_questions_and_why_in_bambara():
    outcomes = run(["BAARA", "kalan", "kunu", "1", "0", "1 2 -3 4"], language="bm")
    assert outcomes[0].replies[0].text.endswith(in_language("bm", "Quel type d'activité ?"))
    assert in_language("bm", "Les nombres ne peuvent pas être négatifs.") in texts(outcomes)[-1]
    assert outcomes[-1].state.data["activity"] == "formation"


def test_one_line_report_goes_straight_to_the_summary():
    outcomes = run(["RAPPORT formation 12/11 Kayes F25 H10 FI5 G3 Formation des leaders", "1"])
    first = outcomes[0].replies[0].text
    assert outcomes[0].state.step == "confirm" and REMINDER in first
    [saved] = saves(outcomes)
    assert saved["women"] == 25 and saved["boys"] == 3 and saved["region"] == "kayes"


def test_one_line_report_falls_back_to_the_questions_it_still_needs():
    outcomes = run(["RAPPORT xyz 12/11 F25 H10", "3", "1", "0", "25 10 5 3", "Plaidoyer", "1"])
    assert "Je ne connais pas ce type d'activité" in outcomes[0].replies[0].text
    assert outcomes[1].state.step == "region_keep"  # the date was read: not asked again
    assert "Il faut 4 nombres" in outcomes[3].replies[0].text  # why, when its turn comes
    [saved] = saves(outcomes)
    assert saved["activity"] == "plaidoyer" and saved["date"] == "2026-11-12"


def test_edit_then_confirm_and_cancel():
    line = "RAPPORT formation 12/11 Kayes F25 H10 FI5 G3 Formation des leaders"
    outcomes = run([line, "2", "5", "30 10 5 3", "1"])
    assert outcomes[1].state.step == "edit" and outcomes[3].state.step == "confirm"
    assert "30 femmes" in outcomes[3].replies[0].text and "(= 48)" in outcomes[3].replies[0].text
    assert saves(outcomes)[0]["women"] == 30
    outcomes = run([line, "3"])
    assert outcomes[-1].state is None and saves(outcomes) == []
    assert "Rapport annulé" in texts(outcomes)[-1]


def test_only_members_report():
    [outcome] = run(["RAPPORT"], member=None)
    assert outcome.state is None and "INSCRIPTION" in outcome.replies[0].text
    [outcome] = run(["RAPPORT formation bi Kayes F1 H1 FI1 G1 test"], member=None)
    assert outcome.state is None and not outcome.effects


def test_an_expired_draft_is_offered_for_resume_and_never_saved():
    [*_, half] = run(["RAPPORT", "2", "hier"])
    draft = half.state
    resumed = handle(ctx("1", state=draft, state_expired=True))
    assert resumed.state.flow == "resume" and not resumed.effects
    back = handle(ctx("1", state=resumed.state))
    assert back.state == draft and "région" in back.replies[0].text
    # RAPPORT again while a draft is open: the draft is offered first.
    again = handle(ctx("RAPPORT", state=draft))
    assert again.state.flow == "resume" and again.state.data["previous"]["data"] == draft.data
    restarted = handle(ctx("2", state=again.state))
    assert restarted.state.step == "activity" and restarted.state.data == {"channel": "sms"}


def test_telegram_photo_step_and_photo_sent_early():
    lines = ["RAPPORT", "1", "bi", "1", ("", "PHOTO-1"), "0", "1 1 1 1", "Causerie", "1"]
    outcomes = run(lines, channel="telegram")
    assert "Photo reçue." in texts(outcomes)[4]
    assert outcomes[4].state.step == "commune"
    # The photo question is skipped: one came already.
    assert outcomes[7].state.step == "confirm"
    [saved] = saves(outcomes)
    assert (saved["photo"], saved["media_kind"]) == ("PHOTO-1", "telegram")
    outcomes = run(["RAPPORT", "1", "bi", "1", "0", "1 1 1 1", "Causerie", "skip", "1"],
                   channel="telegram")  # fmt: skip
    assert outcomes[6].state.step == "photo"
    assert saves(outcomes)[0]["photo"] is None


def test_whatsapp_media_url_is_kept_to_be_fetched_from_twilio():
    outcomes = run(
        [("RAPPORT formation bi Kayes F1 H1 FI1 G1 Causerie", "https://api.twilio.com/m/ME1"), "1"],
        channel="whatsapp",
    )
    [saved] = saves(outcomes)
    assert (saved["photo"], saved["media_kind"]) == ("https://api.twilio.com/m/ME1", "twilio")


def test_a_draft_left_for_a_poll_is_kept_and_offered_back():
    """SONDAGE, or a poll button, in the middle of a report: the draft is not lost."""
    from bot.model import PollView
    from tests.polls.conftest import capacity_poll

    view = PollView(3, capacity_poll(), True, None, False, {})
    outcomes = run(["RAPPORT", "2", "hier"])
    assert outcomes[-1].state.step == "region_keep"
    draft = outcomes[-1].state
    for switch in ({"text": "SONDAGE"}, {"text": "", "button": "p:3:start"}):
        inbound = Inbound("sms", switch["text"], button=switch.get("button"))
        polled = handle(replace(ctx(state=draft, poll=view), inbound=inbound))
        assert polled.replies[1].text.startswith("1/12") and polled.state.flow == "poll"
        paused = handle(ctx("ANNULER", state=polled.state, poll=view))
        assert "annulé" in paused.replies[0].text
        assert "rapport n'est pas terminé" in paused.replies[-1].text
        back = handle(ctx("1", state=paused.state))  # Continuer: where the draft was
        assert back.state == draft
    rest = run_from(draft, ["1", "Diéma", "25 10 5 3", "Formation", "1"])
    [saved] = saves(rest)
    assert saved["activity"] == "formation" and saved["women"] == 25
    assert not any("parked" in key for key in saved)


def test_a_finished_poll_offers_the_draft_back():
    from bot.model import PollView
    from tests.polls.conftest import capacity_poll

    poll = capacity_poll()
    last = poll.questions[-1]
    view = PollView(3, poll, True, last.key, False, {})
    draft = run(["RAPPORT", "2"])[-1].state
    asked = handle(replace(ctx("SONDAGE", state=draft, poll=view)))
    done = handle(ctx("Rien à ajouter", state=asked.state, poll=view))
    assert "Merci" in done.replies[0].text and "pas terminé" in done.replies[-1].text
    assert handle(ctx("1", state=done.state)).state == draft


def run_from(state, lines):
    outcomes = []
    for line in lines:
        outcome = handle(ctx(line, state=state))
        outcomes.append(outcome)
        state = outcome.state
    return outcomes


def test_a_one_line_report_over_an_open_draft_keeps_the_draft():
    """RAPPORT formation … sent while a guided report waits: the new one goes first, the
    draft is offered back when it is saved."""
    draft = run(["RAPPORT", "2", "hier"])[-1].state
    day = (NOW - timedelta(days=2)).strftime("%d/%m")
    line = f"RAPPORT plaidoyer {day} Mopti F7 H0 FI12 G4 Marche"
    summary = handle(ctx(line, state=draft))
    assert "Vérifiez votre rapport" in summary.replies[0].text
    saved = handle(ctx("1", state=summary.state))
    [report] = [e.data for e in saved.effects if isinstance(e, SaveReport)]
    assert report["activity"] == "plaidoyer" and report["girls"] == 12
    assert "rapport n'est pas terminé" in saved.replies[-1].text
    assert handle(ctx("1", state=saved.state)).state == draft
