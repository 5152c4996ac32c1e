"""The poll editor and the recurring messages page in a real browser (the setup of
test_browser.py): a three-question poll with a condition and two languages built in the form,
a mistake marked, previewed as SMS and Telegram, saved and scheduled; the scheduler (a test
clock) opens it on its date, once. BENKADI_SCREENSHOTS=1 writes the screenshots for the README.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from broadcasts.polls import editing
from broadcasts.polls import service as poll_service
from tests.console.test_browser import browser, server, shots, signed_in  # noqa: F401

OPENS = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)


def on_server(running, coroutine):
    return asyncio.run_coroutine_threadsafe(coroutine, running.loop).result(30)


def test_build_preview_schedule_a_poll(browser, server, shots):  # noqa: F811
    context, page = signed_in(browser, server, "awa", "/console/polls/new")
    page.fill("#slug", "rapports-2027")
    page.fill("#title_fr", "Rapports 2027")
    page.fill("#invitation_fr", "Benkadi : 3 questions sur vos rapports. Envoyez SONDAGE.")
    page.fill("#invitation_bm", "Benkadi : ɲininkali 3 aw ka rapɔrɔw kan. SONDAGE ci.")
    page.fill("#opens", "2027-01-05T09:00")
    page.fill("#closes", "2027-01-04T09:00")  # before the opening: refused, marked
    page.check("input[name=regions][value=kayes]")
    page.fill("#q0_key", "rapport")
    page.select_option("#q0_kind", "yes_no")
    page.fill("#q0_text_fr", "Avez-vous envoyé un rapport ce mois-ci ?")
    page.fill("#q0_text_bm", "Aw ye rapɔrɔ ci nin kalo in na wa ?")
    page.click("#more-button")
    page.fill("#q1_key", "combien")
    page.select_option("#q1_kind", "number")
    page.fill("#q1_text_fr", "Combien d'activités ce mois-ci ?")
    page.fill("input[name=q1_min]", "0")
    page.fill("input[name=q1_max]", "50")
    page.fill("#q1_if", "rapport")
    page.fill("input[name=q1_if_in]", "yes")
    page.click("#more-button")
    page.fill("#q2_key", "canal")
    page.fill("#q2_text_fr", "Par quel moyen ?")
    page.fill("input[name=q2_o0_text_fr]", "SMS")
    page.fill("input[name=q2_o1_text_fr]", "Papier")
    page.fill("input[name=q2_o1_text_bm]", "Papiye")
    page.click("#preview-button")
    assert "invalid" in (page.get_attribute("#closes", "class") or "")
    assert "après l'ouverture" in page.locator("#error-closes").inner_text()
    page.fill("#closes", "2027-01-20T18:00")
    page.click("#preview-button")
    page.wait_for_selector("#preview")
    preview = page.locator("#preview").inner_text()
    assert "1/3 Avez-vous envoyé un rapport ce mois-ci ?" in preview
    assert "[Oui]" in preview and "(texte français)" in preview
    page.screenshot(path=str(shots / "sondage-apercu-questions.png"), full_page=True)
    page.click("#save-button")
    page.wait_for_url("**/console/polls/rapports-2027/edit?saved=1")
    page.click("#schedule-button")
    page.wait_for_selector("#scheduled")
    page.screenshot(path=str(shots / "sondage-editeur.png"))
    row = on_server(server, poll_service.poll_row(server.database, "rapports-2027"))
    assert [q["key"] for q in row.definition["questions"]] == ["rapport", "combien", "canal"]
    assert row.open_on_schedule

    channels = ("sms", "telegram")
    first = on_server(server, editing.open_due(server.database, OPENS, enabled_channels=channels))
    again = on_server(server, editing.open_due(server.database, OPENS, enabled_channels=channels))
    assert len(first) == 1 and again == []
    page.goto(server.url + "/console/polls/rapports-2027")
    assert "lancé" in page.locator("main").inner_text()
    context.close()


def test_recurring_messages_page(browser, server, shots):  # noqa: F811
    context, page = signed_in(browser, server, "awa", "/console/recurring")
    assert page.locator("#rapport-mensuel-state").inner_text() == "désactivé"
    page.click("#rapport-mensuel-enable")
    page.wait_for_selector("#rapport-mensuel-disable")
    assert page.locator("#rapport-mensuel-state").inner_text() == "activé"
    page.screenshot(path=str(shots / "messages-recurrents.png"), full_page=True)
    page.click("#rapport-mensuel-disable")
    page.wait_for_selector("#rapport-mensuel-enable")
    context.close()


def test_campaign_year_page(browser, server, shots):  # noqa: F811
    context, page = signed_in(browser, server, "awa", "/console/campaigns/8-mars?year=2027")
    assert page.locator("#not-approved").count() == 1
    page.fill("#jour-fr", "8 mars 2027 : toutes et tous à la marche de Bamako, 9 h.")
    page.click("#save-jour")
    page.wait_for_load_state()
    page.click("#approve-button")
    page.wait_for_selector("#approved")
    page.screenshot(path=str(shots / "campagne-annee.png"))
    context.close()
