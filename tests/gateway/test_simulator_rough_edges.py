"""The simulator and `benkadi chat` as a newcomer meets them (issue 15): a conversation survives
a restart, a photo goes with a report, chat finds the port and shows broadcasts unasked."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from gateway.app import create_app
from gateway.keys import DATABASE
from gateway.settings import Settings
from storage.models import Report
from tests import cli
from tests.factories import add_member
from tests.harness import free_port
from tests.reports.test_photos import phone_photo
from tests.templates import copy_migrated_sqlite

JPEG = phone_photo(64, 48)


class Running:
    def __init__(self, database_url: str, port: int) -> None:
        self.port, self.url = port, f"http://127.0.0.1:{port}"
        self.settings = Settings.from_env(
            {"BENKADI_DATABASE_URL": database_url, "BENKADI_PORT": str(port)},
            simulator=True,
            migrate_on_start=True,
            dispatch="inline",
            dispatch_interval=0.05,
        )

    async def __aenter__(self) -> Running:
        self.app = create_app(self.settings)
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()
        await self.runner.cleanup()

    async def send(self, channel: str, sender: str, text: str = "", **more) -> dict:
        payload = {"channel": channel, "from": sender, "text": text, **more}
        async with self.http.post(self.url + "/simulator/api/send", json=payload) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def conversation(self, channel: str, sender: str, replies: int) -> list[dict]:
        """The conversation once Benkadi said `replies` messages (within five seconds)."""
        deadline = time.monotonic() + 5
        while True:
            params = {"channel": channel, "from": sender}
            async with self.http.get(self.url + "/simulator/api/messages", params=params) as r:
                messages = (await r.json())["messages"]
            if len([m for m in messages if m["from"] == "benkadi"]) >= replies:
                return messages
            assert time.monotonic() < deadline, messages
            await asyncio.sleep(0.05)


@pytest.fixture
def database_url(tmp_path) -> str:
    copy_migrated_sqlite(tmp_path / "sim.db")  # the app finds it at head
    return f"sqlite:///{tmp_path / 'sim.db'}"


async def test_a_conversation_survives_a_restart(database_url):
    port = free_port()
    async with Running(database_url, port) as first:
        await first.send("sms", "76 12 34 56", "INSCRIPTION")
        before = await first.conversation("sms", "76123456", 1)
        await first.send("telegram", "1001", "/start")
        await first.conversation("telegram", "1001", 1)
        await first.send("telegram", "1001", "Français", button="fr")
        telegram_before = await first.conversation("telegram", "1001", 2)
    async with Running(database_url, port) as second:
        after = await second.conversation("sms", "76123456", 1)
        assert [(m["from"], m["text"]) for m in after] == [(m["from"], m["text"]) for m in before]
        telegram = await second.conversation("telegram", "1001", 2)
        assert [m["text"] for m in telegram] == [m["text"] for m in telegram_before]
        assert [m["from"] for m in telegram] == ["member", "benkadi", "member", "benkadi"]
        assert telegram[2]["text"] == "[Français]"  # a press shows its button's label
        assert [data for _label, data in telegram[1]["buttons"]] == ["fr", "bm", "ff", "ses", "en"]


async def test_a_tick_shows_on_the_reloaded_buttons(database_url):
    async with Running(database_url, free_port()) as running:
        await running.send("telegram", "1002", "/start fr")
        for count, text in enumerate(["Awa", "AMSS", "Kayes", "Kita"], start=2):
            await running.send("telegram", "1002", text)
            messages = await running.conversation("telegram", "1002", count)
        themes = messages[-1]
        label, data = themes["buttons"][0]
        answer = await running.send("telegram", "1002", label, button=data, message_id=themes["id"])
        assert answer["notice"] == "✓ " + label
        deadline = time.monotonic() + 5
        while (await running.conversation("telegram", "1002", 5))[-2]["buttons"][0][0] != answer[
            "notice"
        ]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)


async def test_a_photo_from_the_simulator_goes_with_a_report(database_url, tmp_path):
    async with Running(database_url, free_port()) as running:
        chat = "1003"
        async with running.app[DATABASE].transaction() as connection:
            now = datetime.now(UTC)
            await add_member(
                connection, name="Awa", region="bamako", now=now, addresses=[("telegram", chat)]
            )
        await running.send("telegram", chat, "RAPPORT")
        replies = 1
        for press in ("campagne", "yesterday", "keep"):
            await running.conversation("telegram", chat, replies)
            await running.send("telegram", chat, press, button=press)
            replies += 1
        for text in ("Commune IV", "F12 H8 FI4 G4", "Marche des 16 jours"):
            await running.conversation("telegram", chat, replies)
            await running.send("telegram", chat, text)
            replies += 1
        asked = (await running.conversation("telegram", chat, replies))[-1]
        assert "photo" in asked["text"].lower()
        photo = base64.b64encode(JPEG).decode()
        await running.send("telegram", chat, "", photo=photo)
        summary = (await running.conversation("telegram", chat, replies + 1))[-1]
        assert "Photo : oui" in summary["text"]
        await running.send("telegram", chat, "Confirmer", button="confirm")
        deadline = time.monotonic() + 5
        while True:
            async with running.app[DATABASE].sessions() as session:
                report = await session.scalar(select(Report))
            if report is not None and report.media_path:
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        kept = await asyncio.to_thread(Path(report.media_path).read_bytes)
        assert kept.startswith(b"\xff\xd8")  # the photo, kept (cleaned: a JPEG again)


async def test_a_photo_is_refused_in_french_off_telegram(database_url):
    async with Running(database_url, free_port()) as running:
        payload = {
            "channel": "sms",
            "from": "76 12 34 56",
            "photo": base64.b64encode(JPEG).decode(),
        }
        async with running.http.post(running.url + "/simulator/api/send", json=payload) as response:
            assert response.status == 400
            assert await response.text() == "Une photo s'envoie en Telegram, 5 Mo au plus."


async def read_until(stream: asyncio.StreamReader, needle: str, timeout: float = 15) -> str:
    seen = ""
    async with asyncio.timeout(timeout):
        while needle not in seen:
            line = await stream.readline()
            assert line, f"ended before {needle!r}: {seen}"
            seen += line.decode()
    return seen


async def test_chat_finds_benkadi_port_and_shows_a_broadcast_unasked(database_url):
    port = free_port()
    async with Running(database_url, port) as running:
        async with running.app[DATABASE].transaction() as connection:
            now = datetime.now(UTC)
            await add_member(
                connection, name="Awa", region="kayes", now=now,
                addresses=[("sms", "+22376000001")],
            )  # fmt: skip
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))},
            "BENKADI_PORT": str(port),
            "BENKADI_DATABASE_URL": database_url,
        }
        chat = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "chat", "--from", "76 00 00 01",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        assert chat.stdout is not None and chat.stdin is not None
        try:
            started = await read_until(chat.stdout, "Ctrl-D")
            assert f"http://127.0.0.1:{port}" in started
            code = await cli.run(
                running.settings, "broadcasts", "create", "--text=fr=Réunion jeudi à 9h.", "--send"
            )
            assert code == 0
            await read_until(chat.stdout, "Réunion jeudi à 9h.")  # nothing typed
        finally:
            chat.stdin.close()
            await asyncio.wait_for(chat.wait(), 15)
        assert chat.returncode == 0


def test_the_readme_documents_chats_url():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    chat = readme.split("`chat` talks to", 1)[1][:300]
    assert "BENKADI_PORT" in chat and "benkadi chat --url" in chat
