"""The built-in simulator: chat with Benkadi as an SMS phone or a Telegram user, no credentials.

With no provider configured, `benkadi serve` starts the fake Telegram and Twilio servers in
process and points the real SDKs at them, so the simulator runs the very code production runs:
signed webhooks in, the outbox, the dispatcher, python-telegram-bot and twilio out. A fake
Android phone (an Orange and a Moov SIM, SMS Gateway for Android) is registered as the gateway
"simulateur": "SMS to the Orange/Moov SIM" texts it, and SMS replies go out by the route layer.
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
from gateway.channels.android import EVENTS, WEBHOOK_PATH
from gateway.fakes import FakeAndroidGateway, FakeTelegramAPI, FakeTwilioAPI
from gateway.fakes.android_api import Hook
from gateway.keys import DATABASE, SETTINGS, SIMULATOR
from storage import gateways as gateway_store
from storage.address_log import address_log
from storage.gateways import PROVIDER_ID_SEPARATOR, SimSpec

PAGE = Path(__file__).parent / "static" / "simulator.html"
BENKADI_NUMBER = "+22320000000"
SIM_TOKEN = "123456789:SIMULATOR-token"
SIM_ACCOUNT = "AC" + "0" * 32
PHONE_NAME = "simulateur"
PHONE_SIMS = {1: ("+22370000000", "orange"), 2: ("+22365000000", "moov")}
SIMULATED_RATE = 6000.0  # SMS per minute per SIM: nothing real is sent, broadcasts stay quick
# The simulator's channels: the providers' own, and texting one SIM of the fake phone.
SIM_CHANNELS = {"sms-orange": 1, "sms-moov": 2}
CHANNELS = ("sms", "whatsapp", "telegram", *SIM_CHANNELS)

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
        phone: FakeAndroidGateway | None = None,
    ) -> None:
        self.telegram, self.twilio, self.phone = telegram, twilio, phone
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
        if channel in SIM_CHANNELS:
            assert self.phone is not None
            posted = await self.phone.text(sender, text, sim=SIM_CHANNELS[channel])
            return Sent(posted[0].status if posted else 503)
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

    def via(self, message_id: str | None) -> str | None:
        """Which SIM of the simulator's phone carried an SMS (by the id the phone was given)."""
        if self.phone is None or not message_id or PROVIDER_ID_SEPARATOR not in message_id:
            return None
        ours = message_id.split(PROVIDER_ID_SEPARATOR, 1)[1]
        for sent in self.phone.sent:
            if sent.id == ours:
                number, operator = PHONE_SIMS[sent.sim]
                return f"SIM {operator.title()} {number}"
        return None

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
        twilio_content_url=twilio.base_url,
    )
    phone = FakeAndroidGateway(
        password=secrets.token_urlsafe(12),
        signing_key=secrets.token_urlsafe(24),
        sims={slot: number for slot, (number, _) in PHONE_SIMS.items()},
    )
    await phone.start()
    hook_url = settings.public_url + WEBHOOK_PATH.format(gateway=PHONE_NAME)
    for event in EVENTS:
        phone.hooks[event.value] = Hook(event.value, hook_url, event.value)
    simulator = Simulator(telegram, twilio, settings.public_url, secret, auth_token, phone)
    await simulator.start()
    app[SIMULATOR] = simulator
    yield
    await simulator.stop()
    await phone.stop()
    await telegram.stop()
    await twilio.stop()


async def android_gateway(app: web.Application) -> AsyncIterator[None]:
    """Register the fake phone (its port is new each run) once the database is there."""
    phone = app[SIMULATOR].phone
    assert phone is not None
    database = app[DATABASE]
    if any(g.name == PHONE_NAME for g in await gateway_store.load_gateways(database)):
        await gateway_store.remove_gateway(database, PHONE_NAME, actor="simulator")
    await gateway_store.add_gateway(
        database,
        name=PHONE_NAME,
        base_url=phone.base_url,
        login=phone.login,
        password=phone.password,
        signing_key=phone.signing_key,
        sims_=[
            SimSpec(slot, number, operator, 0.01, SIMULATED_RATE)
            for slot, (number, operator) in PHONE_SIMS.items()
        ],
        actor="simulator",
    )
    yield


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
    if raw not in CHANNELS:
        raise _bad(C_("Le canal est sms, sms-orange, sms-moov, whatsapp ou telegram."))
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
    stored = "sms" if channel in SIM_CHANNELS else channel  # texting a SIM is an SMS address
    async with request.app[DATABASE].transaction() as connection:
        messages = await address_log(connection, stored, address)
    if stored == "sms":  # say which SIM of the simulator's phone carried each reply
        simulator = request.app[SIMULATOR]
        for message in messages:
            if message["from"] == "benkadi" and (via := simulator.via(message.get("id"))):
                message["via"] = via
    return web.json_response({"messages": messages})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/simulator", page)
    app.router.add_post("/simulator/api/send", api_send)
    app.router.add_get("/simulator/api/messages", api_messages)
