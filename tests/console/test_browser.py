"""The console in a real browser: Debian's Chromium driven by Playwright (no browser download).

One app (in its own thread, with the simulator's fake providers and an inline dispatcher) and
one browser for the whole module. Chromium missing is a failure, not a skip: run
scripts/browser-setup (scripts/test does). BENKADI_SCREENSHOTS=1 writes the screenshots into
docs/screenshots/ (they are committed and shown in the README); otherwise into a temp folder.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from urllib.request import Request, urlopen

import pytest
from aiohttp import web
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select, text

from bench.seed import seed_members
from bot.model import MovePoll, RecordPollAnswer
from bot.vocabulary.reference import ACTIVITY_LABELS
from broadcasts.polls import service as poll_service
from broadcasts.polls.model import CHOICE_KINDS
from gateway.app import create_app
from gateway.keys import DATABASE
from gateway.settings import Settings
from storage import accounts
from storage import polls as poll_store
from storage import reports as report_store
from storage import translations as translation_store
from storage.models import Address, Member, PollSession
from tests.console.conftest import seed_people
from tests.harness import listening_socket
from tests.polls.conftest import capacity_poll

CHROMIUM = os.environ.get("BENKADI_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "mot-de-passe-solide"
ZEINAB = "+22375550199"
NOT_UNDERSTOOD = "Je n'ai pas compris."


class Server:
    """The app on a loop of its own in a thread, so the sync Playwright API can drive it."""

    def __init__(self, folder: Path) -> None:
        self.listening = listening_socket()
        self.port = self.listening.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings.from_env(
            {
                "BENKADI_DATABASE_URL": f"sqlite:///{folder / 'benkadi.db'}",
                "BENKADI_PORT": str(self.port),
                "BENKADI_SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
                "BENKADI_MEDIA_DIR": str(folder / "media"),
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
        await web.SockSite(self.runner, self.listening).start()
        database = self.database = app[DATABASE]
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
    assert "export des membres" in page.content() and "diffusion envoyée" in page.content()
    page.screenshot(path=str(shots / "journal-audit.png"))
    page.goto(server.url + "/console/organisations")
    page.screenshot(path=str(shots / "organisations.png"))
    page.goto(server.url + "/console/broadcasts")
    page.screenshot(path=str(shots / "diffusions.png"))
    page.goto(server.url + "/console/")  # now with a broadcast and its delivery rate
    assert "Taux de remise des dernières diffusions" in page.content()
    page.screenshot(path=str(shots / "tableau-de-bord.png"), full_page=True)
    context.close()


def photo_png(width: int = 360, height: int = 240) -> bytes:
    """A small picture (sky, ground, a crowd of dots) as PNG, without an imaging library."""

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if (x // 24 + y // 24) % 5 == 0 and y > height // 2:
            return (176, 58, 46)
        if y < height // 2:
            return (120 + y // 2, 170 + y // 3, 230)
        return (196 - y // 6, 150 - y // 8, 90)

    rows = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height)
    )

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + (chunk(b"IEND", b""))
    )


async def seed_poll_and_reports(database, media: Path) -> None:
    """The capacity poll launched to everyone, answered by about one member in three (the
    first ones finish); a year of reports from seeded members, the first with a photo."""
    now = datetime.now(UTC)
    poll = capacity_poll()
    await poll_service.save(database, poll, "test", now)
    launched = await poll_service.launch(
        database, poll.slug, "test", enabled_channels=("sms", "telegram", "whatsapp"), now=now
    )
    sessions = PollSession.__table__
    async with database.sessions() as session:
        invited = list(
            await session.scalars(
                select(sessions.c.member_id).where(sessions.c.poll_id == launched["id"])
            )
        )
    async with database.transaction() as connection:
        for n, member_id in enumerate(invited[::3]):
            channel = "telegram" if n % 3 == 0 else "sms"
            for position, question in enumerate(poll.questions):
                if question.kind in CHOICE_KINDS:
                    keys = [option.key for option in question.options]
                    chosen = (keys[(member_id * 7 + position) % len(keys)],)
                    answer = RecordPollAnswer(
                        launched["id"], question.key, position, chosen,
                        score=question.score_of(chosen), max_score=question.max_score,
                        dimension=question.dimension,
                    )  # fmt: skip
                elif question.kind == "number":
                    answer = RecordPollAnswer(
                        launched["id"], question.key, position, number=member_id % 40
                    )
                else:
                    continue
                await poll_store.record_answer(connection, member_id, answer, channel, now)
            finished = n % 4 != 3
            moved = MovePoll(launched["id"], None if finished else "formation", finished)
            await poll_store.move(connection, member_id, moved, channel, now)
    kinds = list(ACTIVITY_LABELS)
    regions = ["kayes", "segou", "sikasso", "mopti", "koulikoro", "bamako"]
    async with database.transaction() as connection:
        for n in range(60):
            day = (now - timedelta(days=n * 5 + 1)).date()
            data = dict(
                activity=kinds[n % 4], date=day.isoformat(), region=regions[n % len(regions)],
                commune=None, women=10 + n % 17, men=4 + n % 9, girls=n % 7, boys=n % 5,
                description=f"Causerie éducative n° {n + 1} avec les femmes du quartier.",
                channel="telegram" if n % 2 else "sms",
            )  # fmt: skip
            await report_store.insert_report(connection, 10 + n, data, now)
    await asyncio.to_thread(media.mkdir, parents=True, exist_ok=True)
    photo = media / "report-60-seed.png"
    await asyncio.to_thread(photo.write_bytes, photo_png())
    async with database.transaction() as connection:
        await report_store.media_saved(connection, 60, str(photo))


def test_polls_and_reports(browser, server, shots):
    """Last: the poll's invitations are dispatched while it runs, after the other tests."""
    asyncio.run_coroutine_threadsafe(
        seed_poll_and_reports(server.database, Path(server.settings.media_dir)), server.loop
    ).result(60)
    context, page = signed_in(browser, server, "awa", "/console/polls")
    page.screenshot(path=str(shots / "sondages.png"))
    page.click("text=capacites-osc")
    page.wait_for_load_state()
    assert int(page.locator("#started").inner_text()) >= 100
    assert page.locator(".chart svg").count() >= 8  # the scores' and the choice questions'
    assert page.locator("#scores tr").count() >= 3
    page.screenshot(path=str(shots / "sondage.png"))  # the top: a full page is very long
    page.locator("#q-financement").screenshot(path=str(shots / "sondage-question.png"))
    with page.expect_download() as download:
        page.click("#export-wide-xlsx")
    rows = list(
        load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
        .worksheets[0]
        .iter_rows(values_only=True)
    )
    assert len(rows) == 1 + int(page.locator("#started").inner_text())
    page.goto(server.url + "/console/reports")
    assert page.locator("#reports tr").count() == 1 + 50  # a page of fifty
    page.screenshot(path=str(shots / "rapports.png"))
    page.locator("#totals-section").screenshot(path=str(shots / "rapports-totaux.png"))
    page.goto(server.url + "/console/reports/60")
    page.wait_for_load_state()
    assert page.evaluate("document.getElementById('photo').naturalWidth") == 360
    page.click("#validate")
    page.wait_for_load_state()
    assert page.locator("#report-status").inner_text().startswith("validé")
    page.screenshot(path=str(shots / "rapport.png"), full_page=True)
    context.close()


