"""A running Benkadi app with the real SDKs pointed at local fake providers, driven over HTTP."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from sqlalchemy import or_, select
from twilio.request_validator import RequestValidator

from gateway import slow_clients
from gateway.app import create_app
from gateway.fakes import FakeTelegramAPI, FakeTwilioAPI
from gateway.keys import DATABASE, DISPATCHER
from gateway.settings import Settings
from storage.models import Address, Member, OutboxMessage
from storage.outbox.states import OutboxStatus
from tests import templates
from tests.log_audit import LogAudit

TOKEN = "123456:TEST-token_abc"
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "f" * 32
BENKADI_NUMBER = "+22320000000"


def free_port() -> int:
    """A port free now, for a server in another process (which binds it itself: a small race
    with any other test process taking it first). In-process servers use listening_socket()."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_socket() -> socket.socket:
    """A socket bound to a free port and kept bound until a web.SockSite serves on it: no other
    test process (they run side by side) can take the port in between."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Harness:
    url: str
    settings: Settings
    app: web.Application
    telegram: FakeTelegramAPI
    twilio: FakeTwilioAPI
    http: aiohttp.ClientSession
    audit: LogAudit | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    @property
    def database(self):
        return self.app[DATABASE]

    @property
    def dispatcher(self):
        return self.app[DISPATCHER]

    # --- Twilio, as Twilio calls us --------------------------------------------------------
    def sign(self, path: str, params: dict, token: str = AUTH_TOKEN) -> str:
        return RequestValidator(token).compute_signature(self.settings.public_url + path, params)

    async def post_form(
        self, path: str, params: dict, signature: str | None
    ) -> aiohttp.ClientResponse:
        headers = {"X-Twilio-Signature": signature} if signature is not None else {}
        async with self.http.post(self.url + path, data=params, headers=headers) as response:
            await response.read()
            return response

    def sms_params(
        self, sender: str, text: str, sid: str | None = None, whatsapp: bool = False
    ) -> dict:
        prefix = "whatsapp:" if whatsapp else ""
        return {
            "ToCountry": "ML", "ToState": "", "SmsMessageSid": sid or "", "NumMedia": "0",
            "ToCity": "", "FromZip": "", "SmsSid": sid or "", "FromState": "", "SmsStatus": "received",
            "FromCity": "", "Body": text, "FromCountry": "ML", "To": prefix + BENKADI_NUMBER,
            "MessagingServiceSid": "", "ToZip": "", "NumSegments": "1", "MessageSid": sid or "",
            "AccountSid": ACCOUNT_SID, "From": prefix + sender, "ApiVersion": "2010-04-01",
        }  # fmt: skip

    async def sms(
        self, sender: str, text: str, *, sid: str | None = None, whatsapp: bool = False
    ) -> aiohttp.ClientResponse:
        sid = sid or "SM" + secrets.token_hex(16)
        if whatsapp:  # Twilio saw the member write: WhatsApp's 24 h window opens
            self.twilio.declare_inbound(sender)
        params = self.sms_params(sender, text, sid, whatsapp)
        for key in ("SmsMessageSid", "SmsSid", "MessageSid"):
            params[key] = sid
        return await self.post_form(
            "/webhooks/twilio/sms", params, self.sign("/webhooks/twilio/sms", params)
        )

    # --- Telegram, as Telegram calls us ----------------------------------------------------
    async def post_update(self, update: dict, secret: str | None = None) -> aiohttp.ClientResponse:
        secret = self.settings.telegram_webhook_secret if secret is None else secret
        async with self.http.post(
            self.url + "/webhooks/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
        ) as response:
            await response.read()
            response.body = await response.read()  # type: ignore[attr-defined]
            return response

    def _user(self, chat_id: int) -> dict:
        return {"id": chat_id, "is_bot": False, "first_name": "Awa", "language_code": "fr"}

    def text_update(self, chat_id: int, text: str, update_id: int | None = None) -> dict:
        update_id = update_id or next(self._ids)
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if text.startswith("/")
            else []
        )
        message = {
            "message_id": update_id, "date": int(time.time()), "text": text,
            "chat": {"id": chat_id, "type": "private", "first_name": "Awa"}, "from": self._user(chat_id),
        }  # fmt: skip
        if entities:
            message["entities"] = entities
        return {"update_id": update_id, "message": message}

    async def tg(self, chat_id: int, text: str) -> aiohttp.ClientResponse:
        return await self.post_update(self.text_update(chat_id, text))

    async def press(
        self, chat_id: int, data: str, message_id: int | None = None
    ) -> aiohttp.ClientResponse:
        """A button pressed, by default in the last message the chat received."""
        update_id = next(self._ids)
        if message_id is None:
            sent = self.telegram.messages_to(chat_id)
            message_id = sent[-1].message_id if sent else 1
        bot_message = {
            "message_id": message_id, "date": int(time.time()), "text": "…",
            "chat": {"id": chat_id, "type": "private", "first_name": "Awa"},
            "from": {"id": 123456, "is_bot": True, "first_name": "Benkadi"},
        }  # fmt: skip
        query = {
            "id": f"cb{update_id}",
            "from": self._user(chat_id),
            "chat_instance": "42",
            "data": data,
            "message": bot_message,
        }
        return await self.post_update({"update_id": update_id, "callback_query": query})

    # --- what happened ---------------------------------------------------------------------
    async def sms_replies(self, to: str, count: int, timeout: float = 5.0) -> list[str]:
        messages = await self.twilio.wait_for_messages(count, timeout=timeout, to=to)
        return [m.body for m in messages]

    async def tg_replies(self, chat_id: int, count: int, timeout: float = 5.0):
        return await self.telegram.wait_for_messages(count, timeout=timeout, chat_id=chat_id)

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until the outbox holds nothing more to send now and every send is recorded
        (recording ends a row's lease; a status callback can come first and leave it "sent")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with self.database.sessions() as session:
                pending = await session.scalar(
                    select(OutboxMessage.id)
                    .where(
                        or_(
                            OutboxMessage.status == OutboxStatus.QUEUED,
                            OutboxMessage.lease_until.is_not(None),
                        )
                    )
                    .limit(1)
                )
            if pending is None:
                await self.database.writes_done()  # an erasure's checkpoint comes after its commit
                return
            self.dispatcher.wake()
            await asyncio.sleep(0.05)
        raise TimeoutError("outbox did not drain")

    async def members(self) -> list[Member]:
        async with self.database.sessions() as session:
            return list(await session.scalars(select(Member).order_by(Member.id)))

    async def address(self, channel: str, address: str) -> Address | None:
        async with self.database.sessions() as session:
            return await session.scalar(
                select(Address).where(Address.channel == channel, Address.address == address)
            )

    async def outbox(self) -> list[OutboxMessage]:
        async with self.database.sessions() as session:
            return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def start_harness(
    database_url: str,
    *,
    twilio_rate: float | None = None,
    telegram_rate: float | None = None,
    **settings_overrides,
) -> tuple[Harness, web.AppRunner]:
    """The app on a free port; the fakes enforce the given rates (429s counted) when set. A
    SQLite file that does not exist yet starts as a copy of the migrated template (the app still
    runs Alembic at start: it finds the database at head)."""
    templates.sqlite_url_migrated(database_url)
    telegram = FakeTelegramAPI(TOKEN, rate_per_second=telegram_rate)
    twilio = FakeTwilioAPI(ACCOUNT_SID, AUTH_TOKEN, rate_per_second=twilio_rate)
    await telegram.start()
    await twilio.start()
    # The socket stays bound from here on: another test process (they run side by side) cannot
    # take the port between choosing it and serving on it.
    listening = listening_socket()
    port = listening.getsockname()[1]
    settings = Settings.from_env(
        {
            "BENKADI_DATABASE_URL": database_url,
            "BENKADI_PORT": str(port),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": "s3cret-" + secrets.token_hex(8),
            # Else on PostgreSQL the app keeps a generated one in ./var/ (the repository's),
            # where test processes running side by side would race to create it.
            "BENKADI_SECRET_KEY": "harness-" + secrets.token_hex(24),
            "TELEGRAM_API_URL": telegram.root_url,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": BENKADI_NUMBER,
            "TWILIO_API_URL": twilio.base_url,
            "TWILIO_CONTENT_URL": twilio.base_url,
        },
        **{
            "migrate_on_start": True,
            "dispatch_interval": 0.05,
            # A slow SIM's batch lasts a minute: a test's stop does not wait it out.
            "shutdown_grace": 2.0,
            # Tests type faster than people: per-chat pacing has its own test.
            "telegram_chat_rate": 50.0,
            **settings_overrides,
        },
    )
    audit = LogAudit(settings).start()
    app = create_app(settings)
    runner = slow_clients.runner(app)  # as `benkadi serve` runs it
    try:
        await runner.setup()
    except BaseException:
        audit.stop()
        listening.close()
        raise
    await web.SockSite(runner, listening).start()
    http = aiohttp.ClientSession()
    harness = Harness(f"http://127.0.0.1:{port}", settings, app, telegram, twilio, http, audit)
    return harness, runner


async def stop_harness(harness: Harness, runner: web.AppRunner) -> None:
    await harness.http.close()
    await runner.cleanup()
    await harness.telegram.stop()
    await harness.twilio.stop()
    if harness.audit is not None:
        harness.audit.stop()
        assert harness.audit.leaks() == [], "the log holds what it must not"
