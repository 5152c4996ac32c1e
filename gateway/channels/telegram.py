"""Telegram through python-telegram-bot: webhook updates in, `Bot.send_message` out.

In: one webhook, carrying the secret set with `benkadi telegram-webhook` in
X-Telegram-Bot-Api-Secret-Token. A button press is acknowledged in the webhook's answer itself.
Out: text with inline keyboards; Telegram has no status callbacks.
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import timedelta
from typing import ClassVar

from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.model import Inbound, Received
from bot.vocabulary.channels import TELEGRAM
from gateway.channels.base import (
    CREDENTIALS_PAUSE,
    AddressChange,
    Malformed,
    Outgoing,
    Parsed,
    SendError,
    WebhookRequest,
    redact,
)
from storage.outbox.states import AddressState

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHANNEL = "telegram"
CALLBACK_DATA_MAX_BYTES = TELEGRAM.callback_data_max_bytes or 64

# Permanent refusals, by the description Telegram gives (PTB strips "Bad Request: "/"Forbidden: ").
ADDRESS_STATE_BY_DESCRIPTION: tuple[tuple[str, AddressState], ...] = (
    ("bot was blocked by the user", AddressState.BLOCKED),
    ("user is deactivated", AddressState.BLOCKED),
    ("bot can't initiate conversation", AddressState.BLOCKED),
    ("chat not found", AddressState.INVALID),
)
NOT_MODIFIED = "message is not modified"
# my_chat_member: the bot's new status in a private chat → whether the member blocked it.
BLOCKED_BY_MEMBER_STATUS = {"kicked": True, "member": False}


def classify(error: Exception, secrets: tuple[str, ...] = ()) -> SendError:
    """A send failure, once: the dispatcher decides from the flags of the SendError only."""
    text = redact(str(error), secrets)
    if isinstance(error, RetryAfter):
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return SendError("429", text, retryable=True, retry_after=seconds)
    if isinstance(error, Forbidden | BadRequest):
        lowered = text.lower()
        state = next((s for needle, s in ADDRESS_STATE_BY_DESCRIPTION if needle in lowered), None)
        code = "403" if isinstance(error, Forbidden) else "400"
        return SendError(code, text, retryable=False, address_state=state)
    if isinstance(error, InvalidToken):
        log.error("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN")
        return SendError("401", text, retryable=True, retry_after=CREDENTIALS_PAUSE)
    if isinstance(error, TimedOut | NetworkError):
        return SendError("network", text, retryable=True)
    return SendError("error", redact(repr(error), secrets), retryable=True)


# --- in ---------------------------------------------------------------------------------------
def _message_event(update_id: str, message: Message) -> Received | None:
    chat_id = str(message.chat.id)
    if message.photo:
        # A photo (for an activity report): the largest size's file_id; the caption is the text.
        photo = max(message.photo, key=lambda size: size.width * size.height)
        inbound = Inbound(CHANNEL, message.caption or "", media=photo.file_id)
        return Received(CHANNEL, chat_id, update_id, inbound)
    text = message.text
    if text is None:
        return None  # stickers, locations, voice…
    if text.startswith("/start"):
        payload = text[len("/start") :].strip() or None
        inbound = Inbound(CHANNEL, text, is_start=True, start_payload=payload)
    else:
        inbound = Inbound(CHANNEL, text)
    return Received(CHANNEL, chat_id, update_id, inbound)


def parse_update(data: object) -> Parsed:
    """What an update means for Benkadi; no events for what it does not handle (edits, groups…)."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise Malformed("malformed update: a JSON object with an integer update_id")
    try:
        return _meaning(Update.de_json(data, None))
    except (ValueError, TypeError, KeyError, AttributeError, TelegramError) as error:
        raise Malformed(f"malformed update: {error}") from None
    except RecursionError:
        raise Malformed("malformed update: nested too deep") from None


