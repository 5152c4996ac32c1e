"""Sending from a child process: the web process takes webhooks in, the child sends."""

from __future__ import annotations

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
