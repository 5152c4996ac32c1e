"""Failed sign-ins slow the next ones, counted in the database: concurrent guesses queue exactly
as sequential ones, whatever process answers; a refused guess is never checked; a browser that
signed in before is not kept out by someone else's guesses from the same address."""

from __future__ import annotations

import asyncio

import aiohttp
from yarl import URL

from gateway.console import auth
from storage.database import Database
from tests.console.test_console import PASSWORD, account, console_throttle, csrf_of, sign_in

START = 1_800_000_000.0


class Clock:
    """The throttle's clock: `advancing` moves on by each wait (one person trying again and
    again), otherwise it stands still (everything sent at once)."""

    def __init__(self, advancing: bool) -> None:
        self.t, self.advancing = START, advancing
        self.checked: list[float] = []  # when each admitted attempt was checked, from START

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.checked.append(round(self.t + seconds - START, 3))
        if self.advancing:
            self.t += seconds


def use(throttle: auth.Throttle, clock: Clock) -> None:
    throttle.clock, throttle.sleep = clock.now, clock.sleep


async def attempt(console, username: str, password: str) -> int:
    session, status, _html, _url = await sign_in(console, username, password)
    await session.close()
    return status


async def test_concurrent_guesses_are_slowed_exactly_like_sequential_ones(console):
    await account(console, "awa", "viewer")
    await account(console, "bintou", "viewer")
    throttle = console_throttle(console)
    throttle.address_free = 1000  # here: the account's own schedule (the address is below)
    sequential = Clock(advancing=True)
    use(throttle, sequential)
    for n in range(9):
        assert await attempt(console, "awa", f"wrong-{n}") == 401
    # 3 free, then waits of 1, 2, 4, 8, 16, 30 s, each from the answer before.
    assert sequential.checked == [0, 0, 0, 1, 3, 7, 15, 31, 61]

    concurrent = Clock(advancing=False)
    use(throttle, concurrent)
    statuses = await asyncio.gather(*(attempt(console, "bintou", f"guess-{n}") for n in range(50)))
    # The same schedule: only the guesses whose turn comes within 30 s are checked at all.
    assert sorted(concurrent.checked) == sequential.checked[:7]
    assert statuses.count(401) == 7 and statuses.count(429) == 43
    # The right password now: refused unchecked until its turn is near, then it waits its turn.
    assert await attempt(console, "bintou", PASSWORD) == 429
    concurrent.t += 20
    session, status, _html, url = await sign_in(console, "bintou", PASSWORD)
    async with session:
        assert status == 200 and url.path == "/console/"
    assert concurrent.checked[-1] == 36  # arrived at 20, waits 16 s after the turn at 15


async def test_the_count_is_in_the_database_for_every_process(console, tmp_path):
    await account(console, "awa", "viewer")
    clock = Clock(advancing=False)
    use(console_throttle(console), clock)
    for n in range(4):
        await attempt(console, "awa", f"wrong-{n}")
    assert clock.checked == [0, 0, 0, 1]
    # Another process (or the same after a restart): its own throttle, the same database.
    other = auth.Throttle()
    use(other, clock)
    database = Database(console.database.url)
    try:
        assert await other.admit(database, "awa", "127.0.0.1")
    finally:
        await database.dispose()
    assert clock.checked[-1] == 3  # after the four before it


async def test_guesses_from_a_shared_address_do_not_keep_a_colleague_out(console):
    await account(console, "awa", "viewer")
    await account(console, "bintou", "viewer")
    throttle = console_throttle(console)
    clock = Clock(advancing=False)
    use(throttle, clock)
    # Bintou signed in from this office's browser yesterday: it carries the mark.
    bintou, status, _html, _url = await sign_in(console, "bintou")
    assert status == 200
    marks = {c.key: c.value for c in bintou.cookie_jar if c.key == auth.KNOWN_COOKIE}
    await bintou.close()
    # Today someone behind the same address sprays guesses at several accounts.
    names = ["awa", "bintou", "admin", "root", "secretariat", "coordination", "ong"]
    for round_ in range(4):
        await asyncio.gather(*(attempt(console, name, f"guess-{round_}") for name in names))
    assert await attempt(console, "mariam", "guess") == 429  # the address is slowed now
    # Bintou, from her own browser, gets in at once: neither the address nor her account's
    # guesses from elsewhere count against her browser, only its own failures.
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    session.cookie_jar.update_cookies(marks, response_url=URL(console.url))
    clock.checked.clear()
    async with session:
        async with session.get(console.url + "/console/login") as response:
            html = await response.text()
        form = {"csrf": csrf_of(html), "username": "bintou", "password": PASSWORD}
        async with session.post(console.url + "/console/login", data=form) as response:
            assert response.status == 200 and response.url.path == "/console/"
    assert clock.checked == [0]  # checked at once
    # A forged mark spares nobody: the address's count applies.
    forged = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    forged.cookie_jar.update_cookies({auth.KNOWN_COOKIE: "0" * 64}, response_url=URL(console.url))
    async with forged:
        async with forged.get(console.url + "/console/login") as response:
            html = await response.text()
        form = {"csrf": csrf_of(html), "username": "bintou", "password": PASSWORD}
        async with forged.post(console.url + "/console/login", data=form) as response:
            assert response.status == 429
