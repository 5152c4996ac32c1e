"""The console's SMS phones page (admins): status, adding with errors marked, secrets never
shown back, removing."""

from __future__ import annotations

from gateway.keys import CHANNELS
from storage import gateways as store
from tests.console.test_console import account, csrf_of, get_page, sign_in

SECRET, KEY = "pa55-word-s3cret", "signing-k3y-s3cret"


async def test_admins_add_see_and_remove_phones(console):
    await account(console, "admin1", "admin")
    await account(console, "sec", "secretariat")
    session, *_ = await sign_in(console, "admin1")
    async with session:
        status, html, _ = await get_page(session, console.url + "/console/gateways")
        assert status == 200 and "simulateur" in html  # the simulator's own fake phone
        assert "/webhooks/android/NOM" in html
        form = {
            "csrf": csrf_of(html), "name": "bamako-1", "url": "http://192.168.1.20:8080",
            "login": "sms", "password": SECRET, "signing_key": KEY,
            "sims": "1:+22370000001:orange:0.02:2\n2:+22365000001:mtn", "hours": "8h-20h",
        }  # fmt: skip
        async with session.post(console.url + "/console/gateways", data=form) as response:
            html = await response.text()
            assert response.status == 400 and "mtn" in html and 'class="invalid"' in html
            assert SECRET not in html and KEY not in html  # not even in the form shown again
        form["sims"] = "1:+22370000001:orange:0.02:2\n2:+22365000001:moov"
        async with session.post(console.url + "/console/gateways", data=form) as response:
            html = await response.text()
            assert response.status == 400
            assert 'id="gateway-hours" name="hours" value="8h-20h" class="invalid"' in html
        form["hours"] = "08:00-20:00"
        async with session.post(console.url + "/console/gateways", data=form) as response:
            html = await response.text()
            assert response.status == 200 and response.url.path == "/console/gateways"
        assert "bamako-1" in html and "+22365000001 (moov)" in html and "en service" in html
        assert "envoie de 08:00-20:00 (heure de Bamako)" in html
        assert SECRET not in html and KEY not in html
        [gateway] = [g for g in await store.load_gateways(console.database) if g.name == "bamako-1"]
        assert gateway.password == SECRET
        routes = console.app[CHANNELS]["sms"]  # the running service knows it at once
        assert "bamako-1" in {g.name for g in routes.gateways.values()}
        remove = {"csrf": csrf_of(html)}
        async with session.post(
            console.url + "/console/gateways/bamako-1/remove", data=remove
        ) as response:
            assert response.status == 200
        assert [g.name for g in await store.load_gateways(console.database)] == ["simulateur"]
        assert [g.name for g in routes.gateways.values()] == ["simulateur"]
    session, *_ = await sign_in(console, "sec")
    async with session:
        status, _, _ = await get_page(session, console.url + "/console/gateways")
        assert status == 403


async def test_the_preview_shows_the_sms_per_route(console):
    from storage.types import utcnow
    from tests.console.conftest import seed_people
    from tests.factories import add_member

    await seed_people(console.database)
    async with console.database.transaction() as connection:  # an SMS-only member in Kayes
        await add_member(
            connection, name="Kadia", region="kayes", now=utcnow(),
            addresses=[("sms", "+22376009988")],
        )  # fmt: skip
    await account(console, "awa", "secretariat")
    session, _, html, _ = await sign_in(console, "awa")
    async with session:
        form = {
            "csrf": csrf_of(html), "text_fr": "Atelier VBG jeudi.", "action": "preview",
            "regions": "kayes",
        }  # fmt: skip
        async with session.post(console.url + "/console/broadcasts/new", data=form) as response:
            page = await response.text()
        assert response.status == 200 and 'id="preview-routes"' in page
        assert "simulateur/sim1 (orange)" in page and "sur 1 téléphone," in page
