"""Every flow in every language, as SMS sends it: registration, help, profile, language,
stop/start, erase, link, my data, invitations, reports and polls. Each reply is in the member's
language (no French sentence in another language's replies), no placeholder is left unfilled,
and no SMS takes more segments than the same reply in French (its budget; that each question's
first page is one SMS is tests/bot/test_render.py's)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.engine import handle
from bot.model import Context, Inbound, MovePoll, PollView, Profile, SendSms, State
from bot.render import render_for_channel
from bot.vocabulary.i18n import use_locale
from bot.vocabulary.sms_text import cheapest_sms_text, sms_size
from tests.polls.conftest import capacity_poll

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LANGUAGES = ("fr", "bm", "ff", "ses", "en")
LANGUAGE_CHOICE = {language: str(n) for n, language in enumerate(LANGUAGES, 1)}
REGISTER_WORD = {
    "fr": "INSCRIPTION",
    "bm": "SƐBƐN",
    "ff": "WINNDITO",
    "ses": "HANTUM",
    "en": "JOIN",
}
PLACEHOLDER = re.compile(r"\{\w+\}")


@dataclass
class Member:
    """Carries what the shell would between messages: state, language, the poll session."""

    language: str
    channel: str = "sms"
    profile: Profile | None = None
    state: State | None = None
    poll: PollView | None = None
    sent: list[tuple[str, str, bool]] = field(default_factory=list)  # (step, SMS body, choices)

    def say(self, text: str, step: str) -> None:
        inbound = Inbound(self.channel, text, is_start=text.startswith("/start"))
        ctx = Context(
            inbound, self.language, self.profile, self.state, False, False,
            ("AMSS", "Wildaf Mali"), NOW, "424242", poll=self.poll,
        )  # fmt: skip
        outcome = handle(ctx)
        self.state = outcome.state
        if outcome.language:
            self.language = outcome.language
        for reply in outcome.replies:
            with use_locale(self.language):
                body, _ = render_for_channel(reply, "sms")
            self.sent.append((step, body, bool(reply.choices)))
        for effect in outcome.effects:
            if isinstance(effect, SendSms):  # the link code, by SMS, in the member's language
                self.sent.append((step + " (code)", cheapest_sms_text(effect.text), False))
            if isinstance(effect, MovePoll) and self.poll is not None:
                self.poll = replace(self.poll, question=effect.question, finished=effect.finished)


def conversation(language: str) -> list[tuple[str, str, bool]]:
    """The same conversation, in `language`: what each step sent, in order."""
    new = Member(language="fr")  # a stranger: the address's language is French until chosen
    for n, text in enumerate(
        [REGISTER_WORD[language], "Awa Diarra", "AMSS", "xyz", "2", "0", "1 3",
         LANGUAGE_CHOICE[language], "1", "2", "peut-être", "1", "1"]
    ):  # fmt: skip
        new.say(text, f"registration {n}")
    stranger = Member(language=language)
    for text in ("AIDE", "bonjour", "MES DONNEES", "OUBLIER", "SONDAGE", "RAPPORT"):
        stranger.say(text, f"stranger {text}")

    profile = Profile(1, "Awa", "AMSS", "kayes", None, ("vbg",), language)
    member = Member(language=language, profile=profile)
    steps = [
        "AIDE", "bonjour", "MES DONNEES",
        "PROFIL", "xyz", "1", "Awa Traoré",
        "LANGUE", "MY-LANGUAGE",
        "STOP", "START",
        "OUBLIER", "hmm", "2",
        "LIER",
        "RAPPORT", "2", "hier", "1", "Diéma", "25 10 5 3", "Formation des leaders", "1",
        "RAPPORT", "9", "ANNULER",
    ]  # fmt: skip
    for text in steps:  # the number of the member's own language: nothing changes but the words
        member.say(LANGUAGE_CHOICE[language] if text == "MY-LANGUAGE" else text, f"member {text}")
    member.say("OUBLIER", "erase")
    member.say("1", "erase yes")

    telegram = Member(language=language, channel="telegram", profile=profile)
    for text in ("LIER", "12", "76 12 34 56", "000000", "000000", "000000"):
        telegram.say(text, f"link {text}")  # the replies rendered as SMS would be: the budget

    invited = Member(language=language, profile=replace(profile, invitation="invited"))
    for text in ("RAPPORT", "OUI"):
        invited.say(text, f"invited {text}")

    polled = Member(language=language, profile=profile)
    polled.poll = PollView(3, capacity_poll(), True, None, False, {})
    polled.say("SONDAGE", "poll start")
    for n in range(20):  # "1" is a valid answer to every kind of question; "xyz" to none
        polled.say("xyz" if n == 2 else "1", f"poll {n}")
        if polled.poll.finished and polled.state is None:
            break
    assert polled.poll.finished
    polled.say("SONDAGE", "poll again")

    return new.sent + stranger.sent + member.sent + telegram.sent + invited.sent + polled.sent


def french_sentences(language: str) -> set[str]:
    """The French source texts, cut at their placeholders, long enough to be French on sight
    (but for words the language writes the same: "Organisation" in English)."""
    po = ROOT / "locales" / language / "LC_MESSAGES" / "benkadi.po"
    with po.open("rb") as handle_:
        ids = [m.id for m in read_po(handle_) if m.id and m.string != m.id]
    pieces = {piece.strip() for mid in ids for piece in re.split(r"\{\w+\}", mid)}
    return {piece for piece in pieces if len(piece) >= 12}


FRENCH = conversation("fr")


def test_the_french_conversation_goes_through_every_flow():
    steps = " ".join(step for step, _body, _choices in FRENCH)
    for flow in ("registration 12", "member PROFIL", "member LANGUE", "member STOP", "member START",
                 "erase yes", "member LIER", "link 76 12 34 56 (code)", "member RAPPORT",
                 "invited OUI", "poll 10", "stranger MES DONNEES"):  # fmt: skip
        assert flow in steps, flow
    assert len(FRENCH) > 60


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_flow_replies_in_the_language_within_the_french_budget(language):
    sent = conversation(language)
    assert [step for step, _, _ in sent] == [step for step, _, _ in FRENCH]
    sentences = french_sentences(language) if language != "fr" else set()
    for (step, body, _), (_, french, _) in zip(sent, FRENCH, strict=True):
        assert not PLACEHOLDER.search(body), (step, body)
        if language != "fr":
            assert body != french or not re.search(r"[^\W\d_]{4}", body), (step, body)
            for sentence in sentences:
                assert sentence not in body and cheapest_sms_text(sentence) not in body, (
                    step,
                    sentence,
                    body,
                )
        assert sms_size(body).segments <= sms_size(french).segments, (step, body, french)
