"""Hostile input before authentication: refused with a 4xx and one short log line, never a
500 with a traceback (issue 12, item 6)."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from storage.models import InboundMessage

SMS = "/webhooks/twilio/sms"
TELEGRAM = "/webhooks/telegram"
FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"


async def raw_post(url: str, path: bytes, headers: bytes, body: bytes) -> int:
    """POST exactly these bytes (a client library would refuse or re-encode them)."""
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(
        b"POST " + path + b" HTTP/1.1\r\nHost: benkadi\r\nConnection: close\r\n"
        + b"Content-Length: %d\r\n" % len(body) + headers + b"\r\n" + body
    )  # fmt: skip
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return int(answer.split(b" ", 2)[1])


def one_short_line_each(caplog: pytest.LogCaptureFixture, expected: int) -> None:
    lines = [r for r in caplog.records if r.name != "aiohttp.access"]
    assert not [r for r in lines if r.exc_info], "a traceback was logged"
    assert all("\n" not in r.getMessage() and len(r.getMessage()) < 120 for r in lines)
    assert all(r.levelno <= logging.WARNING for r in lines)
    assert len(lines) == expected, [r.getMessage() for r in lines]


async def _stored(harness) -> int:
    async with harness.database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(InboundMessage)) or 0


async def test_invalid_utf8_in_a_twilio_body_is_refused(harness, caplog):
    caplog.set_level(logging.INFO)
    bodies = (b"From=%2B22376123456&Body=\xff\xfe&MessageSid=SM1", b"Body=%FF%FE")
    for body in bodies:
        signed = b"X-Twilio-Signature: abc\r\n"
        assert await raw_post(harness.url, SMS.encode(), FORM + signed, body) == 403
    # A signature header with a byte that is not ASCII.
    header = b"X-Twilio-Signature: ab\xff\xc3\xa9\r\n"
    assert await raw_post(harness.url, SMS.encode(), FORM + header, b"Body=x") == 403
    one_short_line_each(caplog, 3)
    assert await _stored(harness) == 0


async def test_non_ascii_byte_in_the_telegram_secret_header_is_refused(harness, caplog):
    caplog.set_level(logging.INFO)
    for secret in (b"s3cret-\xff", b"s\xc3\xa9cret", b"\x80"):
        header = b"X-Telegram-Bot-Api-Secret-Token: " + secret + b"\r\n"
        assert await raw_post(harness.url, TELEGRAM.encode(), header, b"{}") == 403
    one_short_line_each(caplog, 3)
    assert await _stored(harness) == 0


async def test_an_update_nested_ten_thousand_deep_is_refused(harness, caplog):
    caplog.set_level(logging.INFO)
    deep = b"[" * 10_000 + b"]" * 10_000
    nested = b'{"update_id": 1, "message": ' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001
    secret = harness.settings.telegram_webhook_secret.encode()
    header = b"Content-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: %s\r\n" % secret
    for body in (deep, nested):
        assert await raw_post(harness.url, TELEGRAM.encode(), header, body) == 400
    one_short_line_each(caplog, 2)
    assert await _stored(harness) == 0


async def test_a_request_aiohttp_cannot_parse_is_one_line(harness, caplog):
    caplog.set_level(logging.INFO)
    assert await raw_post(harness.url, SMS.encode() + b"?a=\xff", FORM, b"a=b") == 400
    one_short_line_each(caplog, 1)
