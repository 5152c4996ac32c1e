"""Public answers say as little as they can: /healthz names no channel, and no answer names
the framework or its version (issue 12, item 11)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from tests.gateway.test_hostile_input import FORM, raw_post


async def test_healthz_does_not_say_which_channels_are_configured(harness):
    async with harness.http.get(harness.url + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_no_answer_names_the_framework(harness):
    answers = []
    for method, path in (
        ("GET", "/healthz"),
        ("GET", "/nowhere"),  # 404
        ("GET", "/webhooks/telegram"),  # 405
        ("POST", "/webhooks/telegram"),  # 403
        ("GET", "/console/login"),
        ("GET", "/api/members"),  # refused: no token
    ):
        async with harness.http.request(method, harness.url + path) as response:
            answers.append((path, response.status, response.headers.get("Server", "")))
    for path, status, server in answers:
        assert "aiohttp" not in server.lower() and "python" not in server.lower(), (path, status)
    assert {status for _, status, _ in answers} >= {200, 404, 405, 403}


async def test_a_request_aiohttp_cannot_parse_names_no_framework_either(harness):
    where = urlsplit(harness.url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(b"GET /healthz?a=\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]
    assert b"aiohttp" not in answer.lower() and b"\r\nserver: benkadi\r\n" in answer.lower()
    assert await raw_post(harness.url, b"/healthz", FORM, b"") == 405
