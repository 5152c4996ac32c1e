"""The directory upload page: the secretariat checks the sample (every problem by line, nothing
written), then imports it; a viewer may not."""

from __future__ import annotations

import aiohttp
from sqlalchemy import func, select

from storage.models import Member
from tests.console.test_console import account, csrf_of, get_page, sign_in
from tests.storage.test_directory import SAMPLE


async def post_file(session, console, csrf: str, action: str) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("action", action)
    form.add_field("file", SAMPLE.read_bytes(), filename=SAMPLE.name, content_type="text/csv")
    async with session.post(console.url + "/console/members/import", data=form) as response:
        return response.status, await response.text()


async def members(console) -> int:
    async with console.database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Member)))


async def test_the_secretariat_checks_then_imports_the_directory(console):
    await account(console, "awa", "secretariat")
    await account(console, "vera", "viewer")
    session, *_ = await sign_in(console, "vera")
    async with session:
        status, _html, _ = await get_page(session, console.url + "/console/members/import")
        assert status == 403
    session, *_ = await sign_in(console, "awa")
    async with session:
        status, html, _ = await get_page(session, console.url + "/console/members/import")
        assert status == 200
        status, html = await post_file(session, console, csrf_of(html), "check")
        assert status == 200 and "300 lignes : 293 créées, 6 réunies" in html
        assert html.count('<tr><td class="n">') == 3  # the sample's three problems
        assert '<td class="n">202</td>' in html and "ligne refusée" in html
        assert await members(console) == 0
        status, html = await post_file(session, console, csrf_of(html), "import")
        assert status == 200 and "293 invitations envoyées" in html
        assert await members(console) == 293


async def test_the_organisations_page_merges_duplicates_and_edits_a_record(console):
    from datetime import UTC, datetime

    from storage import members as member_store
    from storage.models import Organisation
    from tests.factories import add_member

    now = datetime(2026, 12, 1, tzinfo=UTC)
    async with console.database.transaction() as connection:
        afem = await member_store.organisation_id_named(connection, "AFEM")
        dotted = await member_store.organisation_id_named(connection, "A.F.E.M.")
        awa = await add_member(connection, name="Awa K", region="kayes", now=now,
                               organisation_id=dotted, role="Point focal")  # fmt: skip
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "awa")
    async with session:
        status, html, _ = await get_page(session, console.url + "/console/organisations")
        assert status == 200 and "AFEM = A.F.E.M." in html
        form = {"csrf": csrf_of(html), "keep": str(afem), "duplicate": str(dotted)}
        async with session.post(console.url + "/console/organisations/merge", data=form) as r:
            html = await r.text()
            assert r.status == 200 and r.url.path == f"/console/organisations/{afem}"
        assert "Awa K" in html and "Point focal" in html and "a.f.e.m" in html
        form = {"csrf": csrf_of(html), "kind": "association", "region": "kayes",
                "cercle": "Kita", "themes": "vbg", "active": "on", "focal_member_id": str(awa)}  # fmt: skip
        async with session.post(console.url + f"/console/organisations/{afem}", data=form) as r:
            assert r.status == 200
        form["region"] = "atlantis"
        async with session.post(console.url + f"/console/organisations/{afem}", data=form) as r:
            assert r.status == 400  # the form shown again, the field named
    async with console.database.sessions() as db:
        [record] = list(await db.scalars(select(Organisation)))
    assert (record.kind, record.region, record.cercle, record.themes) == (
        "association", "kayes", "Kita", ["vbg"],
    )  # fmt: skip
    assert record.focal_member_id == awa


async def test_the_broadcast_form_targets_sex_and_age_band(console):
    from tests.console.conftest import seed_people

    await seed_people(console.database)
    await account(console, "awa", "secretariat")
    session, _, html, _ = await sign_in(console, "awa")
    async with session:
        form = {"csrf": csrf_of(html), "text_fr": "Atelier jeunes femmes", "action": "preview",
                "sexes": "f", "age_bands": "15-24"}  # fmt: skip
        async with session.post(console.url + "/console/broadcasts/new", data=form) as response:
            page = await response.text()
        assert response.status == 200
        assert 'value="f" checked' in page and 'value="15-24" checked' in page
        assert 'value="m" checked' not in page


async def test_the_upload_names_the_erased_and_the_telegram_only_lines(console):
    """A number on the erasure list (its person sent OUBLIER) is refused by name, nothing of it
    shown; a person with only a Telegram username is imported and said not invitable."""
    from gateway.keys import ERASURE_KEY
    from storage import suppression
    from storage.types import utcnow

    async with console.database.transaction() as connection:
        await suppression.suppress(
            connection, console.app[ERASURE_KEY], [("phone", "+22376123456")], utcnow()
        )
    rows = (
        "Nom;Téléphone;Telegram;Région\n"
        "Awa Diarra;76 12 34 56;;Kayes\n"
        "Fanta Keïta;;@fanta_k;Ségou\n"
        "Binta Sow;76 00 01 02;;Kayes\n"
    ).encode()
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "awa")
    async with session:
        status, html, _ = await get_page(session, console.url + "/console/members/import")
        form = aiohttp.FormData()
        form.add_field("csrf", csrf_of(html))
        form.add_field("action", "import")
        form.add_field("file", rows, filename="a.csv", content_type="text/csv")
        async with session.post(console.url + "/console/members/import", data=form) as response:
            status, html = response.status, await response.text()
    assert status == 200
    assert "3 lignes : 2 créées" in html and "1 refusées (dont 1 personnes effacées" in html
    assert "personne effacée à sa demande : pas réimportée" in html
    assert "76 12 34 56" not in html and "+22376123456" not in html
    assert "importée, sans invitation" in html and 'id="import-telegram-only"' in html
    # The console's simulator is an SMS route here: nothing said to wait (see the CLI's test).
    assert "1 invitations envoyées" in html and 'id="import-waiting"' not in html
    assert await members(console) == 2