def _meaning(update: Update) -> Parsed:
    update_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        pressed_in = query.message
        if pressed_in is None or pressed_in.chat.type != "private" or query.data is None:
            return Parsed()
        chat_id = str(pressed_in.chat.id)
        inbound = Inbound(
            CHANNEL, query.data, button=query.data, message_id=str(pressed_in.message_id)
        )
        return Parsed((Received(CHANNEL, chat_id, update_id, inbound),), acknowledge=query.id)
    message = update.message
    if message is not None and message.chat.type == "private":
        received = _message_event(update_id, message)
        return Parsed((received,) if received is not None else ())
    change = update.my_chat_member
    if change is not None and change.chat.type == "private":
        blocked = BLOCKED_BY_MEMBER_STATUS.get(change.new_chat_member.status)
        if blocked is not None:
            return Parsed((AddressChange(CHANNEL, str(change.chat.id), blocked),))
    return Parsed()


class UpdatesWebhook:
    path: ClassVar[str] = WEBHOOK_PATH
    content_type: ClassVar[str | None] = None  # Telegram posts JSON; the secret proves it

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def verify(self, request: WebhookRequest) -> bool:
        """Constant-time comparison of the secret Telegram sends back with every update."""
        given = request.headers.get(SECRET_HEADER)
        # Headers arrive as bytes decoded with surrogateescape: a stray non-ASCII byte must
        # compare unequal, not fail to encode.
        return (
            bool(self._secret)
            and given is not None
            and hmac.compare_digest(self._secret, given.encode("utf-8", "surrogateescape"))
        )

    def parse(self, request: WebhookRequest) -> Parsed:
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise Malformed(f"malformed update: {error}") from None
        except RecursionError:  # JSON nested thousands deep: no update is
            raise Malformed("malformed update: nested too deep") from None
        return parse_update(data)

    def answer(self, parsed: Parsed, notice: str | None) -> web.Response:
        if parsed.acknowledge is None:
            return web.Response(status=200)
        # Answer the button press in the webhook response itself: no extra API call.
        answer = {"method": "answerCallbackQuery", "callback_query_id": parsed.acknowledge}
        if notice:
            answer["text"] = notice
        return web.json_response(answer)


# --- out --------------------------------------------------------------------------------------
def keyboard(choices: list[list[str]] | None) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    rows = []
    for number, (key, label) in enumerate(choices, 1):
        # Callback data is at most 64 bytes; a long key (an organisation's name) goes by number.
        data = key if len(key.encode()) <= CALLBACK_DATA_MAX_BYTES else str(number)
        rows.append([InlineKeyboardButton(label, callback_data=data)])
    return InlineKeyboardMarkup(rows)


class TelegramChannel:
    name = CHANNEL

    def __init__(
        self,
        token: str,
        api_url: str,
        file_url: str,
        request: BaseRequest | None = None,  # tests replay recorded answers through it
    ) -> None:
        request = request or HTTPXRequest(
            connection_pool_size=64, read_timeout=15, connect_timeout=10
        )
        self.bot = Bot(token, base_url=f"{api_url}/bot", base_file_url=file_url, request=request)
        self._secrets = (token,)

    async def start(self) -> None:
        await self.bot.initialize()

    async def stop(self) -> None:
        await self.bot.shutdown()

    async def send(self, message: Outgoing) -> str:
        if message.edits is not None:
            return await self._edit(message, message.edits)
        try:
            sent = await self.bot.send_message(
                chat_id=int(message.recipient),
                text=message.body,
                reply_markup=keyboard(message.buttons),
            )
        except Exception as error:  # every failure is classified once, here
            raise classify(error, self._secrets) from error
        return str(sent.message_id)

    async def _edit(self, message: Outgoing, message_id: str) -> str:
        """New buttons on a message already sent (a multi-select's ✓ marks)."""
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=int(message.recipient),
                message_id=int(message_id),
                reply_markup=keyboard(message.buttons),
            )
        except BadRequest as error:
            if NOT_MODIFIED not in str(error).lower():  # two quick taps: already as wanted
                raise classify(error, self._secrets) from error
        except Exception as error:
            raise classify(error, self._secrets) from error
        return message_id
