"""Issue 16's acceptance for polls, in a real browser and on a test clock: a three-question poll
(a condition, French and Bambara, an invitation and a reminder) built in the console, previewed,
scheduled; the app's own scheduler opens it when the clock reaches its date; members answer
over SMS (the fake Twilio's webhook and the fake Android phone) and in Telegram (the fake Bot
API), one "yes" asks the conditional question, one "no" skips it, two in Bambara; the reminder
goes on its day to the one who did not answer; the poll closes itself at its closing date; the
results page and the Excel export agree with the answers given.

The app lives by a clock that is real time plus an offset (create_app(settings, clock=…)): the
test moves the offset to a date and waits for what must follow (no sleeps that guess).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from openpyxl import load_workbook

from broadcasts.polls import results
from broadcasts.polls import service as poll_service
from gateway.app import create_app
from gateway.keys import DATABASE, SIMULATOR
from gateway.sending.scheduler import Scheduler
from storage import accounts
from storage.types import utcnow
from tests.console.test_browser import PASSWORD, Server, browser, shots, signed_in  # noqa: F401
from tests.polls.conftest import add_member

SLUG = "rapports-2027"
OPENS = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)  # Bamako is UTC
CLOSES = datetime(2027, 1, 20, 18, 0, tzinfo=UTC)
FANTA, MOUSSA, OUMAR = "+22376000001", "+22376000002", "+22376000003"  # SMS members
KADI, ISSA = 5001, 5002  # Telegram chats


class ShiftedClock:
    """Real time plus an offset the test sets: time still flows (leases, retries, pacing)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def jump_to(self, moment: datetime) -> None:
        self.offset = moment - utcnow()


