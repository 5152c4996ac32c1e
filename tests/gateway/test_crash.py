"""A `benkadi serve` killed with SIGKILL in the middle of a broadcast, then restarted.

The outbox is the truth of what was sent: rows a dead process had claimed come back when their
lease ends, so every member still gets the broadcast once; only the rows that were in flight at
the kill (claimed, maybe handed to the provider, never recorded) can go out a second time.

The service runs as a real separate process (`python -m gateway.cli serve --dispatch inline`)
sending with the real SDKs to fake Twilio and Telegram servers running in this test's loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import aiohttp
from sqlalchemy import select

from bench.seed import seed_members
from broadcasts import service
from broadcasts.model import Draft
from gateway.fakes import FakeTelegramAPI, FakeTwilioAPI
from gateway.sending.dispatcher import PIPELINE_DEPTH, Dispatcher
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Address
from tests.broadcasts.conftest import BAMBARA
from tests.harness import ACCOUNT_SID, AUTH_TOKEN, BENKADI_NUMBER, TOKEN, free_port

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 5_000
TELEGRAM_SHARE = 0.1  # these members also have Telegram, and are reached there
KILL_AT = 0.45  # share of the members reached when the server is killed
SMS_RATE, TELEGRAM_RATE = 1000, 50  # Telegram still sending when the kill comes
LEASE_SECONDS = 2
BATCH_SIZE = inspect.signature(Dispatcher).parameters["batch_size"].default
CHANNELS = ("sms", "whatsapp", "telegram")


class Server:
    """`benkadi serve` as a child process; its output goes to a log file kept for failures."""

    def __init__(self, env: dict[str, str], port: int, workdir: Path) -> None:
        self.env, self.port, self.workdir = env, port, workdir
        self.log = workdir / "server.log"
        self.url = f"http://127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.port),
                "--dispatch", "inline",
                cwd=self.workdir, env=self.env, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip

    async def wait_healthy(self, http: aiohttp.ClientSession, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.returncode is not None:
                raise AssertionError(f"server exited with {self.process.returncode}{self.tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                async with http.get(self.url + "/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
        raise AssertionError(f"server not healthy within {timeout} s{self.tail()}")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            process.kill()
            await process.wait()

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\nserver log tail:\n" + "\n".join(text.splitlines()[-lines:])


def in_flight(path: Path, broadcast_id: int) -> dict[str, int]:
    """Rows claimed under a lease and not yet recorded: what the dead process held."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return dict(
            connection.execute(
                "SELECT channel, count(*) FROM outbox WHERE broadcast_id = ? "
                "AND status = 'queued' AND lease_until IS NOT NULL GROUP BY channel",
                (broadcast_id,),
            ).fetchall()
        )
    finally:
        connection.close()


async def wait_until_sent(database: Database, broadcast_id: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        status = await service.get_status(database, broadcast_id)
        if "queued" not in status["totals"] and status["status"] == "sent":
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"broadcast not finished within {timeout} s: {status.get('totals')}")


async def test_sigkill_mid_broadcast_sends_everyone_once_but_what_was_in_flight(tmp_path):
    path = tmp_path / "benkadi.db"
    database_url = f"sqlite:///{path}"
    database = Database(database_url)
    twilio = FakeTwilioAPI(ACCOUNT_SID, AUTH_TOKEN)
    telegram = FakeTelegramAPI(TOKEN)
    await twilio.start()
    await telegram.start()
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "TELEGRAM_", "BENKADI_"))
    }
    env |= {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "BENKADI_DATABASE_URL": database_url,
        "BENKADI_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "BENKADI_SMS_RATE": str(SMS_RATE),
        "BENKADI_TELEGRAM_RATE": str(TELEGRAM_RATE),
        "BENKADI_LEASE_SECONDS": str(LEASE_SECONDS),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": BENKADI_NUMBER,
        "TWILIO_API_URL": twilio.base_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": "crash-test-secret",
        "TELEGRAM_API_URL": telegram.root_url,
    }
    server = Server(env, port, tmp_path)
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))
    try:
        await upgrade(database.engine)
        seeded = await seed_members(database, MEMBERS, telegram_share=TELEGRAM_SHARE)
        async with database.sessions() as session:
            owner = {
                (channel, address): member_id
                for channel, address, member_id in await session.execute(
                    select(Address.channel, Address.address, Address.member_id)
                )
            }

        await server.start()
        await server.wait_healthy(http)
        broadcast_id = await service.create(
            database,
            Draft(texts={"fr": "Rencontre à Bamako le 25 novembre.", "bm": BAMBARA}),
            "t",
        )
        queued = await service.send_now(database, broadcast_id, "t", enabled_channels=CHANNELS)
        assert queued == MEMBERS

        # Kill it once roughly KILL_AT of the members have been reached.
        deadline = time.monotonic() + 30
        while len(twilio.sent) + len(telegram.sent) < KILL_AT * MEMBERS:
            assert server.process.returncode is None, server.tail()
            assert time.monotonic() < deadline, f"sending too slow: {len(twilio.sent)}"
            await asyncio.sleep(0.005)
        await server.kill()
        received_at_kill = len(twilio.sent) + len(telegram.sent)
        held = in_flight(path, broadcast_id)
        await asyncio.sleep(0.2)  # nothing more arrives from a dead process
        assert len(twilio.sent) + len(telegram.sent) == received_at_kill
        assert 0.1 * MEMBERS < received_at_kill < 0.9 * MEMBERS, received_at_kill

        await server.start()
        status = await wait_until_sent(database, broadcast_id, timeout=30)
    finally:
        await server.stop()
        await http.close()
        await twilio.stop()
        await telegram.stop()
        await database.dispose()

    received = collections.Counter(owner["sms", message.to] for message in twilio.sent)
    received.update(owner["telegram", str(message.chat_id)] for message in telegram.sent)
    duplicates = {
        "sms": _repeated(message.to for message in twilio.sent),
        "telegram": _repeated(str(message.chat_id) for message in telegram.sent),
    }
    in_flight_total = sum(held.values())
    report = (
        f"seeded {seeded.members} members ({seeded.telegram_addresses} on Telegram); "
        f"received at kill {received_at_kill}; in flight at kill {held}; "
        f"duplicates {duplicates}; totals {status['totals']}"
    )
    print(report)

    assert set(received) == set(range(seeded.first_member_id, seeded.last_member_id + 1)), report
    assert max(received.values()) <= 2, report  # nobody got it three times
    assert sum(1 for n in received.values() if n == 2) == sum(duplicates.values()), report
    for channel, count in duplicates.items():
        # Each channel has at most PIPELINE_DEPTH batches claimed at once.
        assert count <= held.get(channel, 0) <= PIPELINE_DEPTH * BATCH_SIZE, report
    assert sum(duplicates.values()) <= in_flight_total, report
    assert status["totals"] == {"sent": MEMBERS}, report
    assert status["counts"]["telegram"] == {"sent": seeded.telegram_addresses}, report
    assert len(twilio.sent) + len(telegram.sent) == MEMBERS + sum(duplicates.values()), report


def _repeated(recipients) -> int:
    """How many recipients got more than one message."""
    return sum(1 for n in collections.Counter(recipients).values() if n > 1)
