"""What the fake Telegram Bot API says and how it reads requests: Telegram's own error texts,
typed parameters as PTB sends them, and the records the fake keeps (gateway/fakes/telegram_api.py)."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

# --- Provider quirks -----------------------------------------------------------------------------

# PTB (httpx) posts form-encoded data where every non-str value is JSON-dumped, so a server has
# to know which parameters are typed; Telegram decodes these the same way.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "allowed_updates",
        "media",
        "commands",
        "scope",
        "suggested_post_parameters",
    }
)
_INT_FIELDS = frozenset(
    {
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "direct_messages_topic_id",
        "user_id",
        "cache_time",
        "max_connections",
        "offset",
        "limit",
        "timeout",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_paid_broadcast",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "show_alert",
        "drop_pending_updates",
    }
)

MAX_TEXT_LENGTH = 4096  # characters after entity parsing; we count the raw text
# Descriptions exactly as the Bot API words them (PTB strips the "Bad Request: " prefix).
ERR_UNAUTHORIZED = (401, "Unauthorized")
ERR_NOT_FOUND = (404, "Not Found")
ERR_BLOCKED = (403, "Forbidden: bot was blocked by the user")
ERR_CHAT_ID_EMPTY = (400, "Bad Request: chat_id is empty")
ERR_TEXT_EMPTY = (400, "Bad Request: message text is empty")
ERR_TEXT_TOO_LONG = (400, "Bad Request: message is too long")
ERR_INVALID_FILE_ID = (400, "Bad Request: invalid file_id")
ERR_MESSAGE_TO_EDIT_NOT_FOUND = (400, "Bad Request: message to edit not found")
ERR_NOT_MODIFIED = (
    400,
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message",
)
ERR_QUERY_ID_INVALID = (
    400,
    "Bad Request: query is too old and response timeout expired or query ID is invalid",
)
ERR_WEBHOOK_ACTIVE = (
    409,
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first",
)
ERR_BAD_WEBHOOK = (400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")

BOT_USERNAME = "benkadi_fake_bot"


def monotonic_now() -> float:
    return time.monotonic()


def normalize_chat_id(chat_id: Any) -> int | str:
    """Telegram accepts ``123``, ``"123"`` and ``"@channel"``; numeric ids compare as ints."""
    if isinstance(chat_id, str):
        with contextlib.suppress(ValueError):
            return int(chat_id)
    return chat_id


def decode_param(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if name in _JSON_FIELDS:
            return json.loads(value)
        if name in _INT_FIELDS:
            return int(value)
    except ValueError:
        return value
    if name in _BOOL_FIELDS:
        return value.lower() == "true"
    if name == "chat_id":
        return normalize_chat_id(value)
    return value


class Reject(Exception):
    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


@dataclass
class SentTelegramMessage:
    """One accepted sendMessage."""

    message_id: int
    chat_id: int | str
    text: str
    reply_markup: dict | None
    params: dict
    at: float  # time.monotonic()


@dataclass
class StoredFile:
    content: bytes
    file_path: str
    file_unique_id: str
