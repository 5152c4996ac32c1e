"""A fake Telegram Bot API server speaking the real wire format, for tests and the simulator.

Point python-telegram-bot at it with ``Bot(token, base_url=fake.base_url,
base_file_url=fake.base_file_url)``. Every error is shaped like Telegram's own, so PTB raises its
real exceptions (RetryAfter, Forbidden, BadRequest, InvalidToken, NetworkError).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import zlib
from collections import deque
from typing import Any

import aiohttp
from aiohttp import web

from gateway.fakes.limits import SlidingWindow
from gateway.fakes.telegram_wire import (
    BOT_USERNAME,
    ERR_BAD_WEBHOOK,
    ERR_BLOCKED,
    ERR_CHAT_ID_EMPTY,
    ERR_INVALID_FILE_ID,
    ERR_MESSAGE_TO_EDIT_NOT_FOUND,
    ERR_NOT_FOUND,
    ERR_NOT_MODIFIED,
    ERR_QUERY_ID_INVALID,
    ERR_TEXT_EMPTY,
    ERR_TEXT_TOO_LONG,
    ERR_UNAUTHORIZED,
    ERR_WEBHOOK_ACTIVE,
    MAX_TEXT_LENGTH,
    Reject,
    SentTelegramMessage,
    StoredFile,
    decode_param,
    monotonic_now,
    normalize_chat_id,
)


class FakeTelegramAPI:
    def __init__(
        self,
        token: str,
        *,
        rate_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        first_message_id: int = 1,  # the simulator's start after a restart: ids never repeat
    ) -> None:
        self.token = token
        self.sent: list[SentTelegramMessage] = []
        self.requests: list[tuple[str, dict]] = []
        self.callback_answers: list[dict] = []
        self.edits: list[dict] = []  # editMessageReplyMarkup calls accepted
        self.throttled_count = 0
        self.webhook: dict | None = None  # last setWebhook params
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self._rate = SlidingWindow(rate_per_second) if rate_per_second else None
        self._per_chat_rate = per_chat_per_second
        self._chat_windows: dict[int | str, SlidingWindow] = {}
        self._throttle_queue: deque[int] = deque()
        self._fail_queue: deque[tuple[int, str]] = deque()
        self._blocked: set[int | str] = set()
        self._files: dict[str, StoredFile] = {}
        self._next_message_id = first_message_id
        self._next_update_id = 1
        self._updates: list[dict] = []  # pending for getUpdates
        self._changed = asyncio.Event()  # set on every accepted send or queued update
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._host, self._port = "127.0.0.1", 0
        self._stopping = False

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._stopping = False
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        # A short shutdown timeout so stop() never hangs on a client's idle keep-alive.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._host, self._port = host, self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._stopping = True
        self._changed.set()  # wake long-polling getUpdates so shutdown is quick
        if self._session:
            await self._session.close()
            self._session = None
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def root_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.root_url}/file/bot"

    # --- test controls ---------------------------------------------------------------------------

    def throttle_next(self, count: int, retry_after: int) -> None:
        self._throttle_queue.extend([retry_after] * count)

    def fail_next(self, count: int, status: int, description: str) -> None:
        """The next `count` sendMessage calls fail with this status and description."""
        self._fail_queue.extend([(status, description)] * count)

    def block_chat(self, chat_id: int | str) -> None:
        self._blocked.add(normalize_chat_id(chat_id))

    def unblock_chat(self, chat_id: int | str) -> None:
        self._blocked.discard(normalize_chat_id(chat_id))

    def add_file(self, file_id: str, content: bytes, file_path: str = "photos/file_0.jpg") -> None:
        self._files[file_id] = StoredFile(content, file_path, f"u{zlib.crc32(file_id.encode())}")

    def messages_to(self, chat_id: int | str) -> list[SentTelegramMessage]:
        chat_id = normalize_chat_id(chat_id)
        return [m for m in self.sent if m.chat_id == chat_id]

    async def wait_for_messages(
        self,
        count: int,
        timeout: float = 5.0,
        chat_id: int | str | None = None,
    ) -> list[SentTelegramMessage]:
        def matching() -> list[SentTelegramMessage]:
            return self.sent if chat_id is None else self.messages_to(chat_id)

        async with asyncio.timeout(timeout):
            while len(found := matching()) < count:
                self._changed.clear()
                await self._changed.wait()
        return list(found)

    def push_update(self, update: dict) -> dict:
        """Queue an update for getUpdates (polling bots); assigns update_id if missing."""
        update = self._with_update_id(update)
        self._updates.append(update)
        self._changed.set()
        return update

    async def post_update(self, update: dict) -> int:
        """Deliver an update to the registered webhook as Telegram does; returns HTTP status."""
        if not self.webhook or not self.webhook.get("url"):
            raise RuntimeError("no webhook set (call setWebhook first)")
        headers = {"Content-Type": "application/json"}
        if secret := self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        self._session = self._session or aiohttp.ClientSession()
        body = json.dumps(self._with_update_id(update))
        async with self._session.post(self.webhook["url"], data=body, headers=headers) as resp:
            await resp.read()
            return resp.status

    def _with_update_id(self, update: dict) -> dict:
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        return update

    # --- HTTP ------------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._read_params(request)
        self.requests.append((method, params))
        try:
            if request.match_info["token"] != self.token:
                raise Reject(*ERR_UNAUTHORIZED)
            # Telegram matches method names case-insensitively.
            handler = self._methods.get(method.lower())
            if handler is None:
                raise Reject(*ERR_NOT_FOUND)
            result = await handler(self, params)
        except Reject as rej:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": rej.status,
                "description": rej.description,
            }
            if rej.parameters:
                body["parameters"] = rej.parameters
            return web.json_response(body, status=rej.status)
        if isinstance(result, tuple):  # (result, description) as setWebhook answers
            return web.json_response({"ok": True, "result": result[0], "description": result[1]})
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> dict:
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                raw.update(await request.json())
            else:  # form-urlencoded or multipart; uploaded files are kept as bytes
                for name, value in (await request.post()).items():
                    raw[name] = value.file.read() if isinstance(value, web.FileField) else value
        return {name: decode_param(name, value) for name, value in raw.items()}

    async def _handle_file(self, request: web.Request) -> web.Response:
        self.requests.append(("file", {"file_path": request.match_info["file_path"]}))
        if request.match_info["token"] == self.token:
            for stored in self._files.values():
                if stored.file_path == request.match_info["file_path"]:
                    return web.Response(body=stored.content)
        code, description = ERR_NOT_FOUND
        return web.json_response(
            {"ok": False, "error_code": code, "description": description}, status=code
        )

    # --- Bot API methods -------------------------------------------------------------------------

    def _bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Benkadi Fake",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @staticmethod
    def _chat(chat_id: int | str) -> dict:
        if isinstance(chat_id, str):  # "@username": Telegram resolves it to a numeric channel id
            return {
                "id": -1_000_000_000_000 - zlib.crc32(chat_id.encode()),
                "type": "channel",
                "title": chat_id[1:],
                "username": chat_id[1:],
            }
        if chat_id < -1_000_000_000_000:
            return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}

    async def _get_me(self, params: dict) -> dict:
        return self._bot_user()

    async def _send_message(self, params: dict) -> dict:
        if self._throttle_queue:
            self.throttled_count += 1
            n = self._throttle_queue.popleft()
            raise Reject(429, f"Too Many Requests: retry after {n}", {"retry_after": n})
        if self._fail_queue:
            status, description = self._fail_queue.popleft()
            if status == 429:  # without parameters.retry_after PTB would not raise RetryAfter
                self.throttled_count += 1
                found = re.search(r"retry after (\d+)", description)
                raise Reject(429, description, {"retry_after": int(found[1]) if found else 1})
            raise Reject(status, description)
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise Reject(*ERR_CHAT_ID_EMPTY)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise Reject(*ERR_TEXT_EMPTY)
        if len(text) > MAX_TEXT_LENGTH:
            raise Reject(*ERR_TEXT_TOO_LONG)
        if chat_id in self._blocked:
            raise Reject(*ERR_BLOCKED)
        self._check_rate(chat_id)

        message_id = self._next_message_id
        self._next_message_id += 1
        reply_markup = params.get("reply_markup")
        self.sent.append(
            SentTelegramMessage(message_id, chat_id, text, reply_markup, params, monotonic_now())
        )
        self._changed.set()
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        if params.get("entities"):
            message["entities"] = params["entities"]
        # Telegram only echoes inline keyboards; reply keyboards are not part of a Message.
        if isinstance(reply_markup, dict) and "inline_keyboard" in reply_markup:
            message["reply_markup"] = reply_markup
        return message

    def _check_rate(self, chat_id: int | str) -> None:
        now = monotonic_now()
        windows = [self._rate] if self._rate else []
        if self._per_chat_rate:
            windows.append(
                self._chat_windows.setdefault(chat_id, SlidingWindow(self._per_chat_rate))
            )
        wait = max((w.retry_after(now) for w in windows), default=0)
        if wait:
            self.throttled_count += 1
            raise Reject(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        for w in windows:
            w.hit(now)

    async def _edit_message_reply_markup(self, params: dict) -> dict:
        """Replace a sent message's inline keyboard; `edits` keeps every edit, in order."""
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if chat_id in (None, ""):
            raise Reject(*ERR_CHAT_ID_EMPTY)
        found = next(
            (m for m in self.sent if m.chat_id == chat_id and m.message_id == message_id), None
        )
        if found is None:
            raise Reject(*ERR_MESSAGE_TO_EDIT_NOT_FOUND)
        markup = params.get("reply_markup")
        if markup == found.reply_markup:
            raise Reject(*ERR_NOT_MODIFIED)
        found.reply_markup = markup
        self.edits.append(params)
        self._changed.set()
        message: dict[str, Any] = {
            "message_id": found.message_id,
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "text": found.text,
        }
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    async def _answer_callback_query(self, params: dict) -> bool:
        if not params.get("callback_query_id"):
            raise Reject(*ERR_QUERY_ID_INVALID)
        self.callback_answers.append(params)
        return True

    async def _set_webhook(self, params: dict) -> tuple[bool, str]:
        url = params.get("url") or ""
        if not url:  # an empty URL removes the webhook, as in the real API
            self.webhook = None
            return True, "Webhook was deleted"
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise Reject(*ERR_BAD_WEBHOOK)  # local http is allowed here for the simulator
        self.webhook = params
        return True, "Webhook was set"

    async def _delete_webhook(self, params: dict) -> tuple[bool, str]:
        had, self.webhook = self.webhook, None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True, "Webhook was deleted" if had else "Webhook is already deleted"

    async def _get_webhook_info(self, params: dict) -> dict:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _get_file(self, params: dict) -> dict:
        file_id = params.get("file_id")
        stored = self._files.get(file_id) if isinstance(file_id, str) else None
        if stored is None:
            raise Reject(*ERR_INVALID_FILE_ID)
        return {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    async def _get_updates(self, params: dict) -> list[dict]:
        if self.webhook:  # Telegram refuses polling while a webhook is set
            raise Reject(*ERR_WEBHOOK_ACTIVE)
        offset = params.get("offset") or 0
        # A non-zero offset confirms (drops) every earlier update, as in the real API.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self._updates and not self._stopping:
                    self._changed.clear()
                    await self._changed.wait()
        return self._updates[: params.get("limit") or 100]

    _methods: dict[str, Any] = {  # noqa: RUF012 - method table, read-only
        "getme": _get_me,
        "sendmessage": _send_message,
        "answercallbackquery": _answer_callback_query,
        "editmessagereplymarkup": _edit_message_reply_markup,
        "setwebhook": _set_webhook,
        "deletewebhook": _delete_webhook,
        "getwebhookinfo": _get_webhook_info,
        "getfile": _get_file,
        "getupdates": _get_updates,
        "close": lambda self, params: _true(),
        "logout": lambda self, params: _true(),
    }


async def _true() -> bool:
    return True
