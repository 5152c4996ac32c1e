"""No configured secret and no phone number reaches the log (issue 12, item 7). Every
harness run is audited (tests/log_audit.py); these are the cases that used to leak."""

from __future__ import annotations

import base64
import logging

import pytest
from telegram.error import InvalidToken

from gateway.channels.telegram import TelegramChannel
from gateway.fakes import FakeTelegramAPI
from gateway.settings import Settings
from tests.harness import ACCOUNT_SID, AUTH_TOKEN, TOKEN
from tests.log_audit import LogAudit

log = logging.getLogger("tests.secrets")
SETTINGS = Settings.from_env(
    {
        "BENKADI_DATABASE_URL": "postgresql://benkadi:pg-pass%2Fword@db/benkadi",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": "s3cret-webhook",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": "+22320000000",
        "BENKADI_SECRET_KEY": "k" * 40,
    }
)


async def test_a_refused_token_in_a_traceback_never_reaches_the_log():
    """PTB's InvalidToken says "The token `…` was rejected by the server."."""
    async with FakeTelegramAPI("999:another-bots-token") as fake:
        channel = TelegramChannel(TOKEN, fake.root_url, fake.root_url + "/file/bot")
        audit = LogAudit(SETTINGS).start()
        try:
            with pytest.raises(InvalidToken) as refused:
                await channel.start()
            assert TOKEN in str(refused.value)  # what the SDK says…
            log.error("Telegram could not start", exc_info=refused.value)
        finally:
            audit.stop()
            await channel.stop()
    written = audit.written.getvalue()
    assert "could not start" in written and "InvalidToken" in written
    assert TOKEN not in written and "***" in written  # …is not what the log says


@pytest.mark.parametrize(
    "said",
    [
        f"GET https://api.telegram.org/bot{TOKEN}/getMe",
        "bot" + TOKEN.replace(":", "%3A") + "/sendMessage",
        "Authorization: Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode(),
        f"auth_token={AUTH_TOKEN}",
        "X-Telegram-Bot-Api-Secret-Token: s3cret-webhook",
        "postgresql://benkadi:pg-pass%2Fword@db/benkadi",
        "session key " + "k" * 40,
        "a reply to +22376123456 and whatsapp:+22366123456",
    ],
)
def test_every_spelling_of_a_secret_or_a_number_is_blanked(said):
    audit = LogAudit(SETTINGS).start()
    try:
        logging.getLogger("httpx.elsewhere").warning("%s", said)
    finally:
        audit.stop()
    written = audit.written.getvalue()
    assert "***" in written
    for secret in (TOKEN, AUTH_TOKEN, "s3cret-webhook", "pg-pass", "k" * 40, "76123456"):
        assert secret not in written


def test_the_audit_finds_what_the_code_itself_says():
    """The redaction is only a net: a log call naming a number or a secret fails the run."""
    audit = LogAudit(SETTINGS).start()
    try:
        log.info("reply queued for %s", "+22376123456")
        log.info("token is %s", TOKEN)
    finally:
        audit.stop()
    assert len(audit.leaks()) == 2
