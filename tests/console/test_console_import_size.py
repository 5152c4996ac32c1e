"""The directory upload takes a real directory (more than the app's 1 MB body limit, up to the
API's MAX_DIRECTORY); every other console form keeps the 1 MB limit."""

from __future__ import annotations

import aiohttp

from gateway.api.members import MAX_DIRECTORY
from tests.console.test_console import account, csrf_of, sign_in

HEADER = "Nom et prénom;Téléphone;Organisation;Type;Région;Cercle/Commune;Thèmes;Langue;Sexe;Âge\n"
ROWS = 12_000


def big_directory() -> bytes:
    """12,000 distinct people, about 1.2 MB of CSV."""
    lines = [
        f"Personne numéro {n} Traoré;76 {n // 10000:02d} {n // 100 % 100:02d} {n % 100:02d};"
        f"Association des femmes {n % 40};Association;Kayes;Kita;VBG;Bambara;F;25-35\n"
        for n in range(ROWS)
    ]
    return (HEADER + "".join(lines)).encode("utf-8")


async def post(session, url: str, csrf: str, content: bytes, name: str) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("action", "check")
    form.add_field("file", content, filename=name, content_type="text/csv")
    async with session.post(url, data=form) as response:
        return response.status, await response.text()


async def test_a_directory_above_one_megabyte_is_checked(console):
    content = big_directory()
    assert 1024**2 < len(content) < MAX_DIRECTORY
    await account(console, "awa", "secretariat")
    session, _, html, _ = await sign_in(console, "awa")
    async with session:
        url = console.url + "/console/members/import"
        status, html = await post(session, url, csrf_of(html), content, "annuaire.csv")
        assert status == 200, html[:500]
        assert f"{ROWS} lignes : {ROWS} créées" in html
        # Past the directory's own limit: refused, saying the limit, before anything is parsed.
        status, page = await post(
            session, url, csrf_of(html), b"x" * (MAX_DIRECTORY + 128 * 1024), "énorme.csv"
        )
        assert status == 413 and "Fichier trop gros : 32 Mo au plus." in page
        # Other forms keep the app's 1 MB.
        status, page = await post(
            session, console.url + "/console/polls/import", csrf_of(html), content, "s.csv"
        )
        assert status == 413
