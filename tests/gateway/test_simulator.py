"""`benkadi serve` with no credentials: embedded SQLite, in-process fake providers, simulator."""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
import time

import aiohttp
import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.settings import Settings
from tests.harness import free_port
from tests.templates import copy_migrated_sqlite


class Output:
    """A process's output read as it comes, so a test can wait for a line without hanging when
    the process exits first, and still read all of it at the end."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process, self.lines = process, []
        self._arrived: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            self._arrived.put(line)
        self._arrived.put("")  # end of output

    def wait_for(self, needle: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._arrived.get(timeout=left)
            except queue.Empty:
                break
            if not line:
                raise AssertionError(f"exited ({self.process.wait()}) before printing {needle!r}")
            if needle in line:
                return line
        raise AssertionError(f"no {needle!r} within {timeout} s")

    def text(self, timeout: float = 15.0) -> str:
        """Everything, once the process has ended."""
        self.process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while self._arrived.get(timeout=max(0.01, deadline - time.monotonic())) != "":
            pass
        return "".join(self.lines)


@pytest.fixture
async def simulator_url(tmp_path):
    port = free_port()
    copy_migrated_sqlite(tmp_path / "sim.db")  # the app finds it at head (below, a new file)
    settings = Settings.from_env(
        {"BENKADI_DATABASE_URL": f"sqlite:///{tmp_path / 'sim.db'}", "BENKADI_PORT": str(port)},
        simulator=True,
        migrate_on_start=True,
        dispatch_interval=0.05,
    )
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def _conversation(http, url, channel, sender, wanted, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with http.get(
            f"{url}/simulator/api/messages", params={"channel": channel, "from": sender}
        ) as r:
            messages = (await r.json())["messages"]
        if len([m for m in messages if m["from"] == "benkadi"]) >= wanted:
            return messages
        await asyncio.sleep(0.05)
    raise TimeoutError


async def test_simulator_chats_as_sms_and_telegram_through_the_real_path(simulator_url):
    async with aiohttp.ClientSession() as http:
        async with http.get(simulator_url + "/simulator") as page:
            assert page.status == 200 and "Benkadi" in await page.text()
        payload = {"channel": "sms", "from": "76 12 34 56", "text": "INSCRIPTION"}
        async with http.post(simulator_url + "/simulator/api/send", json=payload) as r:
            assert (await r.json()) == {
                "webhook_status": 200,
                "address": "+22376123456",
                "notice": None,
            }
        messages = await _conversation(http, simulator_url, "sms", "76123456", 1)
        assert [m["from"] for m in messages] == ["member", "benkadi"]
        assert "nom" in messages[1]["text"]

        await http.post(
            simulator_url + "/simulator/api/send",
            json={"channel": "telegram", "from": "1001", "text": "/start"},
        )
        messages = await _conversation(http, simulator_url, "telegram", "1001", 1)
        buttons = messages[-1]["buttons"]
        assert [data for _label, data in buttons] == ["fr", "bm", "ff", "ses", "en"]
        await http.post(
            simulator_url + "/simulator/api/send",
            json={"channel": "telegram", "from": "1001", "text": "Français", "button": "fr"},
        )
        messages = await _conversation(http, simulator_url, "telegram", "1001", 2)
        assert "nom complet" in messages[-1]["text"]


async def test_simulator_whatsapp_opens_the_window_so_replies_are_delivered(tmp_path):
    """The fake Twilio enforces WhatsApp's 24 h window: the simulator tells it the member
    wrote, so the replies are delivered, not refused with 63016."""
    from sqlalchemy import select

    from gateway.keys import DATABASE
    from storage.models import OutboxMessage

    port = free_port()
    settings = Settings.from_env(
        {"BENKADI_DATABASE_URL": f"sqlite:///{tmp_path / 'sim.db'}", "BENKADI_PORT": str(port)},
        simulator=True, migrate_on_start=True, dispatch_interval=0.05,
    )  # fmt: skip
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            payload = {"channel": "whatsapp", "from": "76 12 34 57", "text": "INSCRIPTION"}
            async with http.post(url + "/simulator/api/send", json=payload) as r:
                assert (await r.json())["webhook_status"] == 200
            await _conversation(http, url, "whatsapp", "76123457", 1)
        deadline = time.monotonic() + 5
        statuses: list[str] = []
        while time.monotonic() < deadline and statuses != ["delivered"]:
            async with app[DATABASE].sessions() as session:
                statuses = list(await session.scalars(select(OutboxMessage.status)))
            await asyncio.sleep(0.05)
        assert statuses == ["delivered"]
    finally:
        await runner.cleanup()


async def test_simulator_rejects_bad_input(simulator_url):
    async with aiohttp.ClientSession() as http:
        async with http.post(
            simulator_url + "/simulator/api/send", json={"channel": "fax", "from": "1"}
        ) as r:
            assert r.status == 400
        async with http.post(
            simulator_url + "/simulator/api/send",
            json={"channel": "sms", "from": "12", "text": "x"},
        ) as r:
            assert r.status == 400 and "phone" in await r.text()
        async with http.post(simulator_url + "/simulator/api/send", data=b"{") as r:
            assert r.status == 400


def test_benkadi_serve_and_chat_from_a_fresh_directory(tmp_path):
    """The console commands as a user runs them: serve with no configuration, then chat."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "TWILIO_", "BENKADI_"))
    }
    benkadi = [sys.executable, "-m", "gateway.cli"]
    server = subprocess.Popen(
        [*benkadi, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = Output(server).wait_for("running")
        assert "simulator" in line
        assert (tmp_path / "var" / "benkadi.db").exists()
        chat = subprocess.run(
            [*benkadi, "chat", "--url", f"http://127.0.0.1:{port}", "--from", "76 00 00 01"],
            input="AIDE\n", capture_output=True, text=True, timeout=30, env=env,
        )  # fmt: skip
        assert chat.returncode == 0, chat.stderr
        assert "INSCRIPTION" in chat.stdout
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert server.returncode == 0


def test_chat_without_a_running_service_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "chat", "--url", f"http://127.0.0.1:{free_port()}"],
        input="", capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2 and "benkadi serve" in result.stderr


def test_configuration_error_names_the_key(tmp_path):
    env = dict(os.environ, TWILIO_ACCOUNT_SID="AC123")
    env.pop("TWILIO_AUTH_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "TWILIO_AUTH_TOKEN" in result.stderr


async def test_telegram_webhook_command_registers_url_and_secret(tmp_path):
    """`benkadi telegram-webhook`, as the README says to run it."""
    from gateway.fakes import FakeTelegramAPI

    fake = FakeTelegramAPI("42:abc")
    await fake.start()
    try:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))},
            "BENKADI_PUBLIC_URL": "https://benkadi.example.org",
            "TELEGRAM_BOT_TOKEN": "42:abc",
            "TELEGRAM_WEBHOOK_SECRET": "the_secret",
            "TELEGRAM_API_URL": fake.root_url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "telegram-webhook",
            env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        assert b"/webhooks/telegram" in out
    finally:
        await fake.stop()
    [params] = [params for method, params in fake.requests if method.lower() == "setwebhook"]
    assert params["url"] == "https://benkadi.example.org/webhooks/telegram"
    assert params["secret_token"] == "the_secret"


