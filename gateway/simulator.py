"""The built-in simulator: chat with Benkadi as an SMS phone or a Telegram user, no credentials.

With no provider configured, `benkadi serve` starts the fake Telegram and Twilio servers in
process and points the real SDKs at them, so the simulator runs the very code production runs:
signed webhooks in, the outbox, the dispatcher, python-telegram-bot and twilio out.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import gettext
import itertools
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.vocabulary.i18n import LOCALES_DIR
from bot.vocabulary.phones import normalise_phone
from gateway.fakes import FakeTelegramAPI, FakeTwilioAPI
from gateway.keys import DATABASE, SETTINGS, SIMULATOR
from storage.address_log import address_log

PAGE = Path(__file__).parent / "static" / "simulator.html"
BENKADI_NUMBER = "+22320000000"
SIM_TOKEN = "123456789:SIMULATOR-token"
SIM_ACCOUNT = "AC" + "0" * 32
PHOTO_MAX_BYTES = 5_000_000  # what the page may upload as a report's photo


@functools.cache
def _catalog() -> gettext.NullTranslations:
    return gettext.translation("console", LOCALES_DIR, languages=["fr"], fallback=True)


def C_(message: str) -> str:
    """The page is the console's: French, from the console's catalog (domain "console")."""
    return _catalog().gettext(message)


@dataclasses.dataclass(frozen=True)
class Sent:
    """What the provider's webhook call answered: its status, and a button press's toast."""

    status: int
    notice: str | None = None


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

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._http:
            await self._http.close()

    async def send(
        self,
        channel: str,
        sender: str,
        text: str,
        button: str | None,
        message_id: int | None = None,
        photo: bytes | None = None,
    ) -> Sent:
        """Deliver a message to Benkadi's own webhook, exactly as the provider would: a button
        pressed in message `message_id`, or a photo (Telegram) with `text` as its caption."""
        assert self._http is not None
        if channel == "telegram":
            chat = {"id": int(sender), "type": "private", "first_name": "Simulateur"}
            user = {"id": int(sender), "is_bot": False, "first_name": "Simulateur"}
            update_id = next(self._ids)
            if button is not None:
                message = {
                    "message_id": message_id or 1,
                    "date": int(time.time()),
                    "chat": chat,
                    "text": "…",
                }
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
                }
                if photo is not None:
                    file_id = f"sim-photo-{update_id}"
                    self.telegram.add_file(file_id, photo, f"photos/{file_id}.jpg")
                    size = {"file_id": file_id, "file_unique_id": file_id, "width": 1280,
                            "height": 960, "file_size": len(photo)}  # fmt: skip
                    message |= {"photo": [size], **({"caption": text} if text else {})}
                else:
                    message["text"] = text
                update = {"update_id": update_id, "message": message}
            async with self._http.post(
                self.public_url + "/webhooks/telegram",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": self.secret},
            ) as response:
                return Sent(response.status, _toast(await response.read()))
        prefix = "whatsapp:" if channel == "whatsapp" else ""
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
            return Sent(response.status)


def _toast(body: bytes) -> str | None:
    """The text of an answerCallbackQuery given in the webhook's answer, if any."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if isinstance(answer, dict) and answer.get("method") == "answerCallbackQuery":
        text = answer.get("text")
        return text if isinstance(text, str) else None
    return None


async def providers(app: web.Application) -> AsyncIterator[None]:
    """Start the fake providers and point the settings (so the real SDKs) at them."""
    settings = app[SETTINGS]
    secret, auth_token = secrets.token_urlsafe(24), secrets.token_hex(16)
    # Message ids that go on growing across restarts: a button of an older conversation
    # (reloaded from the database) never edits a message of this run.
    telegram = FakeTelegramAPI(SIM_TOKEN, first_message_id=int(time.time() * 10) % 2**31)
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
            raise _bad(C_("Un utilisateur Telegram est un nombre, par exemple 1001."))
        return raw.strip()
    phone = normalise_phone(raw)
    if phone is None:
        raise _bad(C_("Ce numéro de téléphone n'est pas valable (par exemple 76 12 34 56)."))
    return phone


def _bad(text: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=text)


def _channel(raw: object) -> str:
    if raw not in ("sms", "whatsapp", "telegram"):
        raise _bad(C_("Le canal est sms, whatsapp ou telegram."))
    return str(raw)


async def home(request: web.Request) -> web.Response:
    raise web.HTTPFound("/simulator")


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE)


async def api_send(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        channel = _channel(body["channel"])
        address = _address(channel, str(body["from"]))
        text, button = str(body.get("text", "")), body.get("button")
        message_id = int(body["message_id"]) if body.get("message_id") else None
        photo = base64.b64decode(body["photo"], validate=True) if body.get("photo") else None
    except (ValueError, KeyError, TypeError, binascii.Error, AttributeError):
        raise _bad(C_("Message du simulateur illisible.")) from None
    if photo is not None and (channel != "telegram" or len(photo) > PHOTO_MAX_BYTES):
        raise _bad(C_("Une photo s'envoie en Telegram, 5 Mo au plus."))
    sent = await request.app[SIMULATOR].send(channel, address, text, button, message_id, photo)
    return web.json_response(
        {"webhook_status": sent.status, "address": address, "notice": sent.notice}
    )


async def api_messages(request: web.Request) -> web.Response:
    """The conversation as stored: it survives a restart of `benkadi serve`."""
    channel = _channel(request.query.get("channel", "sms"))
    address = _address(channel, request.query.get("from", ""))
    async with request.app[DATABASE].transaction() as connection:
        messages = await address_log(connection, channel, address)
    return web.json_response({"messages": messages})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/simulator", page)
    app.router.add_post("/simulator/api/send", api_send)
    app.router.add_get("/simulator/api/messages", api_messages)
