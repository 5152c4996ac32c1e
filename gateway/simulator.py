"""The built-in simulator: chat with Benkadi as an SMS phone or a Telegram user, no credentials.

With no provider configured, `benkadi serve` starts the fake Telegram and Twilio servers in
process and points the real SDKs at them, so the simulator runs the very code production runs:
signed webhooks in, the outbox, the dispatcher, python-telegram-bot and twilio out.
"""

from __future__ import annotations

import dataclasses
import itertools
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.vocabulary.phones import normalise_phone
from gateway.fakes import FakeTelegramAPI, FakeTwilioAPI
from gateway.keys import SETTINGS, SIMULATOR

PAGE = Path(__file__).parent / "static" / "simulator.html"
BENKADI_NUMBER = "+22320000000"
SIM_TOKEN = "123456789:SIMULATOR-token"
SIM_ACCOUNT = "AC" + "0" * 32


class Simulator:
    def __init__(
        self,
        telegram: FakeTelegramAPI,
        twilio: FakeTwilioAPI,
        public_url: str,
        secret: str,
        auth_token: str,
    ) -> None:
        self.telegram, self.twilio = telegram, twilio
        self.public_url, self.secret, self.auth_token = public_url, secret, auth_token
        self._ids = itertools.count(int(time.time() * 1000) % 1_000_000_000)
        self._http: aiohttp.ClientSession | None = None
        self._said: list[tuple[str, str, str, float]] = []  # (channel, address, text, monotonic)

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._http:
            await self._http.close()

    async def send(self, channel: str, sender: str, text: str, button: str | None) -> int:
        """Deliver a message to Benkadi's own webhook, exactly as the provider would."""
        assert self._http is not None
        self._said.append((channel, sender, f"[{text}]" if button else text, time.monotonic()))
        if channel == "telegram":
            chat = {"id": int(sender), "type": "private", "first_name": "Simulateur"}
            user = {"id": int(sender), "is_bot": False, "first_name": "Simulateur"}
            update_id = next(self._ids)
            if button is not None:
                message = {"message_id": 1, "date": int(time.time()), "chat": chat, "text": "…"}
                update = {
                    "update_id": update_id,
                    "callback_query": {
                        "id": str(update_id),
                        "from": user,
                        "chat_instance": "sim",
                        "data": button,
                        "message": message,
                    },
                }
            else:
                message = {
                    "message_id": update_id,
                    "date": int(time.time()),
                    "chat": chat,
                    "from": user,
                    "text": text,
                }
                update = {"update_id": update_id, "message": message}
            async with self._http.post(
                self.public_url + "/webhooks/telegram",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": self.secret},
            ) as response:
                return response.status
        prefix = "whatsapp:" if channel == "whatsapp" else ""
        if channel == "whatsapp":  # the fake Twilio saw them write: its 24 h window opens
            self.twilio.declare_inbound(sender)
        params = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": SIM_ACCOUNT,
            "From": prefix + sender,
            "To": prefix + BENKADI_NUMBER,
            "Body": text,
            "NumMedia": "0",
        }
        url = self.public_url + "/webhooks/twilio/sms"
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        async with self._http.post(
            url, data=params, headers={"X-Twilio-Signature": signature}
        ) as response:
            return response.status

    def messages(self, channel: str, address: str) -> list[dict]:
        """The conversation: what was said to Benkadi and what the fake providers received."""
        said = [
            {"from": "member", "text": text, "buttons": [], "at": at}
            for c, a, text, at in self._said
            if c == channel and a == address
        ]
        if channel == "telegram":
            sent = [
                {
                    "from": "benkadi",
                    "text": m.text,
                    "buttons": [
                        [b["text"], b.get("callback_data", "")]
                        for row in (m.reply_markup or {}).get("inline_keyboard", [])
                        for b in row
                    ],
                    "at": m.at,
                }
                for m in self.telegram.messages_to(int(address))
            ]
        else:
            to = ("whatsapp:" if channel == "whatsapp" else "") + address
            sent = [
                {"from": "benkadi", "text": m.body, "buttons": [], "at": m.at}
                for m in self.twilio.messages_to(to)
            ]
        return sorted(said + sent, key=lambda message: message["at"])


async def providers(app: web.Application) -> AsyncIterator[None]:
    """Start the fake providers and point the settings (so the real SDKs) at them."""
    settings = app[SETTINGS]
    secret, auth_token = secrets.token_urlsafe(24), secrets.token_hex(16)
    telegram = FakeTelegramAPI(SIM_TOKEN)
    twilio = FakeTwilioAPI(SIM_ACCOUNT, auth_token, auto_callbacks=True)
    await telegram.start()
    await twilio.start()
    app[SETTINGS] = dataclasses.replace(
        settings,
        telegram_bot_token=SIM_TOKEN,
        telegram_webhook_secret=secret,
        telegram_api_url=telegram.root_url,
        twilio_account_sid=SIM_ACCOUNT,
        twilio_auth_token=auth_token,
        twilio_from=BENKADI_NUMBER,
        twilio_api_url=twilio.base_url,
        twilio_content_url=twilio.base_url,
    )
    simulator = Simulator(telegram, twilio, settings.public_url, secret, auth_token)
    await simulator.start()
    app[SIMULATOR] = simulator
    yield
    await simulator.stop()
    await telegram.stop()
    await twilio.stop()


def _address(channel: str, raw: str) -> str:
    if channel == "telegram":
        if not raw.strip().lstrip("-").isdigit():
            raise web.HTTPBadRequest(text="a Telegram user is a number, e.g. 1001")
        return raw.strip()
    phone = normalise_phone(raw)
    if phone is None:
        raise web.HTTPBadRequest(text="not a valid phone number (e.g. 76 12 34 56)")
    return phone


async def home(request: web.Request) -> web.Response:
    raise web.HTTPFound("/simulator")


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE)


async def api_send(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        channel = body["channel"]
        if channel not in ("sms", "whatsapp", "telegram"):
            raise ValueError("channel must be sms, whatsapp or telegram")
        address = _address(channel, str(body["from"]))
        text, button = str(body.get("text", "")), body.get("button")
    except (ValueError, KeyError, TypeError) as error:
        raise web.HTTPBadRequest(text=f"bad simulator message: {error}") from None
    status = await request.app[SIMULATOR].send(channel, address, text, button)
    return web.json_response({"webhook_status": status, "address": address})


async def api_messages(request: web.Request) -> web.Response:
    channel = request.query.get("channel", "sms")
    if channel not in ("sms", "whatsapp", "telegram"):
        raise web.HTTPBadRequest(text="channel must be sms, whatsapp or telegram")
    address = _address(channel, request.query.get("from", ""))
    return web.json_response({"messages": request.app[SIMULATOR].messages(channel, address)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/simulator", page)
    app.router.add_post("/simulator/api/send", api_send)
    app.router.add_get("/simulator/api/messages", api_messages)