class ClockedServer(Server):
    """The browser tests' app, on a clock of its own and with only this poll's members."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.clock = ShiftedClock()
        # The scheduler looks often: the test waits for it, not for a fixed time.
        self.settings = dataclasses.replace(self.settings, schedule_interval=0.05)

    async def _start(self) -> None:
        app = create_app(self.settings, clock=self.clock)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.SockSite(self.runner, self.listening).start()
        self.app = app
        self.database = app[DATABASE]
        await accounts.create_account(self.database, "awa", "Awa", "secretariat", PASSWORD, "test")
        self.members = {}
        for name, channel, address, language in (
            ("Fanta", "sms", FANTA, "fr"),
            ("Moussa", "sms", MOUSSA, "bm"),
            ("Oumar", "sms", OUMAR, "fr"),
            ("Kadi", "telegram", str(KADI), "fr"),
            ("Issa", "telegram", str(ISSA), "bm"),
        ):
            self.members[name] = await add_member(
                self.database, name, channel=channel, address=address, language=language,
                region="kayes", organisation="Musow ka Jɛ", kind="association",
            )  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ClockedServer]:
    with ClockedServer(tmp_path_factory.mktemp("cycle")) as running:
        yield running


def on_server(running: ClockedServer, coroutine: Awaitable, timeout: float = 30):
    return asyncio.run_coroutine_threadsafe(coroutine, running.loop).result(timeout)


def wait_until(running: ClockedServer, what: str, check: Callable[[], object], timeout=15.0):
    """Until `check()` is true (read on the server's loop, between its own steps)."""

    async def waiting():
        deadline = time.monotonic() + timeout
        while not (found := check()):
            if time.monotonic() > deadline:
                raise AssertionError(f"still waiting for {what}")
            await asyncio.sleep(0.02)
        return found

    return on_server(running, waiting(), timeout + 5)


# --- the members' side ---------------------------------------------------------------------
def sms_to(running: ClockedServer, number: str) -> list[str]:
    """Every SMS Benkadi sent to a number, by the Android phone's SIMs or by Twilio."""
    simulator = running.app[SIMULATOR]
    by_phone = [m.text for m in simulator.phone.sent if m.to == number]
    return by_phone + [m.body for m in simulator.twilio.messages_to(number)]


def telegram_to(running: ClockedServer, chat: int) -> list:
    return running.app[SIMULATOR].telegram.messages_to(chat)


def sms(running: ClockedServer, number: str, text: str, expect: str, via: str = "sms") -> str:
    """The member texts Benkadi (via Twilio's webhook, or a SIM of the phone: "sms-orange");
    the first new SMS containing `expect`."""
    before = len(sms_to(running, number))
    sent = on_server(running, running.app[SIMULATOR].send(via, number, text, None))
    assert sent.status == 200, (text, sent)
    return wait_until(
        running,
        f"an SMS to {number} with {expect!r} after {text!r}",
        lambda: next((m for m in sms_to(running, number)[before:] if expect in m), None),
    )


def buttons(message) -> list[str]:
    markup = message.reply_markup or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def telegram(running: ClockedServer, chat: int, expect: str, *, text="", button=None):
    """The member types `text` or presses `button` in the last message; the first new message
    whose text contains `expect`."""
    before = len(telegram_to(running, chat))
    last = telegram_to(running, chat)[-1].message_id if before else None
    sent = on_server(
        running, running.app[SIMULATOR].send("telegram", str(chat), text, button, last)
    )
    assert sent.status == 200, (text, button, sent)
    return wait_until(
        running,
        f"a Telegram message to {chat} with {expect!r}",
        lambda: next((m for m in telegram_to(running, chat)[before:] if expect in m.text), None),
    )


# --- the secretariat's side ----------------------------------------------------------------
def build_and_schedule(browser, server: ClockedServer, shots: Path):  # noqa: F811
    context, page = signed_in(browser, server, "awa", "/console/polls/new")
    page.fill("#slug", SLUG)
    page.fill("#title_fr", "Rapports 2027")
    page.fill("#title_bm", "Rapɔrɔw 2027")
    page.fill("#invitation_fr", "Benkadi : 3 questions sur vos rapports. Envoyez SONDAGE.")
    page.fill("#invitation_bm", "Benkadi : ɲininkali 3 aw ka rapɔrɔw kan. SONDAGE ci.")
    page.fill("#reminder_fr", "Benkadi : le sondage sur vos rapports attend vos réponses.")
    page.fill("#reminder_days", "3")
    page.fill("#opens", "2027-01-05T09:00")
    page.fill("#closes", "2027-01-20T18:00")
    page.check("input[name=regions][value=kayes]")
    page.fill("#q0_key", "rapport")
    page.select_option("#q0_kind", "yes_no")
    page.fill("#q0_text_fr", "Avez-vous envoyé un rapport ce mois-ci ?")
    page.fill("#q0_text_bm", "Aw ye rapɔrɔ ci nin kalo in na wa ?")
    page.click("#more-button")
    page.fill("#q1_key", "combien")
    page.select_option("#q1_kind", "number")
    page.fill("#q1_text_fr", "Combien d'activités ce mois-ci ?")
    page.fill("#q1_text_bm", "Baara joli kɛra nin kalo in na ?")
    page.fill("input[name=q1_min]", "0")
    page.fill("input[name=q1_max]", "50")
    page.fill("#q1_if", "rapport")
    page.fill("input[name=q1_if_in]", "yes")
    page.click("#more-button")
    page.fill("#q2_key", "canal")
    page.fill("#q2_text_fr", "Par quel moyen ?")
    page.fill("#q2_text_bm", "Fɛɛrɛ jumɛn ?")
    page.fill("input[name=q2_o0_key]", "sms")
    page.fill("input[name=q2_o0_text_fr]", "SMS")
    page.fill("input[name=q2_o1_key]", "papier")
    page.fill("input[name=q2_o1_text_fr]", "Papier")
    page.fill("input[name=q2_o1_text_bm]", "Papiye")
    page.click("#preview-button")
    page.wait_for_selector("#preview")
    preview = page.locator("#preview").inner_text()
    assert "1/3 Avez-vous envoyé un rapport ce mois-ci ?" in preview
    assert "1/3 Aw ye rapɔrɔ ci nin kalo in na wa ?" in preview
    assert "[Papiye]" in preview and "(texte français)" in preview  # "SMS" has no Bambara
    page.click("#save-button")
    page.wait_for_url(f"**/console/polls/{SLUG}/edit?saved=1")
    page.click("#schedule-button")
    page.wait_for_selector("#scheduled")
    return context, page


def test_a_poll_from_the_console_to_its_results(browser, server, shots):  # noqa: F811
    context, page = build_and_schedule(browser, server, shots)
    row = on_server(server, poll_service.poll_row(server.database, SLUG))
    assert row.status == "draft" and row.open_on_schedule and row.opens_at == OPENS

    # Before its date nothing opens; at its date the app's scheduler opens it, once.
    server.clock.jump_to(OPENS - timedelta(minutes=5))
    early = Scheduler(server.database, ("sms", "telegram"), lambda: None, clock=server.clock)
    assert on_server(server, early.tick()) == []  # a tick of its own, as the app's would
    assert on_server(server, poll_service.poll_row(server.database, SLUG)).status == "draft"
    server.clock.jump_to(OPENS + timedelta(seconds=1))
    invitations = wait_until(
        server,
        "the invitations",
        lambda: (
            all(sms_to(server, n) for n in (FANTA, MOUSSA, OUMAR))
            and all(telegram_to(server, c) for c in (KADI, ISSA))
        ),
    )
    assert invitations
    row = on_server(server, poll_service.poll_row(server.database, SLUG))
    assert row.status == "launched" and row.launched_at >= OPENS
    assert on_server(server, early.tick()) == []  # opened once: the next tick makes nothing
    assert sms_to(server, FANTA) == ["Benkadi : 3 questions sur vos rapports. Envoyez SONDAGE."]
    assert sms_to(server, MOUSSA) == ["Benkadi : ɲininkali 3 aw ka rapɔrɔw kan. SONDAGE ci."]
    [issa_invited] = telegram_to(server, ISSA)
    assert "SONDAGE ci" in issa_invited.text
    assert buttons(issa_invited) == [f"p:{row.id}:start"]

    # Fanta (SMS by Twilio's webhook, French): yes, so "how many" is asked; 12; by SMS.
    first = sms(server, FANTA, "SONDAGE", "1/3")
    assert "Avez-vous envoyé un rapport" in first
    assert "2/3 Combien" in sms(server, FANTA, "oui", "2/3")
    assert "3/3 Par quel moyen" in sms(server, FANTA, "12", "3/3")
    sms(server, FANTA, "1", "Merci")
    # Moussa (SMS by a SIM of the Android phone, Bambara): no, so "how many" is skipped.
    assert "rapɔrɔ ci" in sms(server, MOUSSA, "SONDAGE", "1/3", via="sms-orange")
    third = sms(server, MOUSSA, "ayi", "3/3", via="sms-orange")
    assert "Fɛɛrɛ jumɛn" in third and "Papiye" in third  # its Bambara, "SMS" in French
    sms(server, MOUSSA, "2", "!", via="sms-orange")
    # Kadi (Telegram, French): the invitation's button, yes, 7, paper.
    p = f"p:{row.id}:"
    asked = telegram(server, KADI, "1/3", button=p + "start")
    assert buttons(asked) == [p + "rapport:yes", p + "rapport:no"]
    telegram(server, KADI, "2/3", button=p + "rapport:yes")
    asked = telegram(server, KADI, "3/3", text="7")
    assert buttons(asked)[:2] == [p + "canal:sms", p + "canal:papier"]
    telegram(server, KADI, "Merci", button=p + "canal:papier")
    # Issa (Telegram, Bambara): no, so straight to the third question; paper.
    telegram(server, ISSA, "1/3", button=p + "start")
    asked = telegram(server, ISSA, "3/3", button=p + "rapport:no")
    assert "Fɛɛrɛ jumɛn" in asked.text
    telegram(server, ISSA, "!", button=p + "canal:papier")

    # The reminder on its day (3 days after the opening), once, only to Oumar who did not
    # answer; nothing more is sent to those who finished.
    finished_counts = {n: len(sms_to(server, n)) for n in (FANTA, MOUSSA)}
    in_telegram = {c: len(telegram_to(server, c)) for c in (KADI, ISSA)}
    server.clock.jump_to(OPENS + timedelta(days=3, minutes=1))
    reminder = wait_until(server, "the reminder", lambda: sms_to(server, OUMAR)[1:])
    assert reminder == ["Benkadi : le sondage sur vos rapports attend vos réponses."]
    assert {n: len(sms_to(server, n)) for n in (FANTA, MOUSSA)} == finished_counts
    assert {c: len(telegram_to(server, c)) for c in (KADI, ISSA)} == in_telegram

    # It closes itself at its closing date: Oumar, too late, is told so; the page says "clos".
    server.clock.jump_to(CLOSES + timedelta(minutes=1))
    assert "fermé" in sms(server, OUMAR, "SONDAGE", "fermé")
    page.goto(f"{server.url}/console/polls/{SLUG}")
    assert page.locator("#poll-state").inner_text() == "clos"
    assert page.locator("#close-button").count() == 0

    # The results page: the counts per question and per choice are the answers given.
    assert page.locator("#invited").inner_text() == "5"
    assert page.locator("#started").inner_text() == "4"
    assert page.locator("#finished").inner_text() == "4"
    assert counts_on_page(page, "rapport") == {"Oui": "2", "Non": "2"}
    assert counts_on_page(page, "canal") == {"SMS": "1", "Papier": "3"}
    number = page.locator("#q-combien table.counts tr").nth(1).inner_text().split()
    assert number == ["2", "9,5", "7", "12", "19"]  # answered, mean, min, max, total
    # Four people: no chart (each bar would be a hidden small cell), and the page says why.
    assert page.locator("#chart-hidden-rapport").count() == 1
    assert "No data" not in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "sondage-resultats.png"), full_page=True)
    result = on_server(server, results.compute(server.database, SLUG))
    by_key = {q["key"]: q for q in result["questions"]}
    assert by_key["combien"]["answered"] == 2  # asked only after a yes

    # The Excel export, one line per answer and one per person, says the same.
    with page.expect_download() as download:
        page.click("#export-long-xlsx")
    long_rows = sheet_rows(download.value.path())
    header, lines = long_rows[0], long_rows[1:]
    question, answer, member = header.index("question"), header.index("answer"), 0
    answers = {(str(r[member]), r[question]): str(r[answer]) for r in lines}
    ids = {name: str(n) for name, n in server.members.items()}
    assert answers == {
        (ids["Fanta"], "rapport"): "Oui", (ids["Fanta"], "combien"): "12",
        (ids["Fanta"], "canal"): "SMS",
        (ids["Moussa"], "rapport"): "Non", (ids["Moussa"], "canal"): "Papier",
        (ids["Kadi"], "rapport"): "Oui", (ids["Kadi"], "combien"): "7",
        (ids["Kadi"], "canal"): "Papier",
        (ids["Issa"], "rapport"): "Non", (ids["Issa"], "canal"): "Papier",
    }  # fmt: skip
    with page.expect_download() as download:
        page.click("#export-wide-xlsx")
    wide = sheet_rows(download.value.path())
    per_person = {str(r[0]): dict(zip(wide[0], r, strict=False)) for r in wide[1:]}
    assert set(per_person) == {ids[n] for n in ("Fanta", "Moussa", "Kadi", "Issa")}
    assert [per_person[ids[n]]["canal"] for n in ("Fanta", "Moussa", "Kadi", "Issa")] == [
        "SMS", "Papier", "Papier", "Papier",
    ]  # fmt: skip
    assert per_person[ids["Moussa"]]["combien"] in (None, "")  # never asked
    context.close()


def counts_on_page(page, key: str) -> dict[str, str]:
    rows = page.locator(f"#q-{key} table.counts tr")
    found = {}
    for n in range(1, rows.count()):
        label, count, _percent = rows.nth(n).locator("td").all_inner_texts()
        found[label] = count
    return found


def sheet_rows(path: str) -> list[list]:
    book = load_workbook(io.BytesIO(Path(path).read_bytes()), read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
