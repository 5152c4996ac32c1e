"""Telegram through python-telegram-bot: reading webhook updates and sending with Bot."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from bot.model import Inbound
from bot.service import Received
from gateway.channels.base import CREDENTIALS_PAUSE, SendError

log = logging.getLogger(__name__)

CALLBACK_DATA_MAX_BYTES = 64
# Permanent refusals, by the description Telegram gives (PTB strips "Bad Request: "/"Forbidden: ").
ADDRESS_STATE_BY_DESCRIPTION = (
    ("bot was blocked by the user", "blocked"),
    ("user is deactivated", "blocked"),
    ("bot can't initiate conversation", "blocked"),
    ("chat not found", "invalid"),
)


def secret_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of X-Telegram-Bot-Api-Secret-Token."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class ChatMemberChange:
    chat_id: str
    blocked: bool  # True: the member blocked the bot; False: they came back


def parse_update(data: dict) -> tuple[Update, Received | ChatMemberChange | None]:
    """What an update means for Benkadi; None for what it does not handle (stickers, edits…)."""
    update = Update.de_json(data, None)
    provider_id = str(update.update_id)
    if update.callback_query and update.callback_query.message:
        query = update.callback_query
        chat = query.message.chat
        if chat.type != "private" or query.data is None:
            return update, None
        inbound = Inbound("telegram", query.data, button=query.data)
        return update, Received("telegram", str(chat.id), provider_id, inbound)
    message = update.message
    if message is not None and message.chat.type == "private" and message.photo:
        # A photo (for an activity report): the largest size's file_id; the caption is the text.
        photo = max(message.photo, key=lambda size: size.width * size.height)
        inbound = Inbound("telegram", message.caption or "", media=photo.file_id)
        return update, Received("telegram", str(message.chat.id), provider_id, inbound)
    if message is not None and message.chat.type == "private" and message.text is not None:
        text = message.text
        if text.startswith("/start"):
            payload = text[len("/start") :].strip() or None
            inbound = Inbound("telegram", text, is_start=True, start_payload=payload)
        else:
            inbound = Inbound("telegram", text)
        return update, Received("telegram", str(message.chat.id), provider_id, inbound)
    change = update.my_chat_member
    if change is not None and change.chat.type == "private":
        status = change.new_chat_member.status
        if status in ("kicked", "member"):
            return update, ChatMemberChange(str(change.chat.id), blocked=status == "kicked")
    return update, None


def keyboard(choices: list[list[str]] | None) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    rows = []
    for number, (key, label) in enumerate(choices, 1):
        # Callback data is at most 64 bytes; a long key (an organisation's name) goes by number.
        data = key if len(key.encode()) <= CALLBACK_DATA_MAX_BYTES else str(number)
        rows.append([InlineKeyboardButton(label, callback_data=data)])
    return InlineKeyboardMarkup(rows)


def classify(error: Exception) -> SendError:
    if isinstance(error, RetryAfter):
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return SendError("429", str(error), retryable=True, retry_after=seconds)
    if isinstance(error, (Forbidden, BadRequest)):
        text = str(error).lower()
        state = next((s for needle, s in ADDRESS_STATE_BY_DESCRIPTION if needle in text), None)
        code = "403" if isinstance(error, Forbidden) else "400"
        return SendError(code, str(error), retryable=False, address_state=state)
    if isinstance(error, InvalidToken):
        log.error("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN")
        return SendError("401", str(error), retryable=True, retry_after=CREDENTIALS_PAUSE)
    if isinstance(error, (TimedOut, NetworkError)):
        return SendError("network", str(error), retryable=True)
    return SendError("error", repr(error), retryable=True)


class TelegramChannel:
    name = "telegram"

    def __init__(self, token: str, api_url: str, file_url: str) -> None:
        request = HTTPXRequest(connection_pool_size=64, read_timeout=15, connect_timeout=10)
        self.bot = Bot(token, base_url=f"{api_url}/bot", base_file_url=file_url, request=request)

    async def start(self) -> None:
        await self.bot.initialize()

    async def stop(self) -> None:
        await self.bot.shutdown()

    async def send(self, recipient: str, body: str, choices: list[list[str]] | None) -> str:
        try:
            message = await self.bot.send_message(
                chat_id=int(recipient), text=body, reply_markup=keyboard(choices)
            )
        except Exception as error:  # every failure is classified once, here
            raise classify(error) from error
        return str(message.message_id)
