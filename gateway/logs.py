"""What reaches the log.

- No secret and no phone number: every handler formats through `Redacting`, which blanks the
  configured secrets (in the spellings a URL or an Authorization header gives them) and E.164
  numbers, wherever they are: message, arguments, traceback. The code does not log them in the
  first place; this is the net under it, for the SDKs' messages and tracebacks.
- One short line for a client's bad HTTP, never a traceback for it: aiohttp logs a request
  it cannot parse (a stray byte in the URL or a header) with its whole traceback, at ERROR, so
  anyone could fill the log with them. `BadRequestsInOneLine` keeps one WARNING line naming the
  kind of error and the client's address.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

from aiohttp.http_exceptions import HttpProcessingError

from gateway.settings import Settings


class BadRequestsInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and (error.code or 400) < 500:
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg, record.args = "bad HTTP request from %s: %s", (remote, type(error).__name__)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_bad_requests() -> None:
    """Install the filter on aiohttp's server logger (once, however often it is called)."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, BadRequestsInOneLine) for f in logger.filters):
        logger.addFilter(BadRequestsInOneLine())


# --- secrets and phone numbers never reach a log ----------------------------------------------
# Phone numbers as members' addresses are written (E.164, or WhatsApp's "whatsapp:+…").
PHONE = re.compile(r"(?<![\w+])\+\d{8,15}\b")


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """Every configured secret, in each spelling a log could carry it: as is, percent-encoded
    (in a URL), and Twilio's Basic authorisation of SID:token."""
    raw = [
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.twilio_auth_token,
        settings.secret_key,
        make_url_password(settings.database_url),
    ]
    if settings.twilio_account_sid and settings.twilio_auth_token:
        pair = f"{settings.twilio_account_sid}:{settings.twilio_auth_token}".encode()
        raw.append(base64.b64encode(pair).decode())
    spellings = {s for value in raw if value for s in (value, quote(value, safe=""))}
    # Longest first: a secret containing another is replaced whole.
    return tuple(sorted((s for s in spellings if len(s) >= 6), key=len, reverse=True))


def make_url_password(url: str) -> str | None:
    password = urlsplit(url).password
    return unquote(password) if password else None


class Redacting(logging.Formatter):
    """Formats as usual, then blanks every secret and phone number: in the message, its
    arguments, a traceback (a refused token is in the URL of its exception) and stack."""

    def __init__(self, fmt: str, secrets: tuple[str, ...]) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return PHONE.sub("+***", text)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Their INFO lines carry the bot token in URLs and every request's headers: keep them out.
NOISY = ("httpx", "httpcore", "twilio")


def quiet_noisy_libraries() -> None:
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def redact_secrets(settings: Settings, handlers: list[logging.Handler] | None = None) -> None:
    """Every handler of the root logger (or those given) formats through Redacting."""
    secrets = secrets_of(settings)
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        handler.setFormatter(Redacting(LOG_FORMAT, secrets))


def redact_also(values: Iterable[str | None]) -> None:
    """Secrets learnt after start (an SMS gateway's password and signing key, from the
    database) are blanked by every Redacting handler too."""
    extra = {s for value in values if value for s in (value, quote(value, safe=""))}
    extra = {s for s in extra if len(s) >= 6}
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, Redacting) and not extra <= set(formatter.secrets):
            known = set(formatter.secrets) | extra
            formatter.secrets = tuple(sorted(known, key=len, reverse=True))