async def seed_songhay_member_and_translator(database) -> None:
    """Zeinab reads Songhay by SMS; Aïssata translates Songhay."""
    async with database.transaction() as connection:
        member_id = (
            await connection.execute(
                Member.__table__.insert()
                .values(
                    name="Zeinab Maïga", region="gao", cercle="Ansongo", themes=["vbg"],
                    language="ses", consent_at=datetime.now(UTC), registered_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
                .returning(Member.__table__.c.id)
            )
        ).scalar_one()  # fmt: skip
        await connection.execute(
            Address.__table__.insert().values(channel="sms", address=ZEINAB, member_id=member_id)
        )
    await accounts.create_account(
        database, "aissata", "Aïssata Touré", "translator", PASSWORD, "test", ["ses"]
    )


def simulator_reply(server: Server, sender: str, text: str) -> str:
    """Send an SMS through the simulator (a signed webhook, as Twilio would) and wait for the
    reply the fake Twilio receives."""

    def messages() -> list[dict]:
        url = f"{server.url}/simulator/api/messages?channel=sms&from={quote(sender)}"
        with urlopen(url, timeout=10) as response:
            return [m for m in json.load(response)["messages"] if m["from"] == "benkadi"]

    before = len(messages())
    body = json.dumps({"channel": "sms", "from": sender, "text": text}).encode()
    request = Request(
        f"{server.url}/simulator/api/send", body, {"Content-Type": "application/json"}
    )
    with urlopen(request, timeout=10) as response:
        assert json.load(response)["webhook_status"] == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sent = messages()
        if len(sent) > before:
            return sent[before]["text"]
        time.sleep(0.05)  # the dispatcher's own thread: nothing here to wait on but its output
    raise AssertionError("no reply within 20 s")


def test_a_translator_edits_a_songhay_text_and_the_next_sms_uses_it(browser, server, shots):
    asyncio.run_coroutine_threadsafe(
        seed_songhay_member_and_translator(server.database), server.loop
    ).result(30)
    before = simulator_reply(server, ZEINAB, "blabla")
    assert before.startswith("Ay mana faham.")  # the shipped Songhay catalog

    context, page = signed_in(browser, server, "aissata", "/console/")
    assert page.url == server.url + "/console/translations/ses"  # her one page, her language
    page.fill("#q", "pas compris.")
    page.click("form[method=get] button[type=submit]")
    row = page.locator(f"#t-{translation_store.anchor(NOT_UNDERSTOOD)}")
    expect(row).to_contain_text("à relire")
    row.locator("textarea").fill("Ay mana a faham, kala.")
    row.locator("input[name=reviewed]").check()
    page.screenshot(path=str(shots / "traductions.png"), full_page=True)
    row.locator("button[type=submit]").click()
    page.wait_for_load_state()
    row = page.locator(f"#t-{translation_store.anchor(NOT_UNDERSTOOD)}")
    expect(row).to_contain_text("modifié par console:aissata")
    expect(row.locator("td").nth(3)).to_contain_text("relu")
    assert "à relire" not in row.locator("td").nth(3).inner_text()

    after = simulator_reply(server, ZEINAB, "blabla")  # no restart: the next SMS has it
    assert after.startswith("Ay mana a faham, kala. Benkadi: GOY")

    with page.expect_download() as download:
        page.click("#export")
    exported = Path(download.value.path()).read_bytes()
    assert 'msgstr "Ay mana a faham, kala."' in exported.decode()
    page.set_input_files(
        "#po-file", files=[{"name": "ses.po", "mimeType": "text/plain", "buffer": exported}]
    )
    page.click("#import")
    page.wait_for_load_state()
    expect(page.locator("#notice")).to_have_text("Fichier importé : 0 texte(s) modifié(s).")
    with page.expect_download() as download:
        page.click("#export")
    assert Path(download.value.path()).read_bytes() == exported  # the round trip is exact
    context.close()