def test_provider_tokens_never_reach_the_logs(tmp_path):
    """The SDKs log request URLs (the bot token is in Telegram's) and headers at INFO."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "TWILIO_", "BENKADI_"))
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--dispatch", "inline"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = Output(server)
    try:
        output.wait_for("running")
        for channel, sender in (("sms", "76 00 00 02"), ("telegram", "1002")):
            subprocess.run(
                [sys.executable, "-m", "gateway.cli", "chat", "--url", f"http://127.0.0.1:{port}", "--channel", channel, "--from", sender],
                input="AIDE\n", capture_output=True, text=True, timeout=30, env=env, check=True,
            )  # fmt: skip
    finally:
        server.terminate()
    logged = output.text()
    assert "running" in logged  # the check below reads the whole output
    assert "SIMULATOR-token" not in logged and "Authorization" not in logged
    assert "twilio.async_http_client" not in logged


async def test_simulator_texts_the_moov_sim_of_its_fake_phone_and_is_answered_from_it(
    simulator_url,
):
    async with aiohttp.ClientSession() as http:
        payload = {"channel": "sms-moov", "from": "76 12 34 56", "text": "INSCRIPTION"}
        async with http.post(simulator_url + "/simulator/api/send", json=payload) as r:
            answer = await r.json()
            assert (answer["webhook_status"], answer["address"]) == (200, "+22376123456")
        messages = await _conversation(http, simulator_url, "sms-moov", "76123456", 1)
        assert [m["from"] for m in messages] == ["member", "benkadi"]
        assert "nom" in messages[1]["text"] and messages[1]["via"] == "SIM Moov +22365000000"
