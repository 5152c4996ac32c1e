"""The console over HTTP: signing in (accounts and tokens), slowed failures, CSRF on forms,
roles on every page, the expired session sent to sign-in and back, the pages themselves."""

from __future__ import annotations

import re
import time

import aiohttp
from yarl import URL

from gateway.console import auth
from gateway.console.keys import THROTTLE
from storage import accounts, audit
from tests.console.conftest import AWA_PHONE, seed_people

PASSWORD = "mot-de-passe-solide"


async def account(console, username: str, role: str) -> None:
    await accounts.create_account(
        console.database, username, username.title(), role, PASSWORD, "test"
    )


def console_throttle(console):
    return next(sub for sub in console.app._subapps)[THROTTLE]


async def get_page(session: aiohttp.ClientSession, url: str, **kwargs) -> tuple[int, str, URL]:
    async with session.get(url, **kwargs) as response:
        return response.status, await response.text(), response.url


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def sign_in(console, username: str, password: str = PASSWORD, next_: str = "", **extra):
    """A fresh browser: GET the sign-in page (its CSRF token), POST the form."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    _, html, _ = await get_page(session, console.url + "/console/login" + next_)
    form = {"csrf": csrf_of(html), "username": username, "password": password, **extra}
    if next_:
        form["next"] = next_.split("next=", 1)[1].replace("%2F", "/")
    async with session.post(console.url + "/console/login", data=form) as response:
        return session, response.status, await response.text(), response.url


async def test_sign_in_with_an_account_then_pages_work(console):
    await seed_people(console.database)
    await account(console, "awa", "secretariat")
    session, status, html, url = await sign_in(console, "Awa")
    async with session:
        assert status == 200 and url.path == "/console/"
        assert "Tableau de bord" in html and "<svg" in html  # charts inline
        assert "Membres par région" in html
        assert "kozea" not in html and "cdn" not in html.lower()  # nothing from outside
        for path, expected in (
            ("/console/members?q=awa", "Awa Traoré"),
            ("/console/organisations", "ONG Kènèya"),
            ("/console/broadcasts", "Nouvelle diffusion"),
            ("/console/broadcasts/new", "Aperçu"),
        ):
            status, html, _ = await get_page(session, console.url + path)
            assert status == 200, path
            assert expected in html, path
        status, html, _ = await get_page(session, console.url + "/console/members?q=76123456")
        assert "Awa Traoré" in html  # the secretariat may search by number
        status, html, _ = await get_page(session, console.url + "/console/audit")
        assert status == 403  # admins only
    entries = await audit.entries(console.database)
    assert entries[0]["action"] == "console.login" and entries[0]["actor"] == "console:awa"


async def test_wrong_password_and_unknown_user_get_the_same_answer(console):
    await account(console, "awa", "viewer")
    answers = []
    for username, password in (("awa", "wrong-password"), ("nobody", PASSWORD)):
        session, status, html, _ = await sign_in(console, username, password)
        await session.close()
        answers.append((status, re.search(r'class="error" role="alert">([^<]+)<', html).group(1)))
    assert answers[0] == answers[1] == (401, "Identifiant, mot de passe ou jeton incorrect.")
    # How failures slow the next attempts: tests/console/test_throttle.py.


async def test_missing_field_is_marked(console):
    session, status, html, _ = await sign_in(console, "awa", "")
    async with session:
        assert status == 400
        assert (
            'id="password" name="password" autocomplete="current-password" class="invalid"' in html
        )
        assert 'value="awa"' in html  # what was typed stays


async def test_sign_in_with_a_token(console):
    token = await console.token("admin")
    session, status, html, url = await sign_in(console, "", "", token=token)
    async with session:
        assert url.path == "/console/" and "Journal d&#39;audit" in html
        status, html, _ = await get_page(session, console.url + "/console/audit")
        assert status == 200 and "connexion à la console" in html


async def test_expired_session_goes_to_sign_in_and_back(console):
    await account(console, "awa", "viewer")
    session, *_ = await sign_in(console, "awa")
    async with session:
        session.cookie_jar.clear()  # what an expired cookie is: the server cannot read it
        _, _, url = await get_page(session, console.url + "/console/members?region=kayes")
        assert url.path == "/console/login"
        assert url.query["next"] == "/console/members?region=kayes"
    session, _status, _html, url = await sign_in(
        console, "awa", next_="?next=/console/members?region=kayes"
    )
    async with session:
        assert str(url.relative()) == "/console/members?region=kayes"


async def test_idle_session_expires(console, monkeypatch):
    await account(console, "awa", "viewer")
    session, *_ = await sign_in(console, "awa")
    async with session:
        later = time.time() + auth.IDLE_SECONDS + 5
        monkeypatch.setattr(auth.time, "time", lambda: later)
        _, _, url = await get_page(session, console.url + "/console/organisations")
        assert url.path == "/console/login"


async def test_forms_without_the_csrf_token_are_refused(console):
    await account(console, "awa", "secretariat")
    session, _, html, _ = await sign_in(console, "awa")
    async with session:
        form = {"text_fr": "Bonjour", "action": "save"}
        async with session.post(console.url + "/console/broadcasts/new", data=form) as response:
            assert response.status == 403
        form["csrf"] = "forged"
        async with session.post(console.url + "/console/broadcasts/new", data=form) as response:
            assert response.status == 403
        form["csrf"] = csrf_of(html)
        async with session.post(console.url + "/console/broadcasts/new", data=form) as response:
            assert response.status == 200 and response.url.path.startswith("/console/broadcasts/")
    # Signing in needs the page's token too (no login CSRF).
    async with aiohttp.ClientSession() as stranger:
        data = {"username": "awa", "password": PASSWORD}
        async with stranger.post(console.url + "/console/login", data=data) as response:
            assert response.status == 403


async def test_compose_with_missing_french_marks_the_field(console):
    await account(console, "awa", "secretariat")
    session, _, html, _ = await sign_in(console, "awa")
    async with session:
        form = {
            "csrf": csrf_of(html),
            "text_bm": "I ni ce",
            "action": "preview",
            "regions": "kayes",
        }
        async with session.post(console.url + "/console/broadcasts/new", data=form) as response:
            page = await response.text()
        assert response.status == 400
        assert 'id="text_fr" name="text_fr" class="invalid"' in page
        assert "I ni ce" in page and 'value="kayes" checked' in page


async def _seed_history(database, member_id: int) -> None:
    """What LIER leaves in a member's history: a number typed in, a code sent back."""
    from sqlalchemy import insert, select

    from storage.models import Address, InboundMessage, OutboxMessage

    async with database.transaction() as connection:
        address_id = await connection.scalar(
            select(Address.__table__.c.id).where(Address.__table__.c.member_id == member_id)
        )
        await connection.execute(
            insert(InboundMessage.__table__).values(
                channel="telegram", provider_id="u1", address_id=address_id, body="76 99 88 77"
            )
        )
        await connection.execute(
            insert(OutboxMessage.__table__).values(
                member_id=member_id, address_id=address_id, channel="sms",
                recipient="+22376998877", body="Benkadi : votre code est 482913.",
            )
        )  # fmt: skip


