"""The dialogue engine alone: pure, no database, no network."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.engine import handle
from bot.flows.link import code_digest
from bot.model import (
    Context,
    Inbound,
    LinkPhone,
    OptOut,
    Profile,
    SaveRegistration,
    SendSms,
    SetLanguage,
    State,
)
from bot.vocabulary.i18n import in_language

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
AWA = Profile(1, "Awa", "AMSS", "kayes", None, ("vbg",), "fr")


def ctx(text="", *, channel="sms", state=None, member=None, button=None, **more) -> Context:
    inbound = Inbound(channel, text, button=button, is_start=text.startswith("/start"))
    base = Context(
        inbound, "fr", member, state, False, False, ("AMSS", "Wildaf Mali"), NOW, "424242"
    )
    return replace(base, **more)


def run(lines, **kw):
    """Feed lines through the engine, carrying the state; returns every outcome."""
    state, outcomes = None, []
    for line in lines:
        outcome = handle(ctx(line, state=state, **kw))
        outcomes.append(outcome)
        state = outcome.state
    return outcomes


def test_registration_collects_every_field_then_saves_once():
    outcomes = run(["INSCRIPTION", "Awa", "2", "kayes", "0", "1 3", "fr", "1", "2", "oui", "1"])
    saves = [e for o in outcomes for e in o.effects if isinstance(e, SaveRegistration)]
    assert len(saves) == 1
    data = saves[0].data
    assert (data["name"], data["organisation"], data["region"], data["cercle"]) == (
        "Awa",
        "Wildaf Mali",
        "kayes",
        None,
    )
    assert data["themes"] == ["vbg", "paix_securite"] and data["language"] == "fr"
    assert (data["sex"], data["age_band"]) == ("f", "25-35")
    assert outcomes[-1].state is None


def test_refusing_consent_keeps_nothing():
    outcomes = run(["INSCRIPTION", "Awa", "AMSS", "kayes", "0", "1", "1", "3", "4", "non"])
    assert outcomes[-1].state is None and not outcomes[-1].effects


def test_help_inside_a_flow_answers_and_asks_the_question_again():
    [*_, outcome] = run(["INSCRIPTION", "Awa", "AIDE"])
    assert len(outcome.replies) == 2 and "organisation" in outcome.replies[1].text
    assert outcome.state.step == "organisation"


def test_stop_works_in_the_middle_of_a_dialogue():
    [*_, outcome] = run(["INSCRIPTION", "Awa", "STOP"])
    assert outcome.effects == (OptOut(),) and outcome.state is None


def test_cancel_ends_the_dialogue():
    [*_, outcome] = run(["INSCRIPTION", "annuler"])
    assert outcome.state is None and "annulé" in outcome.replies[0].text


def test_a_name_that_looks_like_a_keyword_is_a_name_in_free_text_steps():
    [*_, outcome] = run(["INSCRIPTION", "Kan"])  # KAN (language) typed as a name
    assert outcome.state.step == "organisation" and outcome.state.data["name"] == "Kan"


def test_garbled_answer_reprompts_with_the_valid_range_in_the_members_language():
    state = State(
        "registration", "region", {"name": "Awa", "organisation": "AMSS", "language": "fr"}
    )
    outcome = handle(ctx("Paris", state=state))
    assert outcome.state.step == "region" and "1 à 20" in outcome.replies[0].text


def test_telegram_multi_select_toggles_quietly_then_done():
    state = State("registration", "themes", {"name": "Awa"})
    first = handle(ctx("vbg", channel="telegram", state=state, button="vbg"))
    assert first.replies == () and first.notice.startswith("✓")
    second = handle(ctx("sante", channel="telegram", state=first.state, button="sante"))
    third = handle(ctx("vbg", channel="telegram", state=second.state, button="vbg"))
    assert third.notice.startswith("✗")
    done = handle(ctx("done", channel="telegram", state=third.state, button="done"))
    assert done.state.data["themes"] == ["sante"] and done.state.step == "language"


def test_done_with_nothing_selected_asks_again():
    state = State("registration", "themes", {"name": "Awa"})
    outcome = handle(ctx("done", channel="telegram", state=state, button="done"))
    assert outcome.state.step == "themes" and "au moins" in outcome.replies[0].text


def test_unknown_text_from_a_stranger_gets_the_welcome_and_from_a_member_short_help():
    stranger = handle(ctx("bonjour"))
    member = handle(ctx("bonjour", member=AWA))
    assert "INSCRIPTION" in stranger.replies[0].text
    assert "PROFIL" in member.replies[0].text and "compris" in member.replies[0].text


def test_language_change_replies_in_the_new_language():
    outcomes = run(["LANGUE", "2"], member=AWA)
    assert outcomes[-1].language == "bm"


def test_telegram_start_asks_language_first_and_deep_link_chooses_it():
    plain = handle(ctx("/start", channel="telegram"))
    assert plain.state.step == "first_language" and len(plain.replies[0].choices) == 5
    linked = handle(
        replace(
            ctx("/start bm", channel="telegram"),
            inbound=Inbound("telegram", "/start bm", is_start=True, start_payload="bm"),
        )
    )
    assert linked.state.step == "name" and linked.state.data["language"] == "bm"


def test_link_sends_a_code_by_sms_and_accepts_it():
    start = handle(ctx("LIER", channel="telegram", member=AWA))
    asked = handle(ctx("76 12 34 56", channel="telegram", member=AWA, state=start.state))
    [sms] = [e for e in asked.effects if isinstance(e, SendSms)]
    assert sms.phone == "+22376123456" and "424242" in sms.text
    assert asked.state.data["digest"] == code_digest("+22376123456", "424242")
    done = handle(ctx("424 242", channel="telegram", member=AWA, state=asked.state))
    assert done.effects == (LinkPhone("+22376123456"),) and done.state is None


def test_link_gives_up_after_three_wrong_codes_and_codes_expire():
    state = handle(
        ctx("76123456", channel="telegram", member=AWA, state=State("link", "phone", {}))
    ).state
    for _ in range(2):
        state = handle(ctx("000000", channel="telegram", member=AWA, state=state)).state
        assert state is not None
    last = handle(ctx("000000", channel="telegram", member=AWA, state=state))
    assert last.state is None and not last.effects
    late = handle(
        ctx("424242", channel="telegram", member=AWA, state=state, now=NOW + timedelta(hours=1))
    )
    assert late.state is None and not late.effects


def test_link_over_sms_points_to_telegram():
    outcome = handle(ctx("LIER", member=AWA))
    assert outcome.state is None and "Telegram" in outcome.replies[0].text


def test_expired_dialogue_offers_resume_or_restart():
    state = State("registration", "region", {"name": "Awa", "organisation": "AMSS"})
    offer = handle(ctx("hello", state=state, state_expired=True))
    assert offer.state.flow == "resume"
    restarted = handle(ctx("2", state=offer.state))
    assert restarted.state.step == "name" and restarted.state.data == {}
    resumed = handle(ctx("1", state=offer.state))
    assert resumed.state == state


def test_erase_asks_for_confirmation():
    outcomes = run(["OUBLIER", "2"], member=AWA)
    assert outcomes[0].state.flow == "erase" and outcomes[-1].effects == ()


# --- rough edges (issue 15) ------------------------------------------------------------------
def test_join_and_register_start_registration_in_english():
    for word in ("JOIN", "register"):
        outcome = handle(ctx(word))
        assert outcome.language == "en" and outcome.effects == (SetLanguage("en"),)
        assert "What is your full name?" in outcome.replies[0].text


def test_garbled_answer_to_buttons_says_tap_a_button_and_over_sms_a_number():
    region = State("registration", "region", {"name": "Awa", "organisation": "AMSS"})
    by_telegram = handle(ctx("Tokyo", channel="telegram", state=region)).replies[0].text
    assert "Touchez un des boutons" in by_telegram and "numéro" not in by_telegram
    by_sms = handle(ctx("Tokyo", state=region)).replies[0].text
    assert "Répondez par un numéro de 1 à 20." in by_sms
    consent = State("registration", "consent", {"name": "Awa", "language": "en"})
    assert (
        "Tap Yes or No."
        in handle(ctx("peut-être", channel="telegram", state=consent)).replies[0].text
    )
    assert "Reply 1 (Yes) or 2 (No)." in handle(ctx("peut-être", state=consent)).replies[0].text


def test_a_reprompt_fits_the_channel_in_the_members_language():
    erase = State("erase", "confirm", {})
    reply = handle(replace(ctx("hmm", channel="telegram", state=erase), language="bm")).replies[0]
    assert reply.text.startswith(in_language("bm", "Touchez Oui ou Non."))


def test_start_bm_then_bila_cancels_in_bambara_and_the_address_keeps_bambara():
    start = handle(
        replace(
            ctx("/start bm", channel="telegram"),
            inbound=Inbound("telegram", "/start bm", is_start=True, start_payload="bm"),
        )
    )
    assert start.effects == (SetLanguage("bm"),) and start.language == "bm"
    cancel = handle(ctx("BILA", channel="telegram", state=start.state))
    assert cancel.state is None and cancel.language == "bm"
    assert cancel.replies[0].text.startswith(in_language("bm", "C'est annulé."))


def test_a_multi_select_tap_gives_the_keyboard_with_ticks_and_a_toast():
    themes = State("registration", "themes", {"name": "Awa", "language": "fr"})
    outcome = handle(ctx("vbg", channel="telegram", button="vbg", state=themes))
    assert outcome.replies == () and outcome.notice.startswith("✓ ")
    ticked = [label for _key, label in outcome.keyboard.choices if label.startswith("✓")]
    assert ticked == [outcome.notice]


@pytest.mark.parametrize(
    "text",
    ["MES DONNÉES", "mes donnees", "My data", "N ka kunnafoniw", "KABAARU AM", "Ay alhabarey"],
)
def test_my_data_gives_the_summary_and_how_to_get_the_copy(text):
    outcome = handle(ctx(text, member=AWA))
    (reply,) = outcome.replies
    assert "Awa" in reply.text and "AMSS" in reply.text and "n° 1" in reply.text
    assert outcome.state is None and outcome.effects == ()


def test_my_data_says_the_sex_and_age_band_held():
    # Held since the directory (issue 17): the summary must not say "-" for what is kept.
    (reply,) = handle(ctx("MES DONNÉES", member=replace(AWA, sex="f", age_band="25-35"))).replies
    assert "Sexe : Femme" in reply.text and "Âge : 25-35 ans" in reply.text


def test_my_data_for_a_stranger_says_what_little_is_kept():
    (reply,) = handle(ctx("MES DONNEES")).replies
    assert "pas inscrit" in reply.text


def test_my_data_in_the_members_language():
    outcome = handle(replace(ctx("MY DATA", member=AWA), language="en"))
    assert "Benkadi keeps" in outcome.replies[0].text


# Sex and age band ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sex", "age", "expected"),
    [
        ("1", "1", ("f", "15-24")),
        ("Homme", "25-35", ("m", "25-35")),
        ("3", "4", (None, None)),  # prefer not to say, both
        ("passer", "40", (None, "36+")),  # skipped; the age itself
    ],
)
def test_sex_and_age_band_are_optional_and_read_in_many_forms(sex, age, expected):
    outcomes = run(["INSCRIPTION", "Awa", "2", "kayes", "0", "1", "fr", sex, age, "oui", "1"])
    [save] = [e for o in outcomes for e in o.effects if isinstance(e, SaveRegistration)]
    assert (save.data["sex"], save.data["age_band"]) == expected


def test_a_garbled_sex_answer_is_asked_again_with_the_choices():
    [*_, outcome] = run(["INSCRIPTION", "Awa", "2", "kayes", "0", "1", "fr", "zzz"])
    assert outcome.state.step == "sex" and "1 à 3" in outcome.replies[0].text


def test_the_age_question_is_asked_in_the_members_language():
    [*_, outcome] = run(["SƐBƐN", "Awa", "2", "kayes", "0", "1", "2", "1"])
    assert outcome.state.step == "age_band"
    assert outcome.replies[0].text.startswith(in_language("bm", "Votre âge ? (facultatif)"))


# Invitations of imported people ---------------------------------------------------------------
INVITED = replace(AWA, invitation="invited")


@pytest.mark.parametrize("text", ["OUI", "oui", "Awɔ", "INSCRIPTION"])
def test_an_invited_person_joins_with_oui(text):
    from bot.model import AcceptInvitation

    outcome = handle(ctx(text, member=INVITED))
    assert outcome.effects == (AcceptInvitation(),) and "Bienvenue" in outcome.replies[0].text


def test_an_invited_person_refuses_with_stop_and_anything_else_is_asked_again():
    from bot.model import RefuseInvitation

    refused = handle(ctx("STOP", member=INVITED))
    assert refused.effects == (OptOut(), RefuseInvitation())
    again = handle(ctx("RAPPORT formation", member=INVITED))
    assert again.effects == () and "OUI" in again.replies[0].text
    assert handle(ctx("AIDE", member=INVITED)).replies[0].text.startswith("Benkadi")


def test_a_refused_person_is_answered_never_followed_and_may_still_join():
    from bot.model import AcceptInvitation, OptIn

    gone = replace(AWA, invitation="refused")
    assert handle(ctx("bonjour", member=gone)).effects == ()
    joined = handle(ctx("OUI", member=gone, opted_out=True))
    assert joined.effects == (AcceptInvitation(), OptIn())
