"""The fake Telegram API, exercised through the real python-telegram-bot SDK."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from gateway.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123456:TEST-token_abc"
CHAT = 22376123456
# Reading RetryAfter.retry_after as int is deprecated in PTB 22; seconds() copes with both types.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    api = FakeTelegramAPI(TOKEN)
    await api.start()
    yield api
    await api.stop()


def make_bot(api: FakeTelegramAPI, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=api.base_url, base_file_url=api.base_file_url)


@pytest.fixture
async def bot(fake: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with make_bot(fake) as b:
        yield b


def seconds(retry_after: int | dtm.timedelta) -> float:
    # PTB 22 returns int or timedelta depending on PTB_TIMEDELTA.
    return retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after


async def test_get_me_and_send_with_inline_keyboard(fake: FakeTelegramAPI, bot: Bot) -> None:
    assert bot.username == "benkadi_fake_bot"
    assert bot.id == 123456
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="yes")]])

    first = await bot.send_message(CHAT, "I ni ce — bɛɛ bɛ se", reply_markup=keyboard)
    second = await bot.send_message(str(CHAT), "deuxième")

    assert isinstance(first, Message)
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.chat.id == CHAT and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.is_bot
    assert first.text == "I ni ce — bɛɛ bɛ se"
    assert first.reply_markup == keyboard
    assert [m.text for m in fake.messages_to(CHAT)] == ["I ni ce — bɛɛ bɛ se", "deuxième"]
    assert fake.sent[0].reply_markup == keyboard.to_dict()
    assert fake.sent[1].chat_id == CHAT  # "123" normalised to an int
    assert [name for name, _ in fake.requests] == ["getMe", "sendMessage", "sendMessage"]


async def test_wrong_token_raises_invalid_token(fake: FakeTelegramAPI) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(fake, "999:wrong"):  # __aenter__ shuts the client down on failure
            pass
    assert fake.requests[0][0] == "getMe"


async def test_throttle_next_raises_retry_after(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.throttle_next(1, retry_after=7)
    with pytest.raises(RetryAfter) as exc:
        await bot.send_message(CHAT, "hello")
    assert seconds(exc.value.retry_after) == 7
    await bot.send_message(CHAT, "hello again")
    assert fake.throttled_count == 1
    assert [m.text for m in fake.sent] == ["hello again"]


async def test_error_injection_maps_to_ptb_exceptions(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.block_chat(CHAT)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(CHAT, "x")

    fake.fail_next(1, 400, "Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(42, "x")
    fake.fail_next(1, 403, "Forbidden: user is deactivated")
    with pytest.raises(Forbidden, match="deactivated"):
        await bot.send_message(42, "x")
    fake.fail_next(1, 500, "Internal Server Error")
    with pytest.raises(NetworkError) as exc:
        await bot.send_message(42, "x")
    assert type(exc.value) is NetworkError
    fake.fail_next(1, 429, "Too Many Requests: retry after 3")
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(42, "x")
    assert seconds(retry.value.retry_after) == 3 and fake.throttled_count == 1

    assert fake.sent == []
    assert len([r for r in fake.requests if r[0] == "sendMessage"]) == 5


async def test_text_validation(fake: FakeTelegramAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(CHAT, "")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(CHAT, "a" * 4097)
    await bot.send_message(CHAT, "a" * 4096)
    assert len(fake.sent) == 1


async def test_rate_limits() -> None:
    api = FakeTelegramAPI(TOKEN, rate_per_second=3, per_chat_per_second=1)
    await api.start()
    try:
        async with make_bot(api) as bot:
            await bot.send_message(1, "a")
            with pytest.raises(RetryAfter) as exc:  # second to the same chat within 1 s
                await bot.send_message(1, "b")
            assert seconds(exc.value.retry_after) == 1
            await bot.send_message(2, "c")
            await bot.send_message(3, "d")
            with pytest.raises(RetryAfter):  # fourth overall within 1 s
                await bot.send_message(4, "e")
        assert api.throttled_count == 2
        assert [m.text for m in api.sent] == ["a", "c", "d"]
    finally:
        await api.stop()


async def test_files(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.add_file("AgAD-photo", b"\xff\xd8jpeg-bytes", "photos/file_7.jpg")
    tg_file = await bot.get_file("AgAD-photo")
    assert tg_file.file_size == len(b"\xff\xd8jpeg-bytes")
    assert tg_file.file_path == f"{fake.base_file_url}{TOKEN}/photos/file_7.jpg"
    assert await tg_file.download_as_bytearray() == bytearray(b"\xff\xd8jpeg-bytes")
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


async def test_answer_callback_query(fake: FakeTelegramAPI, bot: Bot) -> None:
    assert await bot.answer_callback_query("cbq-1", text="Merci", show_alert=True)
    assert fake.callback_answers == [
        {"callback_query_id": "cbq-1", "text": "Merci", "show_alert": True}
    ]


async def test_wait_for_messages(fake: FakeTelegramAPI, bot: Bot) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(5, "one")
        await bot.send_message(CHAT, "two")

    task = asyncio.create_task(later())
    got = await fake.wait_for_messages(1, timeout=2, chat_id=CHAT)
    await task
    assert [m.text for m in got] == ["two"]
    with pytest.raises(TimeoutError):
        await fake.wait_for_messages(3, timeout=0.05)


async def test_raw_wire_formats_and_unknown_method(fake: FakeTelegramAPI) -> None:
    url = f"{fake.base_url}{TOKEN}"
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    async with aiohttp.ClientSession() as http:
        # JSON body with reply_markup double-encoded as a string, as some clients send it.
        async with http.post(
            f"{url}/sendMessage", json={"chat_id": 7, "text": "j", "reply_markup": markup}
        ) as resp:
            body = await resp.json()
            assert body["ok"] and body["result"]["reply_markup"]["inline_keyboard"]
        async with http.get(f"{url}/sendmessage", params={"chat_id": "@news", "text": "q"}) as resp:
            assert (await resp.json())["result"]["chat"]["type"] == "channel"
        async with http.post(f"{url}/fooBar") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert fake.sent[0].reply_markup == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    assert fake.messages_to("@news")[0].text == "q"

    async with make_bot(fake) as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("fooBar")


async def test_webhook_delivery_and_polling(fake: FakeTelegramAPI, bot: Bot) -> None:
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/tg", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/tg", secret_token="s3cret")
        assert (await bot.get_webhook_info()).url.endswith("/tg")
        status = await fake.post_update({"message": {"message_id": 1, "text": "hi"}})
        assert status == 200
        update = {"update_id": 1, "message": {"message_id": 1, "text": "hi"}}
        assert received == [("s3cret", update)]
        assert await bot.delete_webhook()
    finally:
        await runner.cleanup()

    fake.push_update(
        {
            "message": {
                "message_id": 9,
                "date": 0,
                "chat": {"id": CHAT, "type": "private"},
                "text": "Aw ni ce",
            }
        }
    )
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == ["Aw ni ce"]
    assert updates[0].update_id == 2
    assert await bot.get_updates(offset=3, timeout=0) == ()
