"""The Traductions page over HTTP: a translator edits their language only, a lost placeholder
is refused naming it, a text over its SMS budget is flagged, .po files go out and back in."""

from __future__ import annotations

import re

import aiohttp
import pytest

from bot.vocabulary import i18n
from bot.vocabulary.errors import FieldError
from storage import accounts, audit
from tests.console.test_console import PASSWORD, csrf_of, get_page, sign_in

WELCOME = (
    "Bienvenue dans Benkadi, {name} ! Vous recevrez les messages de la coordination. "
    "AIDE pour l'aide."
)


async def translator(console, username: str, *languages: str) -> None:
    await accounts.create_account(
        console.database, username, username.title(), "translator", PASSWORD, "test", languages
    )


async def save(session, console, language: str, msgid: str, msgstr: str, reviewed: bool = True):
    _, html, _ = await get_page(session, f"{console.url}/console/translations/{language}")
    form = {"csrf": csrf_of(html), "msgid": msgid, "msgstr": msgstr}
    if reviewed:
        form["reviewed"] = "1"
    async with session.post(
        f"{console.url}/console/translations/{language}", data=form
    ) as response:
        return response.status, await response.text()


async def test_a_translator_edits_their_language_only(console):
    await translator(console, "aissata", "ses")
    session, status, html, _ = await sign_in(console, "aissata")
    async with session:
        assert status == 200
        status, html, url = await get_page(session, console.url + "/console/translations")
        assert status == 200 and url.path == "/console/translations/ses"
        assert "Je n&#39;ai pas compris." in html and "à relire" in html
        status, _, _ = await get_page(session, console.url + "/console/members")
        assert status == 403  # a translator sees no member
        status, _ = await save(session, console, "ses", "Je n'ai pas compris.", "Ay mana faham.")
        assert status == 200  # back on the page (redirected)
        assert i18n.in_language("ses", "Je n'ai pas compris.") == "Ay mana faham."
        status, _ = await save(session, console, "ff", "Je n'ai pas compris.", "Mi faamaani.")
        assert status == 403  # not their language
        status, html, _ = await get_page(session, console.url + "/console/translations/ff")
        assert status == 200 and "<textarea" not in html  # they may read it
    [entry] = [
        e for e in await audit.entries(console.database) if e["action"] == "translation.save"
    ]
    assert entry["actor"] == "console:aissata" and entry["details"]["after"]["reviewed"] is True


async def test_a_lost_placeholder_is_refused_naming_it_and_the_budget_is_flagged(console):
    await translator(console, "hawa", "ff")
    session, *_ = await sign_in(console, "hawa")
    async with session:
        status, html = await save(session, console, "ff", WELCOME, "Bismilla e Benkadi! BALLAL.")
        assert status == 400 and "drops {name}" in html
        assert i18n.in_language("ff", WELCOME).startswith("Bismilla e Benkadi, {name}!")
        long = "Jaabee " * 30 + "(Eey) walla (Alaa)."
        status, _ = await save(session, console, "ff", "Répondez 1 (Oui) ou 2 (Non).", long, False)
        _, html, _ = await get_page(session, console.url + "/console/translations/ff?state=edited")
        assert "plus de SMS que le français" in html and "à relire" in html


async def test_po_export_and_import_through_the_page(console):
    await translator(console, "aissata", "ses")
    session, *_ = await sign_in(console, "aissata")
    async with session:
        async with session.get(console.url + "/console/translations/ses.po") as response:
            assert response.status == 200
            assert "benkadi-ses.po" in response.headers["Content-Disposition"]
            exported = await response.read()
        edited = exported.replace(
            'msgstr "Kod ši boori."'.encode(), 'msgstr "Kod wo ši boori."'.encode()
        )
        _, html, _ = await get_page(session, console.url + "/console/translations/ses")
        form = aiohttp.FormData()
        form.add_field("csrf", csrf_of(html))
        form.add_field("file", edited, filename="ses.po", content_type="text/x-gettext-translation")
        async with session.post(
            console.url + "/console/translations/ses/import", data=form
        ) as response:
            assert response.status == 200 and "1 texte(s) modifié(s)" in await response.text()
        assert i18n.in_language("ses", "Code incorrect.") == "Kod wo ši boori."
        async with session.get(console.url + "/console/translations/ses.po") as response:
            assert await response.read() == edited

        bad = edited.replace(b"Kubayni Benkadi ra, {name}!", b"Kubayni Benkadi ra!")
        form = aiohttp.FormData()
        form.add_field("csrf", csrf_of(html))
        form.add_field("file", bad, filename="ses.po")
        async with session.post(
            console.url + "/console/translations/ses/import", data=form
        ) as response:
            text = await response.text()
            assert response.status == 400 and "drops {name}" in text and "ligne" in text


async def test_a_translator_needs_a_language(console):
    with pytest.raises(FieldError, match="a translator needs one or more of bm, ff, ses, en"):
        await accounts.create_account(console.database, "x1", "X", "translator", PASSWORD, "t")
    with pytest.raises(FieldError, match="only a translator has languages"):
        await accounts.create_account(console.database, "x2", "X", "viewer", PASSWORD, "t", ["ff"])


async def test_the_dashboard_tile_counts_what_was_reviewed_in_the_console(console):
    await accounts.create_account(console.database, "awa", "Awa", "secretariat", PASSWORD, "t")
    session, *_ = await sign_in(console, "awa")

    def ses_row(html: str) -> list[str]:
        tile = html.split('id="translations-tile"')[1].split("</table>")[0]
        row = tile.split("<td>ses</td>")[1].split("</tr>")[0]
        return re.findall(r'<td class="n">([^<]*)</td>', row)

    async with session:
        _, html, _ = await get_page(session, console.url + "/console/")
        translated, reviewed, awaiting = ses_row(html)
        assert reviewed == "0" and translated.split(" / ")[0] == awaiting
        status, _ = await save(session, console, "ses", "Je n'ai pas compris.", "Ay mana faham.")
        assert status == 200  # the secretariat edits every language
        _, html, _ = await get_page(session, console.url + "/console/")
        assert ses_row(html) == [translated, "1", str(int(awaiting) - 1)]


async def test_each_text_says_where_it_is_used_and_what_the_console_changed(console):
    """The context a translator needs: the files that send the text; and, for a text saved in
    the console, the shipped text it replaced (what changed)."""
    await translator(console, "aissata2", "ses")
    session, *_ = await sign_in(console, "aissata2")
    async with session:
        shipped = i18n.in_language("ses", "Je n'ai pas compris.")
        status, _ = await save(session, console, "ses", "Je n'ai pas compris.", "Ay mana faham!")
        assert status == 200
        _, html, _ = await get_page(session, console.url + "/console/translations/ses?state=edited")
    [row] = re.findall(r'<tr id="t-[0-9a-f]{12}">.*?</tr>', html, re.S)
    assert "Utilisé dans :" in row and "<code>bot/" in row
    assert "Texte livré :" in row and shipped.replace("'", "&#39;") in row
