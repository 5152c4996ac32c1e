"""The campaign year page edits more than texts: the year's theme (shown on the page), a
message's day, a message added (and removed); a bad field comes back marked with a message in
French and nothing saved; two people on the same year: the second save is refused
("modifié entre-temps") with what was typed kept; the campaign downloads as its TOML file."""

from __future__ import annotations

import re

from broadcasts.campaigns import schedule
from broadcasts.campaigns.calendar import parse_campaign
from tests.console.test_console import account, csrf_of, get_page, sign_in

YEAR = 2027
LONG = "Un texte bien trop long pour deux SMS, répété encore et encore. " * 6


def revision_of(html: str) -> str:
    return re.search(r'name="revision" value="(\d+)"', html)[1]


async def test_theme_move_add_remove_and_export(console):
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "Awa")
    page_url = console.url + f"/console/campaigns/8-mars?year={YEAR}"
    post_url = console.url + "/console/campaigns/8-mars"
    async with session:
        status, html, _ = await get_page(session, page_url)
        assert status == 200 and 'id="theme-form"' in html and 'id="add-form"' in html

        def form(html: str, verb: str, **fields: str) -> dict[str, str]:
            return {"csrf": csrf_of(html), "year": str(YEAR), "revision": revision_of(html),
                    "verb": verb, **fields}  # fmt: skip

        # The theme: French required when another language is given; then saved and shown.
        async with session.post(post_url, data=form(html, "theme", theme_bm="Barokun")) as r:
            assert r.status == 400
            html = await r.text()
        assert "Le thème en français est obligatoire" in html
        assert 'id="error-theme-theme-fr"' in html and 'value="Barokun"' in html
        data = form(html, "theme", theme_fr="Les femmes bâtissent la paix", theme_bm="Barokun")
        async with session.post(post_url, data=data) as r:
            html = await r.text()
        assert '<span id="theme-fr">Les femmes bâtissent la paix</span>' in html
        assert "Thème 2027 : Les femmes bâtissent la paix" in html  # in the texts, as sent

        # A day outside the year, then a good one.
        async with session.post(
            post_url, data=form(html, "move", message="jour", day="2028-03-09")
        ) as r:
            assert r.status == 400
            html = await r.text()
        assert "Choisissez un jour de l&#39;année 2027" in html
        assert 'id="error-move-jour-day"' in html
        async with session.post(
            post_url, data=form(html, "move", message="jour", day="2027-03-09")
        ) as r:
            html = await r.text()
        assert 'id="moved-jour"' in html and 'value="2027-03-09"' in html

        # A message to add: a text over 2 SMS is refused on its field, in French, nothing saved.
        fields = {"key": "marche", "title": "Marche", "day": "2027-03-07", "send_time": "07:30",
                  "regions": "bamako", "text_fr": "Marche demain, 9 h.", "text_bm": LONG}  # fmt: skip
        async with session.post(post_url, data=form(html, "add", **fields)) as r:
            assert r.status == 400
            html = await r.text()
        assert "Ce texte dépasse 2 SMS : raccourcissez-le." in html
        assert 'id="error-add-texts-bm"' in html and 'id="message-marche"' not in html
        assert 'value="marche"' in html  # what was typed is kept
        fields["text_bm"] = "Taama sini, 9 h."
        async with session.post(post_url, data=form(html, "add", **fields)) as r:
            html = await r.text()
        assert 'id="added-marche"' in html and 'id="not-approved"' in html

        # The file: the year as edited, in the shipped format, loads back the same.
        async with session.get(
            console.url + f"/console/campaigns/8-mars/export.toml?year={YEAR}"
        ) as r:
            assert r.status == 200 and 'filename="8-mars.toml"' in r.headers["Content-Disposition"]
            loaded = parse_campaign(await r.text(), "8-mars.toml", stem="8-mars")
        days = {slot.key: slot.day.isoformat() for slot in schedule.schedule(loaded, YEAR)}
        assert days == {"rappel": "2027-03-01", "marche": "2027-03-07", "jour": "2027-03-09"}
        assert loaded.themes[YEAR] == {"fr": "Les femmes bâtissent la paix", "bm": "Barokun"}

        async with session.post(post_url, data=form(html, "remove", message="marche")) as r:
            html = await r.text()
        assert 'id="message-marche"' not in html


async def test_a_save_over_someone_elses_is_refused_and_what_was_typed_kept(console):
    await account(console, "awa", "secretariat")
    await account(console, "binta", "secretariat")
    page_url = console.url + f"/console/campaigns/8-mars?year={YEAR}"
    post_url = console.url + "/console/campaigns/8-mars"
    awa, *_ = await sign_in(console, "Awa")
    binta, *_ = await sign_in(console, "Binta")
    async with awa, binta:
        _, html_awa, _ = await get_page(awa, page_url)
        _, html_binta, _ = await get_page(binta, page_url)  # both open the same year
        for session, html, text in (
            (awa, html_awa, "Texte d'Awa pour le 8 mars."),
            (binta, html_binta, "Texte de Binta pour le 8 mars."),
        ):
            data = {"csrf": csrf_of(html), "year": str(YEAR), "revision": revision_of(html),
                    "verb": "texts", "message": "jour", "text_fr": text}  # fmt: skip
            async with session.post(post_url, data=data) as response:
                status, answer = response.status, await response.text()
        assert status == 409 and "modifié entre-temps" in answer
        assert "Texte de Binta pour le 8 mars." in answer  # kept in her form
        _, html, _ = await get_page(awa, page_url)
        assert "Texte d&#39;Awa pour le 8 mars." in html and "Texte de Binta" not in html


async def test_viewers_read_but_do_not_edit(console):
    await account(console, "vera", "viewer")
    session, *_ = await sign_in(console, "Vera")
    async with session:
        status, html, _ = await get_page(
            session, console.url + f"/console/campaigns/8-mars?year={YEAR}"
        )
        assert status == 200 and 'id="add-form"' not in html and 'id="theme-form"' not in html
        assert 'id="export-toml"' in html
        async with session.post(
            console.url + "/console/campaigns/8-mars",
            data={"csrf": csrf_of(html), "year": str(YEAR), "verb": "theme", "theme_fr": "X"},
        ) as response:
            assert response.status == 403


async def test_a_placeholder_left_in_an_edited_text_is_refused_in_french(console):
    await account(console, "awa", "secretariat")
    page_url = console.url + f"/console/campaigns/8-mars?year={YEAR}"
    session, *_ = await sign_in(console, "Awa")
    async with session:
        _, html, _ = await get_page(session, page_url)
        typed = "Le 8 mars : thème {theme}, venez nombreuses."
        data = {"csrf": csrf_of(html), "year": str(YEAR), "revision": revision_of(html),
                "verb": "texts", "message": "jour", "text_fr": typed}  # fmt: skip
        async with session.post(console.url + "/console/campaigns/8-mars", data=data) as response:
            status, answer = response.status, await response.text()
        assert status == 400
        assert "{theme} n&#39;est pas remplacé dans un texte modifié" in answer
        assert typed in answer  # what was typed is kept
        _, html, _ = await get_page(session, page_url)
        assert typed not in html  # nothing saved