async def test_viewers_cannot_send_nor_see_full_numbers(console):
    ids = await seed_people(console.database)
    await _seed_history(console.database, ids["awa"])
    await account(console, "sara", "secretariat")
    session, _, _, _ = await sign_in(console, "sara")
    async with session:
        _, page, _ = await get_page(session, console.url + f"/console/members/{ids['awa']}")
        assert "76 99 88 77" in page and "482913" in page  # the secretariat reads the history
    await account(console, "vera", "viewer")
    session, _, html, _ = await sign_in(console, "vera")
    async with session:
        status, page, _ = await get_page(session, console.url + f"/console/members/{ids['awa']}")
        assert status == 200
        assert AWA_PHONE not in page and AWA_PHONE[4:] not in page
        assert "76 99 88 77" not in page and "482913" not in page
        assert "contenu réservé au secrétariat" in page
        assert "+223 76 •• •• 56" in page
        status, page, _ = await get_page(session, console.url + "/console/members?q=76123456")
        assert "Awa Traoré" not in page  # no search by number for viewers
        status, page, _ = await get_page(session, console.url + "/console/broadcasts/new")
        assert status == 403
        form = {"csrf": csrf_of(html), "text_fr": "Bonjour", "action": "send"}
        async with session.post(console.url + "/console/broadcasts/new", data=form) as response:
            assert response.status == 403
        async with session.get(console.url + "/console/members/export?format=csv") as response:
            data = (await response.read()).decode("utf-8-sig")
        assert response.status == 200
        assert AWA_PHONE not in data and "+223 76 •• •• 56" in data


