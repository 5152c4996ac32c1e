"""Slow clients cannot hold connections for ever (issue 12, item 10): 300 connections that
never finish their headers are cut after the header timeout, a body that trickles in gets 408,
and webhooks are answered meanwhile."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import pytest

from tests.harness import start_harness, stop_harness

HEADER_TIMEOUT, BODY_TIMEOUT = 0.5, 0.5


@pytest.fixture
async def slow(tmp_path):
    harness, runner = await start_harness(
        f"sqlite:///{tmp_path / 'b.db'}", header_timeout=HEADER_TIMEOUT, body_timeout=BODY_TIMEOUT
    )
    yield harness
    await stop_harness(harness, runner)


async def _open(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    where = urlsplit(url)
    return await asyncio.open_connection(where.hostname, where.port)


async def test_connections_that_never_finish_their_headers_are_cut(slow):
    connections = []
    for index in range(300):
        reader, writer = await _open(slow.url)
        writer.write(
            b"POST /webhooks/twilio/sms HTTP/1.1\r\nHost: benkadi\r\nX-Slow: %d\r\n" % index
        )
        connections.append((reader, writer))
    began = time.monotonic()
    response = await slow.sms("+22376123456", "AIDE")  # the webhooks still answer
    assert response.status == 200
    reader, writer = connections[-1]  # a trickle of header bytes does not buy more time
    for _ in range(3):
        await asyncio.sleep(HEADER_TIMEOUT / 5)
        if not writer.is_closing() and not reader.at_eof():
            writer.write(b"X")
    ends = await asyncio.wait_for(
        asyncio.gather(*(_until_closed(reader) for reader, _ in connections)), HEADER_TIMEOUT * 10
    )
    assert all(end == b"" for end in ends)  # closed by the server, nothing answered
    assert time.monotonic() - began < HEADER_TIMEOUT * 10
    for _reader, writer in connections:
        writer.close()


async def _until_closed(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before closing; a close that resets the connection (the client had
    unread bytes in flight) is a close too."""
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""


async def test_a_body_that_trickles_in_is_408(slow):
    reader, writer = await _open(slow.url)
    writer.write(
        b"POST /webhooks/telegram HTTP/1.1\r\nHost: benkadi\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"update_id"'
    )
    answer = await asyncio.wait_for(reader.read(), BODY_TIMEOUT * 10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_prompt_client_is_not_hurried(slow):
    """A request sent whole, and another on the same connection, are answered as ever."""
    for _ in range(2):
        async with slow.http.get(slow.url + "/livez") as response:
            assert response.status == 200
    assert (await slow.sms("+22376123456", "AIDE")).status == 200
