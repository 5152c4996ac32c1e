"""The simulator's page in Debian's Chromium (Playwright, as the console's browser tests): the log
stays where the reader scrolled, a long list of buttons leaves its question in sight, a
multi-select tap shows its toast and the ✓ on the button, the page speaks French."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.sync_api import Page, expect

from gateway.app import create_app
from gateway.settings import Settings
from tests.console.test_browser import browser  # noqa: F401 - the module's Chromium
from tests.harness import listening_socket


class Simulator:
    """`benkadi serve` with no credentials, on a loop of its own in a thread."""

    def __init__(self, folder: Path) -> None:
        self.listening = listening_socket()
        self.port = self.listening.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings.from_env(
            {
                "BENKADI_DATABASE_URL": f"sqlite:///{folder / 'sim.db'}",
                "BENKADI_PORT": str(self.port),
            },
            migrate_on_start=True,
            simulator=True,
            dispatch="inline",
            dispatch_interval=0.05,
        )
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(create_app(self.settings))
        self.loop.run_until_complete(self.runner.setup())
        site = web.SockSite(self.runner, self.listening)
        self.loop.run_until_complete(site.start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())

    def __enter__(self) -> Simulator:
        self.thread.start()
        assert self.ready.wait(30), "the app did not start"
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@pytest.fixture(scope="module")
def simulator(tmp_path_factory) -> Iterator[Simulator]:
    with Simulator(tmp_path_factory.mktemp("simulator")) as running:
        yield running


def typed(page: Page, text: str, replies: int) -> None:
    """Type a line and wait until Benkadi has said `replies` messages in all."""
    page.fill("#text", text)
    page.click("#say button")
    expect(page.locator(".msg.out")).to_have_count(replies, timeout=10000)


def as_telegram(page: Page, simulator: Simulator, chat: str) -> None:
    page.goto(simulator.url + "/simulator")
    page.select_option("#channel", "telegram")
    page.fill("#from", chat)
    page.dispatch_event("#from", "change")


def test_the_log_stays_where_the_reader_scrolled(browser, simulator):  # noqa: F811
    page = browser.new_context(viewport={"width": 390, "height": 700}).new_page()
    page.goto(simulator.url + "/simulator")
    for count in range(1, 6):
        typed(page, "AIDE", count)
    log = page.locator("#log")
    assert log.evaluate("l => l.scrollHeight > l.clientHeight")  # something to scroll
    assert log.evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight < 30")  # followed
    log.evaluate("l => { l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); }")
    page.evaluate(
        """async () => {  // a reply arrives while the reader is up the log
            await fetch('/simulator/api/send', {method: 'POST', headers: {'Content-Type':
                'application/json'}, body: JSON.stringify({channel: 'sms', from: '76 12 34 56',
                text: 'AIDE'})});
        }"""
    )
    expect(page.locator(".msg.out")).to_have_count(6, timeout=10000)  # redrawn by the poll
    page.evaluate("refresh()")  # and again: the periodic redraw must not move it either
    assert log.evaluate("l => l.scrollTop") == 0
    expect(page.locator("#newer")).to_be_visible()
    page.click("#newer")
    assert log.evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight < 30")


def test_a_long_list_of_buttons_leaves_its_question_in_sight(browser, simulator):  # noqa: F811
    page = browser.new_context(viewport={"width": 390, "height": 300}).new_page()
    as_telegram(page, simulator, "2001")
    typed(page, "/start fr", 1)
    typed(page, "Awa Traoré", 2)
    typed(page, "AMSS", 3)  # the region: twenty buttons
    question = page.locator(".msg.out").last
    assert "Votre région ?" in question.inner_text()
    log = page.locator("#log")
    assert question.evaluate("m => m.offsetHeight") > log.evaluate("l => l.clientHeight")
    top = question.evaluate(
        "m => m.getBoundingClientRect().top - document.getElementById('log').getBoundingClientRect().top"
    )
    assert 0 <= top < 40  # the question at the top of the log, its buttons below


def test_a_multi_select_tap_shows_its_toast_and_the_tick(browser, simulator):  # noqa: F811
    page = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
    as_telegram(page, simulator, "2002")
    typed(page, "/start fr", 1)
    typed(page, "Awa Traoré", 2)
    typed(page, "AMSS", 3)
    page.locator(".msg.out").last.get_by_role("button", name="Kayes").click()
    expect(page.locator(".msg.out")).to_have_count(4, timeout=10000)
    typed(page, "Kita", 5)
    themes = page.locator(".msg.out").last
    assert "Vos thèmes" in themes.inner_text()
    first = themes.locator("button").first
    label = first.inner_text()
    first.click()
    expect(page.locator("#toast")).to_have_text("✓ " + label, timeout=10000)
    expect(themes.locator("button.ticked")).to_have_text(["✓ " + label], timeout=10000)
    themes.locator("button").first.click()  # again: untick
    expect(page.locator("#toast")).to_have_text("✗ " + label, timeout=10000)
    expect(themes.locator("button.ticked")).to_have_count(0, timeout=10000)


def test_the_pages_own_messages_are_in_french(browser, simulator):  # noqa: F811
    page = browser.new_context().new_page()
    as_telegram(page, simulator, "pas un nombre")
    typed_error = page.locator("#error")
    page.fill("#text", "AIDE")
    page.click("#say button")
    expect(typed_error).to_have_text("Un utilisateur Telegram est un nombre, par exemple 1001.")
