"""The campaigns pages: the year's campaigns, a campaign's messages with date, audience and
texts; a text edited for the year (a bad one marked), then approved (who and when shown); the
year exported with the edited text."""

from __future__ import annotations

from tests.console.test_console import account, csrf_of, get_page, sign_in

YEAR = 2027


async def test_edit_a_campaign_text_and_approve_the_year(console):
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "Awa")
    async with session:
        status, html, _ = await get_page(session, console.url + f"/console/campaigns?year={YEAR}")
        assert status == 200 and "/console/campaigns/8-mars?year=2027" in html
        page_url = console.url + f"/console/campaigns/8-mars?year={YEAR}"
        status, html, _ = await get_page(session, page_url)
        assert status == 200 and 'id="not-approved"' in html and 'id="message-jour"' in html
        # Issue 18: each language's review state, as on the poll page (the shipped file says
        # bm, ff and ses await a native speaker; French is the source).
        assert 'id="review-jour-bm"' in html and 'id="review-jour-ses"' in html
        assert 'id="review-jour-fr"' not in html and 'id="review-jour-en"' not in html
        post_url = console.url + "/console/campaigns/8-mars"
        bad = {"csrf": csrf_of(html), "year": str(YEAR), "verb": "texts", "message": "jour"}
        async with session.post(post_url, data=bad | {"text_fr": ""}) as response:
            assert response.status == 400
            assert "français est obligatoire" in await response.text()
        text = "8 mars 2027 : toutes et tous à la marche de Bamako, 9 h, place de l'Indépendance."
        async with session.post(post_url, data=bad | {"text_fr": text}) as response:
            html = await response.text()
        assert text.replace("'", "&#39;") in html and "textes modifiés" in html
        async with session.post(
            post_url, data={"csrf": csrf_of(html), "year": str(YEAR), "verb": "approve"}
        ) as response:
            html = await response.text()
        assert 'id="approved"' in html and "console:awa" in html
        async with session.get(
            console.url + f"/console/campaigns/8-mars/export?year={YEAR}"
        ) as response:
            data = await response.json()
        jour = next(m for m in data["messages"] if m["message"] == "jour")
        assert jour["texts"]["fr"] == text and data["approved_by"] == "console:awa"
