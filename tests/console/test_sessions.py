"""Console sessions live on the server: a copied cookie is worth nothing once its session ends
(sign-out, new password, account disabled, token revoked), and a refused request never
replaces the session a browser holds."""

from __future__ import annotations

import aiohttp
from sqlalchemy import select

from gateway.console.sessions import COOKIE_ID
from storage import accounts, tokens
from storage.models import AdminToken, ConsoleSession
from tests.console.test_console import account, csrf_of, get_page, sign_in

COOKIE = "benkadi_console"


def cookie_of(session: aiohttp.ClientSession) -> str:
    return next(morsel.value for morsel in session.cookie_jar if morsel.key == COOKIE)


async def copied(console, cookie: str, path: str = "/console/members") -> str:
    """The page a copied cookie opens, from another machine: its path."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as thief:
        async with thief.get(console.url + path, headers={"Cookie": f"{COOKIE}={cookie}"}) as r:
            return r.url.path


async def test_the_cookie_carries_a_random_id_only(console):
    await account(console, "awa", "viewer")
    session, *_ = await sign_in(console, "awa")
    async with session:
        cookie = cookie_of(session)
        assert COOKIE_ID.match(cookie)  # 32 random bytes, nothing of who signed in
        async with console.database.sessions() as db:
            ids = (await db.execute(select(ConsoleSession.__table__.c.id))).scalars().all()
        assert cookie not in ids  # only its hash is kept
        assert await copied(console, cookie) == "/console/members"  # a copy works while it lasts


async def test_a_copied_cookie_dies_at_sign_out(console):
    await account(console, "awa", "viewer")
    session, _, html, _ = await sign_in(console, "awa")
    async with session:
        cookie = cookie_of(session)
        async with session.post(
            console.url + "/console/logout", data={"csrf": csrf_of(html)}
        ) as response:
            assert response.url.path == "/console/login"
    assert await copied(console, cookie) == "/console/login"


async def test_a_new_password_ends_every_session_of_the_account(console):
    await account(console, "awa", "viewer")
    await account(console, "bintou", "viewer")
    awa, *_ = await sign_in(console, "awa")
    bintou, *_ = await sign_in(console, "bintou")
    async with awa, bintou:
        cookie, other = cookie_of(awa), cookie_of(bintou)
        await accounts.set_password(console.database, "awa", "un tout nouveau mot", "cli")
        assert await copied(console, cookie) == "/console/login"
        _, _, url = await get_page(awa, console.url + "/console/members")
        assert url.path == "/console/login"
        assert await copied(console, other) == "/console/members"  # only hers
    again, _, _, url = await sign_in(console, "awa", "un tout nouveau mot")
    async with again:
        assert url.path == "/console/"


async def test_disabling_an_account_ends_its_sessions_even_once_enabled_again(console):
    await account(console, "awa", "viewer")
    session, *_ = await sign_in(console, "awa")
    async with session:
        cookie = cookie_of(session)
    await accounts.set_disabled(console.database, "awa", True, "cli")
    await accounts.set_disabled(console.database, "awa", False, "cli")
    assert await copied(console, cookie) == "/console/login"


async def test_revoking_a_token_ends_the_sessions_opened_with_it(console):
    token = await console.token("viewer")
    session, _, _, url = await sign_in(console, "", "", token=token)
    async with session:
        assert url.path == "/console/"
        cookie = cookie_of(session)
    async with console.database.sessions() as db:
        token_id = await db.scalar(select(AdminToken.__table__.c.id))
    await tokens.revoke_token(console.database, token_id, "cli")
    await tokens.create_token(console.database, "test viewer", "viewer")  # another, same name
    assert await copied(console, cookie) == "/console/login"


async def test_a_refused_cross_site_post_leaves_the_session_alone(console):
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "awa")
    async with session:
        cookie = cookie_of(session)
        # What a browser sends for another site's form: no cookie (SameSite=Lax), no token.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as other_site:
            paths = ("/console/members", "/console/broadcasts/new", "/console/logout")
            for path in (*paths, "/console/login"):
                async with other_site.post(
                    console.url + path, data={"x": "1"}, allow_redirects=False
                ) as response:
                    assert response.status in (302, 403, 405), path
                    assert "Set-Cookie" not in response.headers, path
            # With the cookie but a forged token: refused, the session stays the same.
            async with other_site.post(
                console.url + "/console/broadcasts/new",
                data={"csrf": "forged", "text_fr": "x"},
                headers={"Cookie": f"{COOKIE}={cookie}"},
            ) as response:
                assert response.status == 403 and "Set-Cookie" not in response.headers
            # Nor does a page that sends to sign in (a cross-site image, say).
            async with other_site.get(console.url + "/console/", allow_redirects=False) as r:
                assert r.status == 302 and "Set-Cookie" not in r.headers
        _, _, url = await get_page(session, console.url + "/console/members")
        assert url.path == "/console/members" and cookie_of(session) == cookie