def _routes(app):
    for resource in app.router.resources():
        info = resource.get_info()
        if "app" in info:  # the console sub-application
            yield from ((route.resource.canonical, route) for route in info["app"].router.routes())
            continue
        for route in resource:
            yield resource.canonical, route


async def test_every_route_refuses_a_missing_session_or_token(console):
    """Each API route answers 401 without a token, and each console page sends to sign-in (a
    .json route: 401); only the sign-in page, static files and webhooks (which check their own
    signatures) are open, and "/" and "/console", which only redirect."""
    open_paths = (
        "/console/login", "/console/static", "/healthz", "/livez", "/readyz", "/webhooks/", "/simulator"
    )  # fmt: skip
    checked = 0
    async with aiohttp.ClientSession() as stranger:
        for path, route in _routes(console.app):
            if route.method == "HEAD" or path.startswith(open_paths) or path in ("/", "/console"):
                continue
            filled = path.replace("{format}", "html")  # a format route takes only its formats
            url = console.url + re.sub(r"\{[^}]+\}", "1", filled)
            async with stranger.request(route.method, url, allow_redirects=False) as response:
                if path.startswith("/api/"):
                    assert response.status == 401, (route.method, path)
                elif path.endswith(".json"):
                    assert response.status == 401, (route.method, path)
                else:
                    assert response.status == 302, (route.method, path)
                    assert response.headers["Location"].startswith("/console/login"), path
            checked += 1
    assert checked >= 25


async def test_admin_disables_an_account_and_its_session_ends(console):
    await account(console, "admin", "admin")
    await account(console, "awa", "secretariat")
    awa, *_ = await sign_in(console, "awa")
    admin, _, html, _ = await sign_in(console, "admin")
    async with awa, admin:
        status, page, _ = await get_page(admin, console.url + "/console/admin")
        assert status == 200 and "awa" in page
        form = {"csrf": csrf_of(page), "username": "admin", "disable": "1"}
        async with admin.post(
            console.url + "/console/admin/accounts/switch", data=form
        ) as response:
            assert response.status == 400  # not oneself
        form["username"] = "awa"
        async with admin.post(
            console.url + "/console/admin/accounts/switch", data=form
        ) as response:
            assert response.status == 200 and "désactivé" in await response.text()
        _, _, url = await get_page(awa, console.url + "/console/members")
        assert url.path == "/console/login"  # out at the next page
        # And an account made from the page can sign in.
        form = {"csrf": csrf_of(page), "username": "bintou", "name": "Bintou", "role": "viewer"}
        async with admin.post(console.url + "/console/admin/accounts", data=form) as response:
            assert response.status == 400  # no password: the field is marked
            assert 'id="account-password" name="password" value="" class="invalid"' in (
                await response.text()
            )
        form["password"] = PASSWORD
        async with admin.post(console.url + "/console/admin/accounts", data=form) as response:
            assert response.status == 200
    bintou, status, html, url = await sign_in(console, "bintou")
    async with bintou:
        assert url.path == "/console/" and "Bintou (lecture)" in html
    entries = [entry["action"] for entry in await audit.entries(console.database)]
    assert "account.disable" in entries and entries.count("account.create") == 3


async def test_the_console_address_as_typed_leads_to_sign_in(console):
    """/console, without the slash, as people type it."""
    async with aiohttp.ClientSession() as stranger:
        async with stranger.get(console.url + "/console") as response:
            assert response.status == 200
            assert response.url.path == "/console/login"


async def test_admins_see_the_refused_sms_on_the_audit_page(console):
    from storage import rate_counts
    from storage.types import utcnow

    async with console.database.transaction() as connection:
        for _ in range(3):
            await rate_counts.count(connection, "refused:link.country", utcnow())
        await rate_counts.count(connection, "refused:reply.sender", utcnow())
    await account(console, "admin", "admin")
    session, *_ = await sign_in(console, "admin")
    async with session:
        status, html, _ = await get_page(session, console.url + "/console/audit")
    assert status == 200
    assert re.search(r"code LIER vers un pays non configuré</td><td>3<", html)
    assert re.search(r"réponses SMS : limite par expéditeur atteinte</td><td>1<", html)
