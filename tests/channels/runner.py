"""One runner for every adapter's table of recorded provider payloads.

A request case is what a provider posted (the raw body, as recorded) and what it must mean;
a send case is what a provider answered to a send (the raw HTTP answer, replayed through the
real SDK by a recorded transport) and how it must be classified. The runner drives the adapter
through verify/parse/answer or send/classify, and checks that no token or auth secret reaches
the logs (at DEBUG, every logger) or an error message, whatever the case.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from telegram.request import BaseRequest
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

from gateway.channels.base import (
    Channel,
    Event,
    Malformed,
    Outgoing,
    SendError,
    Webhook,
    WebhookRequest,
)


@dataclass(frozen=True)
class RequestCase:
    name: str
    body: bytes
    events: tuple[Event, ...] | type[Malformed] = ()  # Malformed: refused with a 400
    query: str = ""  # the URL's query as the provider calls it, e.g. "id=42"
    genuine: bool = True  # whether the signature/secret check must accept it
    acknowledge: str | None = None
    status: int = 200  # the answer's HTTP status

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class SendCase:
    name: str
    answer: tuple[int, Any] | Exception  # (HTTP status, JSON body or text), or a transport failure
    expected: SendError | str  # str: the provider's id for a send that went through
    message_has: str = ""  # a part of the error message to find

    def __str__(self) -> str:
        return self.name


def assert_no_secret(secrets: Sequence[str], *texts: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"a secret reached {text[:200]!r}"


def run_request_case(
    webhook: Webhook,
    request: WebhookRequest,
    case: RequestCase,
    secrets: Sequence[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        assert webhook.verify(request) is case.genuine
        if case.genuine and case.events is Malformed:
            with pytest.raises(Malformed):
                webhook.parse(request)
        elif case.genuine:
            parsed = webhook.parse(request)
            assert parsed.events == case.events
            assert parsed.acknowledge == case.acknowledge
            assert webhook.answer(parsed, None).status == case.status
    assert_no_secret(secrets, caplog.text)


async def run_send_case(
    channel: Channel,
    message: Outgoing,
    case: SendCase,
    secrets: Sequence[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        try:
            outcome: SendError | str = await channel.send(message)
        except SendError as error:
            outcome = error
    if isinstance(case.expected, str):
        assert outcome == case.expected
    else:
        assert isinstance(outcome, SendError), outcome
        flags = ("code", "retryable", "retry_after", "pause", "address_state")
        assert {f: getattr(outcome, f) for f in flags} == {
            f: getattr(case.expected, f) for f in flags
        }
        assert case.message_has in outcome.message
        assert_no_secret(secrets, outcome.message, str(outcome))
    assert_no_secret(secrets, caplog.text)


# --- recorded transports: the providers' answers replayed under the real SDKs ---------------
def _text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)


class RecordedTwilio(AsyncHttpClient):
    """The twilio SDK's HTTP client, answering from a list instead of the network."""

    def __init__(self) -> None:
        super().__init__(logger=logging.getLogger("twilio.http_client"), is_async=True)
        self.answers: deque[tuple[int, Any] | Exception] = deque()
        self.requests: list[dict[str, Any]] = []

    async def request(self, method: str, url: str, params=None, data=None, headers=None,
                      auth=None, timeout=None, allow_redirects=False) -> Response:  # fmt: skip
        self.requests.append({"method": method, "url": url, "data": data})
        answer = self.answers.popleft()
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return Response(status, _text(body))


class RecordedTelegram(BaseRequest):
    """python-telegram-bot's request, answering from a list instead of the network."""

    def __init__(self) -> None:
        self.answers: deque[tuple[int, Any] | Exception] = deque()
        self.urls: list[str] = []

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(self, url, method, request_data=None, read_timeout=None,
                         write_timeout=None, connect_timeout=None, pool_timeout=None):  # fmt: skip
        self.urls.append(url)
        answer = self.answers.popleft()
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return status, _text(body).encode()
