"""Behind the reverse proxy (docs/deploy/Caddyfile) every connection comes from 127.0.0.1: with
BENKADI_TRUSTED_PROXIES the sign-in limits count the client the proxy names, and only the proxy
can name one."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from gateway.settings import Settings, SettingsError
from tests.console.conftest import _console
from tests.console.test_console import PASSWORD, account, console_throttle, csrf_of
from tests.console.test_throttle import Clock, use

GUESSER, COLLEAGUE = "203.0.113.5", "198.51.100.7"


@pytest.fixture
async def proxied(tmp_path):
    async for running in _console(
        f"sqlite:///{tmp_path / 'benkadi.db'}", tmp_path, trusted_proxies=("127.0.0.1/32",)
    ):
        yield running


async def attempt(console, username: str, password: str, client: str | None) -> int:
    """A fresh browser, whose requests the proxy forwards for `client` (None: not forwarded)."""
    headers = {"X-Forwarded-For": client} if client else {}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, headers=headers) as session:
        async with session.get(console.url + "/console/login") as response:
            if response.status != 200:
                return response.status
            html = await response.text()
        form = {"csrf": csrf_of(html), "username": username, "password": password}
        async with session.post(console.url + "/console/login", data=form) as response:
            return response.status


def limit(throttle) -> None:
    """The address's own limit, low: a few guesses at several accounts exhaust it."""
    use(throttle, Clock(advancing=False))
    throttle.address_free, throttle.max_wait = 2, 1.0


async def spray(console, client: str | None) -> None:
    names = ["awa", "admin", "root", "secretariat"]
    await asyncio.gather(*(attempt(console, name, "guess", client) for name in names))


async def test_guesses_slow_the_client_the_proxy_names_not_everyone_behind_it(proxied):
    await account(proxied, "mariam", "viewer")
    limit(console_throttle(proxied))
    await spray(proxied, GUESSER)
    assert await attempt(proxied, "mariam", "guess", GUESSER) == 429  # that client is slowed
    assert await attempt(proxied, "mariam", PASSWORD, COLLEAGUE) == 200  # another is not


async def test_without_a_trusted_proxy_the_header_names_nobody(console):
    """A guesser cannot escape the limits by naming itself in X-Forwarded-For."""
    await account(console, "mariam", "viewer")
    limit(console_throttle(console))
    await spray(console, GUESSER)
    assert await attempt(console, "mariam", "guess", COLLEAGUE) == 429


async def test_with_a_trusted_proxy_only_requests_through_it_are_served(proxied):
    assert await attempt(proxied, "mariam", PASSWORD, None) == 400  # straight to the port
    assert await attempt(proxied, "mariam", PASSWORD, f"{GUESSER}, {COLLEAGUE}") == 400
    async with proxied.http.get(proxied.url + "/livez") as response:  # probes on the machine
        assert response.status == 200


@pytest.mark.unit
@pytest.mark.parametrize("raw", ["caddy", "127.0.0.1,", "10.0.0.0/33"])
def test_a_bad_proxy_list_names_the_setting(raw):
    if raw == "127.0.0.1,":  # a trailing comma is harmless
        assert Settings.from_env({"BENKADI_TRUSTED_PROXIES": raw}).trusted_proxies == (
            "127.0.0.1/32",
        )
        return
    with pytest.raises(SettingsError, match="BENKADI_TRUSTED_PROXIES"):
        Settings.from_env({"BENKADI_TRUSTED_PROXIES": raw})
