"""A campaign's year in a real browser (the setup of test_browser.py), the issue's acceptance:
edit a campaign text and approve it; the scheduler's campaign runner, on a test clock, reaches
the message's day and the message goes out with the new text (the simulator's fake Telegram
receives it through python-telegram-bot). Then the year's theme, a message moved and one added
(a text over 2 SMS refused first, marked in French). BENKADI_SCREENSHOTS=1 writes the
screenshots for the README.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from broadcasts.campaigns.runner import CampaignRunner
from gateway.keys import CHANNELS, SIMULATOR
from tests.console.test_browser import browser, server, shots, signed_in  # noqa: F401

NEW_TEXT = "8 mars 2026 : toutes et tous à la marche de Bamako, 9 h, place de l'Indépendance."
LONG = "Un texte bien trop long pour deux SMS, répété encore et encore. " * 6


def on_server(running, coroutine):
    return asyncio.run_coroutine_threadsafe(coroutine, running.loop).result(60)


def test_edit_a_campaign_text_approve_it_and_it_goes_out(browser, server, shots):  # noqa: F811
    context, page = signed_in(browser, server, "awa", "/console/campaigns/8-mars?year=2026")
    page.fill("#jour-fr", NEW_TEXT)
    page.click("#save-jour")
    page.wait_for_selector("#not-approved")
    page.click("#approve-button")
    page.wait_for_selector("#approved")
    page.click("#enable-button")
    page.wait_for_selector("#disable-button")
    app = server.runner.app
    runner = CampaignRunner(server.database, server.settings.campaigns_directory, quiet_hours=None)
    day = datetime(2026, 3, 8, 9, 5, tzinfo=UTC)  # the test clock: the message's day
    before = on_server(server, runner.run_due(datetime(2026, 3, 7, 9, 5, tzinfo=UTC),
                                              app[CHANNELS]))  # fmt: skip
    assert before == []
    [_made] = on_server(server, runner.run_due(day, app[CHANNELS]))
    assert on_server(server, runner.run_due(day.replace(minute=30), app[CHANNELS])) == []
    telegram = app[SIMULATOR].telegram
    deadline = time.monotonic() + 30
    while not any(m.text == NEW_TEXT for m in telegram.sent) and time.monotonic() < deadline:
        time.sleep(0.1)  # the app's own dispatcher sends it; nothing to drive here
    assert any(m.text == NEW_TEXT for m in telegram.sent)
    shipped = "Bonne Journée internationale des droits des femmes"
    assert not any(m.text.startswith(shipped) for m in telegram.sent)
    page.goto(server.url + "/console/campaigns/8-mars?year=2026")
    assert page.locator("#status-jour").inner_text() == "made"
    assert page.locator("#move-jour").count() == 0  # sent: it stays where it went out
    context.close()


def test_theme_move_and_add_in_the_year_page(browser, server, shots):  # noqa: F811
    context, page = signed_in(browser, server, "awa", "/console/campaigns/8-mars?year=2027")
    page.click("#theme summary")
    page.fill("#theme_fr", "Les femmes bâtissent la paix")
    page.fill("#theme_bm", "Musow bɛ hɛrɛ jɔ")
    page.click("#save-theme")
    page.wait_for_load_state()
    assert page.locator("#theme-fr").inner_text() == "Les femmes bâtissent la paix"
    page.fill("#day-jour", "2027-03-09")
    page.click("#move-jour")
    page.wait_for_selector("#moved-jour")
    page.fill("#add-key", "marche")
    page.fill("#add-title", "Marche de Bamako")
    page.fill("#add-day", "2027-03-07")
    page.fill("#add-send-time", "07:30")
    page.check("input[name=regions][value=bamako]")
    page.fill("#add-text-fr", "Demain 9 h : marche de Bamako, place de l'Indépendance.")
    page.fill("#add-text-bm", LONG)
    page.click("#add-button")
    page.wait_for_selector("#error-add-texts-bm")
    assert "dépasse 2 SMS" in page.locator("#error-add-texts-bm").inner_text()
    assert "invalid" in (page.get_attribute("#add-text-bm", "class") or "")
    page.locator("#add-form").screenshot(path=str(shots / "campagne-ajout-erreur.png"))
    page.fill("#add-text-bm", "Sini 9 h : Bamako taama.")
    page.click("#add-button")
    page.wait_for_selector("#added-marche")
    assert page.locator("#not-approved").count() == 1  # the new text awaits approval
    page.click("#theme summary")  # the theme form open, as on the screenshot
    page.screenshot(path=str(shots / "campagne-annee-modifiee.png"))
    page.locator("#message-marche").screenshot(path=str(shots / "campagne-message-ajoute.png"))
    with page.expect_download() as download:
        page.click("#export-toml")
    assert download.value.suggested_filename == "8-mars.toml"
    context.close()
