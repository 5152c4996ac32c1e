"""Sending that cannot die quietly (issue 12, item 1): a channel that cannot start is retried
in the background while the others send; a dead or silent child dispatcher is restarted;
/readyz says when sending is not ready, and only an admin sees why."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import event, insert

from gateway.channels.base import Outgoing
from gateway.fakes import FakeTelegramAPI, FakeTwilioAPI
from gateway.sending.dispatcher import Dispatcher
from gateway.sending.supervision import Backoff
from gateway.settings import Settings
from storage.models import OutboxMessage
from storage.outbox.rows import reply_row
from storage.tokens import create_token
from storage.types import utcnow
from tests.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BENKADI_NUMBER,
    TOKEN,
    Harness,
    free_port,
    start_harness,
    stop_harness,
)

AWA = "+22376123456"
FAST = {"restart_backoff": 0.05, "restart_backoff_max": 0.2}


async def readyz(harness, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with harness.http.get(harness.url + "/readyz", headers=headers) as response:
        return response.status, await response.json()


async def until(check, timeout: float = 15.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("the condition never held")
        await asyncio.sleep(every)


@pytest.mark.unit
def test_backoff_doubles_to_its_ceiling_and_starts_over_after_a_healthy_run():
    backoff = Backoff(first=1, ceiling=8, healthy_after=60)
    assert [backoff.after(0) for _ in range(5)] == [1, 2, 4, 8, 8]
    assert backoff.after(61) == 1  # it ran a good while: a fresh failure, not the sixth


async def test_a_refused_telegram_token_leaves_sms_working_inline(tmp_path):
    harness, runner = await start_harness(
        f"sqlite:///{tmp_path / 'b.db'}", telegram_bot_token="999:refused-token", **FAST
    )
    try:
        admin = await create_token(harness.database, "ops", "admin")
        await harness.sms(AWA, "AIDE")
        [reply] = await harness.sms_replies(AWA, 1)
        assert "INSCRIPTION" in reply

        async def telegram_down():
            status, body = await readyz(harness, admin)
            state = body["channels"].get("telegram", {})
            return (status, body) if state.get("failures", 0) >= 2 else None

        status, body = await until(telegram_down)
        assert status == 200 and body["status"] == "degraded"
        assert body["channels"]["telegram"]["state"] == "down"
        assert body["channels"]["telegram"]["error"] == "InvalidToken"
        assert body["channels"]["sms"]["state"] == "up"
        assert await readyz(harness) == (200, {"status": "degraded"})  # the public: one word
    finally:
        await stop_harness(harness, runner)


async def test_telegram_unreachable_at_start_comes_up_when_it_is_back(tmp_path):
    port = free_port()
    harness, runner = await start_harness(
        f"sqlite:///{tmp_path / 'b.db'}", telegram_api_url=f"http://127.0.0.1:{port}", **FAST
    )
    late = FakeTelegramAPI(TOKEN)
    try:
        await harness.tg(4242, "AIDE")  # stored and queued while Telegram is out of reach
        await harness.sms(AWA, "AIDE")
        assert len(await harness.sms_replies(AWA, 1)) == 1
        admin = await create_token(harness.database, "ops", "admin")
        status, body = await readyz(harness, admin)
        assert status == 200 and body["status"] == "degraded"
        assert body["channels"]["telegram"]["oldest_due_seconds"] >= 0  # the reply waits
        assert "oldest_due_seconds" not in body["channels"]["sms"]  # nothing waits there
        assert body["database"] == "writable" and body["dispatcher"]["alive"] is True
        await late.start(port=port)
        [reply] = await late.wait_for_messages(1, chat_id=4242, timeout=15)
        assert "INSCRIPTION" in reply.text
        status, _ = await readyz(harness)
        assert status == 200
    finally:
        await stop_harness(harness, runner)
        await late.stop()


async def test_a_killed_child_dispatcher_is_restarted(tmp_path):
    harness, runner = await start_harness(
        f"sqlite:///{tmp_path / 'b.db'}", dispatch="process", restart_backoff=0.5
    )
    try:
        child = harness.dispatcher
        await until(lambda: _ready(harness))
        first = child._process.pid
        os.kill(first, signal.SIGKILL)
        await until(lambda: _not_ready(harness))  # dead: not ready until it is back
        await until(lambda: _ready(harness))
        assert child._process.pid != first and child.restarts == 1
        await harness.sms(AWA, "AIDE")
        [reply] = await harness.sms_replies(AWA, 1, timeout=15)
        assert "INSCRIPTION" in reply
    finally:
        await stop_harness(harness, runner)


async def test_a_hung_child_dispatcher_is_not_ready_then_replaced(tmp_path):
    harness, runner = await start_harness(
        f"sqlite:///{tmp_path / 'b.db'}",
        dispatch="process",
        heartbeat_seconds=0.2,
        restart_backoff=0.05,
    )
    try:
        child = harness.dispatcher
        await until(lambda: _ready(harness))
        hung = child._process.pid
        os.kill(hung, signal.SIGSTOP)  # alive, but no loop goes round: no heartbeat
        await until(lambda: _not_ready(harness))
        await until(lambda: _ready(harness))  # silent too long: killed, started again
        assert child._process.pid != hung
        await harness.sms(AWA, "AIDE")
        assert len(await harness.sms_replies(AWA, 1, timeout=15)) == 1
    finally:
        await stop_harness(harness, runner)


async def _ready(harness) -> bool:
    return (await readyz(harness))[0] == 200


async def _not_ready(harness) -> bool:
    status, body = await readyz(harness)
    return status == 503 and body == {"status": "not ready"}


class Hanging:
    """A channel whose provider never answers: the loop sending on it stalls."""

    name = "sms"

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, message: Outgoing) -> str:
        await asyncio.Event().wait()
        return ""


async def test_a_stalled_loop_is_named(sqlite_database):
    async with sqlite_database.transaction() as connection:
        row = reply_row(
            address_id=None, member_id=None, channel="sms", recipient=AWA, body="x",
            choices=None, now=utcnow(),
        )  # fmt: skip
        await connection.execute(insert(OutboxMessage.__table__), [row])
    dispatcher = Dispatcher(sqlite_database, {"sms": Hanging()}, stall=0.2)
    running = asyncio.create_task(dispatcher.run())
    try:
        await until(lambda: _stalled(dispatcher), timeout=5)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def _stalled(dispatcher: Dispatcher) -> bool:
    return dispatcher.health()["stalled"] == ["sms"]


async def test_an_idle_dispatcher_does_not_poll(sqlite_database):
    """Idle, it sleeps till the next row is due or it is woken: a few statements, not two
    claims a second per channel."""
    statements: list[str] = []
    event.listen(
        sqlite_database.engine.sync_engine,
        "before_cursor_execute",
        lambda *args: statements.append(args[2]),
    )
    names = ("sms", "whatsapp", "telegram")
    dispatcher = Dispatcher(sqlite_database, {name: Hanging() for name in names})
    running = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.sleep(1.6)
    finally:
        dispatcher.stop()
        await running
    claims = [s for s in statements if s.lstrip().upper().startswith("UPDATE OUTBOX")]
    assert len(claims) <= len(names), claims


@pytest.mark.parametrize("dispatch", ["inline", "process"])
async def test_serve_with_a_refused_token_keeps_sending_sms_and_logs_no_token(tmp_path, dispatch):
    """The real command: Telegram refuses the token at start. `benkadi serve` stays up (it used
    to exit inline, and the child to die), SMS goes out, and the log holds neither the token
    nor a traceback."""
    refused = "999:refused-token-Zq"
    async with FakeTelegramAPI(TOKEN) as telegram, FakeTwilioAPI(ACCOUNT_SID, AUTH_TOKEN) as twilio:
        port = free_port()  # after the fakes took theirs
        env = {
            **os.environ,
            "BENKADI_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
            "TELEGRAM_BOT_TOKEN": refused,
            "TELEGRAM_WEBHOOK_SECRET": "s3cret",
            "TELEGRAM_API_URL": telegram.root_url,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": BENKADI_NUMBER,
            "TWILIO_API_URL": twilio.base_url,
            "BENKADI_RESTART_BACKOFF": "0.1",
            "BENKADI_PORT": str(port),
        }
        log = tmp_path / "serve.log"
        with log.open("wb") as output:
            serve = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.cli", "serve", "--port", str(port),
                "--dispatch", dispatch, cwd=tmp_path, env=env, stdout=output, stderr=output,
            )  # fmt: skip
        try:
            settings = Settings.from_env(env)
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{port}"
                harness = Harness(url, settings, web.Application(), telegram, twilio, http)

                async def up():
                    try:
                        return (await readyz(harness))[0] == 200
                    except aiohttp.ClientError:
                        assert serve.returncode is None, log.read_text()
                        return False

                await until(up, timeout=30)
                assert (await harness.sms(AWA, "AIDE")).status == 200
                [reply] = await twilio.wait_for_messages(1, to=AWA, timeout=15)
                assert "INSCRIPTION" in reply.body
                await until(lambda: _retried(log), timeout=10)
            assert serve.returncode is None  # still serving
        finally:
            serve.send_signal(signal.SIGTERM)
            await asyncio.wait_for(serve.wait(), 20)
    written = log.read_text()
    assert "channel telegram could not start (InvalidToken)" in written
    assert refused not in written and "refused-token" not in written
    assert "Traceback" not in written, written


async def _retried(log) -> bool:
    return log.read_text().count("channel telegram could not start") >= 2


async def test_a_database_that_takes_no_write_is_not_ready(harness, monkeypatch):
    """Not ready within DATABASE_TIMEOUT, even when the app's own writes already wait inside
    SQLite for the lock (its busy timeout, 10 s): the probe is not waited out (it took 0.4 s or
    10 s depending on timing when it was)."""
    import sqlite3

    from gateway import health

    monkeypatch.setattr(health, "DATABASE_TIMEOUT", 0.3)

    async def ready() -> bool:
        return (await readyz(harness))[0] == 200

    await until(ready, timeout=5)  # on a loaded box a first probe can take over 0.3 s
    path = harness.settings.database_url.removeprefix("sqlite:///")
    # Another process holds the write lock. Taken from a thread: the app's own writes, which
    # it waits out, need this loop to finish.
    holder = sqlite3.connect(path, timeout=10, check_same_thread=False)
    await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")
    try:
        for _ in range(3):  # the first probe still waits on the lock: no second one queues
            asked = time.monotonic()
            assert await readyz(harness) == (503, {"status": "not ready"})
            assert time.monotonic() - asked < 2.0  # not the 10 s of SQLite's own wait
    finally:
        holder.rollback()
        holder.close()
    await until(ready, timeout=5)


async def test_a_crashed_loop_is_restarted_with_one_line_per_restart(caplog):
    from gateway.sending.supervision import supervised

    runs = []
    done = asyncio.Event()

    async def flaky() -> None:
        runs.append(time.monotonic())
        if len(runs) <= 2:
            raise RuntimeError(f"refused {TOKEN}")  # an SDK's message can carry the token
        done.set()

    await asyncio.wait_for(
        supervised("the dispatcher", flaky, done.is_set, backoff=Backoff(first=0.01)), 5
    )
    assert len(runs) == 3
    restarts = [r for r in caplog.records if "restarting" in r.getMessage()]
    assert [r.getMessage() for r in restarts] == [
        "the dispatcher stopped on RuntimeError; restarting in 0 s",
        "the dispatcher stopped on RuntimeError; restarting in 0 s",
    ]
    assert all(TOKEN not in r.getMessage() for r in restarts)


async def test_with_dispatch_off_readiness_follows_the_dispatcher_run_on_its_own(tmp_path):
    """`serve --dispatch off`: /readyz used to count the dispatcher alive whatever it did. Now
    the separate `benkadi dispatch` writes heartbeats to the database: not ready before the
    first, ready while they come, not ready again once it is killed."""
    url = f"sqlite:///{tmp_path / 'b.db'}"
    harness, runner = await start_harness(url, dispatch="off", heartbeat_seconds=0.2)
    env = {
        **os.environ,
        "BENKADI_DATABASE_URL": url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": BENKADI_NUMBER,
        "TWILIO_API_URL": harness.twilio.base_url,
        "BENKADI_HEARTBEAT_SECONDS": "0.2",
    }
    dispatch = None
    try:
        admin = await create_token(harness.database, "ops", "admin")
        assert await readyz(harness) == (503, {"status": "not ready"})  # nothing sends yet
        dispatch = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "dispatch", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await until(lambda: _ready(harness), timeout=30)
        _, body = await readyz(harness, admin)
        assert body["dispatcher"]["alive"] is True and "sms" in body["channels"]
        await harness.sms(AWA, "AIDE")
        [reply] = await harness.twilio.wait_for_messages(1, to=AWA, timeout=15)
        assert "INSCRIPTION" in reply.body
        dispatch.kill()
        await dispatch.wait()
        await until(lambda: _not_ready(harness))  # silent six beats: not ready
    finally:
        if dispatch is not None and dispatch.returncode is None:
            dispatch.kill()
            await dispatch.wait()
        await stop_harness(harness, runner)
