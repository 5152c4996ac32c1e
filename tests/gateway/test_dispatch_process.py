"""Sending from a child process: the web process takes webhooks in, the child sends."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from storage.database import Database
from storage.migrate import upgrade
from tests.harness import start_harness, stop_harness


async def test_replies_go_out_from_a_child_dispatcher(tmp_path):
    harness, runner = await start_harness(
        f"sqlite:///{tmp_path / 'benkadi.db'}", dispatch="process"
    )
    try:
        process = harness.dispatcher._process
        assert process is not None and process.returncode is None
        await harness.sms("+22376123456", "AIDE")
        await harness.tg(4001, "AIDE")
        [sms] = await harness.twilio.wait_for_messages(1, to="+22376123456", timeout=15)
        [telegram] = await harness.telegram.wait_for_messages(1, chat_id=4001, timeout=15)
        assert "INSCRIPTION" in sms.body and "INSCRIPTION" in telegram.text
        await harness.settle()
        assert {row.status for row in await harness.outbox()} == {"sent"}
    finally:
        await stop_harness(harness, runner)
    assert process.returncode == 0  # it left when its parent closed the pipe


async def test_dispatch_with_nothing_to_send_with_says_it_waits_for_a_route(tmp_path):
    """No Telegram, no Twilio, no phone: `benkadi dispatch` says so and waits (a phone added
    later is used without a restart), rather than exiting; SIGTERM ends it cleanly."""
    url = f"sqlite:///{tmp_path / 'benkadi.db'}"
    database = Database(url)
    await upgrade(database.engine)
    await database.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env["BENKADI_DATABASE_URL"] = url
    benkadi = Path(sys.executable).parent / "benkadi"
    process = await asyncio.create_subprocess_exec(
        str(benkadi), "dispatch", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(30):
            while b"nothing to send with yet" not in (line := await process.stderr.readline()):
                assert line, "it ended without saying it waits"
        assert b"benkadi gateways add" in line
        await asyncio.sleep(0.5)
        assert process.returncode is None  # still there, waiting for a route
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
    assert code == 0
