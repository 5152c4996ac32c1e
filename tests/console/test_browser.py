"""The console in a real browser: Debian's Chromium driven by Playwright (no browser download).

One app (in its own thread, with the simulator's fake providers and an inline dispatcher) and
one browser for the whole module. Chromium missing is a failure, not a skip: run
scripts/browser-setup (scripts/test does). BENKADI_SCREENSHOTS=1 writes the screenshots into
docs/screenshots/ (they are committed and shown in the README); otherwise into a temp folder.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import text

from bench.seed import seed_members
from gateway.app import create_app
from gateway.keys import DATABASE
from gateway.settings import Settings
from storage import accounts
from tests.console.conftest import seed_people
from tests.harness import free_port

CHROMIUM = os.environ.get("BENKADI_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "mot-de-passe-solide"


class Server:
    """The app on a loop of its own in a thread, so the sync Playwright API can drive it."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings.from_env(
            {
                "BENKADI_DATABASE_URL": f"sqlite:///{folder / 'benkadi.db'}",
                "BENKADI_PORT": str(self.port),
                "BENKADI_SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
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
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())

    async def _start(self) -> None:
        app = create_app(self.settings)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        database = app[DATABASE]
        await seed_people(database)
        await seed_members(database, 400, telegram_share=0.4)
        async with database.transaction() as connection:  # registrations over the last year
            await connection.execute(
                text(
                    "UPDATE members SET registered_at = "
                    "datetime('now', '-' || ((id * 7) % 330) || ' days') WHERE id > 9"
                )
            )
        for username, role in (("awa", "secretariat"), ("admin", "admin"), ("vera", "viewer")):
            await accounts.create_account(
                database, username, username.title(), role, PASSWORD, "test"
            )

    def __enter__(self) -> Server:
        self.thread.start()
        assert self.ready.wait(30), "the app did not start"
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: run scripts/browser-setup "
            "(apt-get install -y chromium) before the browser tests",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright  # here: a missing Chromium fails first

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    if os.environ.get("BENKADI_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


def signed_in(browser, server: Server, username: str, target: str = "/console/"):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(server.url + target)
    assert "/console/login" in page.url  # nobody signed in yet: to the sign-in page
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


def test_sign_in_and_dashboard(browser, server, shots):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/console/")
    page.fill("#username", "awa")
    page.fill("#password", "pas le bon mot de passe")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == (
        "Identifiant, mot de passe ou jeton incorrect."
    )
    page.screenshot(path=str(shots / "connexion.png"))
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/console/")
    assert page.locator("h1").inner_text() == "Tableau de bord"
    assert page.locator("#total-members").inner_text() == "409"
    assert page.locator(".chart svg").count() >= 4
    context.close()


def test_compose_preview_and_send_a_broadcast(browser, server, shots):
    context, page = signed_in(browser, server, "awa", "/console/broadcasts/new")
    page.click("#preview-button")  # no French text: the form comes back with the field marked
    assert "invalid" in (page.get_attribute("#text_fr", "class") or "")
    page.fill("#title", "16 jours — J1")
    page.fill("#text_fr", "16 jours d'activisme : rejoignez la marche du 25 novembre à Kayes.")
    page.fill("#text_bm", "Tile 16 : an ka taa ɲɔgɔn fɛ Kayi nɔvanburukalo tile 25.")
    page.check("input[name=regions][value=kayes]")
    page.click("#preview-button")
    page.wait_for_selector("#preview")
    recipients = int(page.locator("#preview-recipients").inner_text())
    assert recipients >= 20  # Awa and the seeded members of Kayes
    page.screenshot(path=str(shots / "diffusion-apercu.png"), full_page=True)
    page.click("#send-button")
    page.wait_for_url("**/console/broadcasts/*")
    expect(page.locator("#live-note")).to_have_text(
        "Terminé : plus rien en attente.", timeout=20000
    )
    assert page.locator("#total-queued").inner_text() == "0"
    assert (
        int(page.locator("#total-sent").inner_text())
        + int(page.locator("#total-delivered").inner_text())
        == recipients
    )
    assert "en attente" not in page.locator("#counts-sms").inner_text()  # redrawn live
    page.screenshot(path=str(shots / "diffusion-suivi.png"), full_page=True)
    context.close()


def test_search_a_member(browser, server, shots):
    context, page = signed_in(browser, server, "awa", "/console/members")
    assert page.url.endswith("/console/members")  # back where it was asked for
    page.fill("input[name=q]", "Awa")
    page.click("form[role=search] button")
    page.wait_for_load_state()
    page.screenshot(path=str(shots / "membres.png"))
    page.click("text=Awa Traoré")
    page.wait_for_load_state()
    channels = page.locator("#channels").inner_text()
    assert "+22376123456" in channels and "telegram" in channels
    assert "Tile 16" in page.locator("#history").inner_text()  # the broadcast, in Bambara
    page.screenshot(path=str(shots / "membre.png"), full_page=True)
    context.close()


def test_download_the_roster(browser, server, shots):
    context, page = signed_in(browser, server, "awa", "/console/members")
    with page.expect_download() as download:
        page.click("#export-xlsx")
    data = Path(download.value.path()).read_bytes()
    sheet = load_workbook(io.BytesIO(data))["Membres"]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 409
    assert download.value.suggested_filename.startswith("benkadi-membres-")
    context.close()
    # A viewer's download: numbers masked.
    context, page = signed_in(browser, server, "vera", "/console/members")
    with page.expect_download() as download:
        page.click("#export-csv")
    csv_text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "+22376123456" not in csv_text and "+223 76 •• •• 56" in csv_text
    context.close()


def test_admin_pages(browser, server, shots):
    context, page = signed_in(browser, server, "admin", "/console/audit")
    assert page.locator("h1").inner_text() == "Journal d'audit"
    assert "export.roster" in page.content() and "broadcast.send" in page.content()
    page.screenshot(path=str(shots / "journal-audit.png"))
    page.goto(server.url + "/console/organisations")
    page.screenshot(path=str(shots / "organisations.png"))
    page.goto(server.url + "/console/broadcasts")
    page.screenshot(path=str(shots / "diffusions.png"))
    page.goto(server.url + "/console/")  # now with a broadcast and its delivery rate
    assert "Taux de remise des dernières diffusions" in page.content()
    page.screenshot(path=str(shots / "tableau-de-bord.png"), full_page=True)
    context.close()
