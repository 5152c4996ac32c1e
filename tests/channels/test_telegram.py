"""Telegram, from recorded payloads: webhook updates, and the Bot API's answers to a send."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from multidict import CIMultiDict
from telegram.error import TimedOut

from bot.model import Inbound, Received
from gateway.channels.base import (
    CREDENTIALS_PAUSE,
    AddressChange,
    Malformed,
    Outgoing,
    SendError,
    WebhookRequest,
)
from gateway.channels.telegram import WEBHOOK_PATH, TelegramChannel, UpdatesWebhook, keyboard
from storage.outbox.rows import reply_row
from storage.outbox.states import AddressState
from tests.channels.runner import (
    RecordedTelegram,
    RequestCase,
    SendCase,
    run_request_case,
    run_send_case,
)

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

TOKEN = "123456789:AAE-recorded_token_abcdefghijklmnop"
SECRET = "s3cret-webhook_token"
SECRETS = (TOKEN, SECRET)
CHAT = {"id": 7001, "type": "private", "first_name": "Awa", "username": "awa_bko"}
USER = {"id": 7001, "is_bot": False, "first_name": "Awa", "language_code": "fr"}
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Benkadi", "username": "benkadi_bot"}
GROUP = {"id": -100200300, "type": "supergroup", "title": "Coordination"}


def update(**content) -> bytes:
    return json.dumps({"update_id": 900001, **content}).encode()


def message(text: str | None = None, chat=CHAT, **more) -> dict:
    shown = {"message_id": 55, "from": USER, "chat": chat, "date": 1732525200, **more}
    if text is not None:
        shown["text"] = text
    return shown


def tg(text: str, **more) -> Received:
    return Received("telegram", "7001", "900001", Inbound("telegram", text, **more))


PHOTO = [
    {"file_id": "AgAC-small", "file_unique_id": "s", "file_size": 1200, "width": 90, "height": 67},
    {"file_id": "AgAC-large", "file_unique_id": "l", "file_size": 90000, "width": 1280, "height": 960},
    {"file_id": "AgAC-mid", "file_unique_id": "m", "file_size": 20000, "width": 320, "height": 240},
]  # fmt: skip


def member_change(old: str, new: str, chat=CHAT) -> bytes:
    return update(
        my_chat_member={
            "chat": chat,
            "from": USER,
            "date": 1732525200,
            "old_chat_member": {"status": old, "user": BOT_USER, "until_date": 0},
            "new_chat_member": {"status": new, "user": BOT_USER, "until_date": 0},
        }
    )


def button(data: str | None, chat=CHAT) -> bytes:
    query = {
        "id": "4382bfdwdsb323b2d9",
        "from": USER,
        "chat_instance": "-5218349811262719",
        "message": message("Quelle région ?", chat=chat, from_=BOT_USER),
    }
    if data is not None:
        query["data"] = data
    return update(callback_query=query)


UPDATE_CASES = [
    RequestCase("a text", update(message=message("AIDE")), (tg("AIDE"),)),
    RequestCase(
        "/start with a deep-link payload",
        update(
            message=message(
                "/start bm", entities=[{"type": "bot_command", "offset": 0, "length": 6}]
            )
        ),
        (tg("/start bm", is_start=True, start_payload="bm"),),
    ),
    RequestCase("/start alone", update(message=message("/start")), (tg("/start", is_start=True),)),
    RequestCase(
        "a photo with a caption: the largest size",
        update(message=message(photo=PHOTO, caption="Atelier à Kita")),
        (tg("Atelier à Kita", media="AgAC-large"),),
    ),
    RequestCase(
        "a button pressed",
        button("region:kayes"),
        (tg("region:kayes", button="region:kayes", message_id="55"),),
        acknowledge="4382bfdwdsb323b2d9",
    ),
    RequestCase(
        "the member blocked the bot",
        member_change("member", "kicked"),
        (AddressChange("telegram", "7001", blocked=True),),
    ),
    RequestCase(
        "the member came back",
        member_change("kicked", "member"),
        (AddressChange("telegram", "7001", blocked=False),),
    ),
    RequestCase("the bot added to a group", member_change("left", "member", chat=GROUP)),
    RequestCase("an edited message", update(edited_message=message("AIDE", edit_date=1732525300))),
    RequestCase("a message in a group", update(message=message("AIDE", chat=GROUP))),
    RequestCase("a button pressed in a group", button("x", chat=GROUP)),
    RequestCase("a button without data (a game)", button(None)),
    RequestCase(
        "a sticker",
        update(
            message=message(
                sticker={
                    "file_id": "f",
                    "file_unique_id": "u",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            )
        ),
    ),
    RequestCase(
        "a channel post",
        update(channel_post={"message_id": 1, "date": 1, "chat": {"id": -1, "type": "channel"}}),
    ),
    RequestCase("not JSON", b"{not json", Malformed),
    RequestCase("a JSON list", b"[1, 2]", Malformed),
    RequestCase("no update_id", json.dumps({"message": message("x")}).encode(), Malformed),
    RequestCase("update_id as a string", b'{"update_id": "1"}', Malformed),
    RequestCase(
        "a message without its chat",
        update(message={"message_id": 1, "date": 1, "text": "x"}),
        Malformed,
    ),
    RequestCase("a date that is no date", update(message=message("x", date="tomorrow")), Malformed),
]


def with_secret(case: RequestCase, secret: str | None = SECRET) -> WebhookRequest:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return WebhookRequest(
        url="https://benkadi.example.org" + WEBHOOK_PATH,
        query={},
        headers=CIMultiDict(headers),
        body=case.body,
    )


@pytest.mark.parametrize("case", UPDATE_CASES, ids=str)
def test_updates_webhook(case: RequestCase, caplog: pytest.LogCaptureFixture) -> None:
    run_request_case(UpdatesWebhook(SECRET), with_secret(case), case, SECRETS, caplog)


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
def test_a_missing_or_wrong_secret_is_refused(secret, caplog) -> None:
    case = RequestCase("a text", update(message=message("STOP")), genuine=False)
    run_request_case(UpdatesWebhook(SECRET), with_secret(case, secret), case, SECRETS, caplog)


def test_a_button_press_is_answered_in_the_response() -> None:
    webhook = UpdatesWebhook(SECRET)
    parsed = webhook.parse(with_secret(RequestCase("b", button("confirm"))))
    answer = webhook.answer(parsed, "Enregistré")
    assert json.loads(answer.text or "") == {
        "method": "answerCallbackQuery",
        "callback_query_id": "4382bfdwdsb323b2d9",
        "text": "Enregistré",
    }


# --- sending: recorded Bot API answers through python-telegram-bot ----------------------------
def refused(status: int, description: str, **more) -> tuple[int, dict]:
    return status, {"ok": False, "error_code": status, "description": description, **more}


SENT = (200, {"ok": True, "result": message("Bonjour", from_=BOT_USER) | {"message_id": 812}})
SEND_CASES = [
    SendCase("sent", SENT, "812"),
    SendCase(
        "blocked by the user",
        refused(403, "Forbidden: bot was blocked by the user"),
        SendError("403", "", False, address_state=AddressState.BLOCKED),
        "blocked",
    ),
    SendCase(
        "a deactivated user",
        refused(403, "Forbidden: user is deactivated"),
        SendError("403", "", False, address_state=AddressState.BLOCKED),
    ),
    SendCase(
        "a user who never started the bot",
        refused(403, "Forbidden: bot can't initiate conversation with a user"),
        SendError("403", "", False, address_state=AddressState.BLOCKED),
    ),
    SendCase(
        "no such chat",
        refused(400, "Bad Request: chat not found"),
        SendError("400", "", False, address_state=AddressState.INVALID),
    ),
    SendCase(
        "too long: the message's fault, not the address's",
        refused(400, "Bad Request: message is too long"),
        SendError("400", "", False),
    ),
    SendCase(
        "flood control",
        refused(429, "Too Many Requests: retry after 7", parameters={"retry_after": 7}),
        SendError("429", "", True, retry_after=7.0),
    ),
    SendCase(
        "a revoked token",
        refused(401, "Unauthorized"),
        SendError("401", "", True, retry_after=CREDENTIALS_PAUSE),
    ),
    SendCase(
        "a malformed token",
        refused(404, "Not Found"),
        SendError("401", "", True, retry_after=CREDENTIALS_PAUSE),
    ),
    SendCase("bad gateway", (502, "<html>502 Bad Gateway</html>"), SendError("network", "", True)),
    SendCase("server error", refused(500, "Internal Server Error"), SendError("network", "", True)),
    SendCase(
        "connection refused, with the token in the URL",
        httpx.ConnectError(f"connect failed: https://api.telegram.org/bot{TOKEN}/sendMessage"),
        SendError("network", "", True),
        "/bot***/sendMessage",
    ),
    SendCase("timed out", TimedOut(), SendError("network", "", True)),
]


@pytest.mark.parametrize("case", SEND_CASES, ids=str)
async def test_send(case: SendCase, caplog: pytest.LogCaptureFixture) -> None:
    request = RecordedTelegram()
    request.answers.append(case.answer)
    channel = TelegramChannel(TOKEN, "https://api.telegram.test", "https://files.test", request)
    message = Outgoing(42, "7001", "Bonjour", [["kayes", "Kayes"]])
    await run_send_case(channel, message, case, SECRETS, caplog)
    assert request.urls == [f"https://api.telegram.test/bot{TOKEN}/sendMessage"]


def test_long_button_keys_go_by_number() -> None:
    """Callback data is at most 64 bytes (the channel traits say so): a longer key is sent as
    its position, which the dialogue reads back like a typed number."""
    markup = keyboard([["kayes", "Kayes"], ["é" * 40, "Réseau des femmes…"]])
    assert markup is not None
    data = [row[0].callback_data for row in markup.inline_keyboard]
    assert data == ["kayes", "2"]


EDITED = (200, {"ok": True, "result": message("Vos thèmes ?", from_=BOT_USER) | {"message_id": 55}})
EDIT_CASES = [
    SendCase("edited", EDITED, "55"),
    SendCase(
        "two quick taps: the buttons are already so",
        refused(
            400,
            "Bad Request: message is not modified: specified new message content and "
            "reply markup are exactly the same as a current content and reply markup",
        ),
        "55",
    ),
    SendCase(
        "the message is gone",
        refused(400, "Bad Request: message to edit not found"),
        SendError("400", "", False),
    ),
]


@pytest.mark.parametrize("case", EDIT_CASES, ids=str)
async def test_an_edit_row_replaces_the_buttons_of_the_message_pressed(case, caplog) -> None:
    request = RecordedTelegram()
    request.answers.append(case.answer)
    channel = TelegramChannel(TOKEN, "https://api.telegram.test", "https://files.test", request)
    row = reply_row(
        address_id=1, member_id=None, channel="telegram", recipient="7001", body="Vos thèmes ?",
        choices=[["vbg", "✓ VBG"], ["done", "Terminé"]], now=datetime.now(UTC), edits="55",
    )  # fmt: skip
    message = Outgoing(42, "7001", row["body"], row["choices"])
    assert (message.edits, message.buttons) == ("55", [["vbg", "✓ VBG"], ["done", "Terminé"]])
    await run_send_case(channel, message, case, SECRETS, caplog)
    assert request.urls == [f"https://api.telegram.test/bot{TOKEN}/editMessageReplyMarkup"]
