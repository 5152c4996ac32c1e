"""SMS over Android phones: aggregate rate against the sum of the phones' limits, failover time,
and CPU per message of the Android route against the Twilio route, in the same run.

Each fake phone (gateway.fakes.FakeAndroidGateway, one Orange SIM, its limit enforced as a
sliding window: a send over it is a 429, a "refusal") and the fake Twilio API run in their own
subprocesses, so their CPU is not counted. The dispatcher, the route layer and the official
android-sms-gateway client run here on SQLite, as `benkadi dispatch` would.

1. **Aggregate.** N phones at L SMS/min each: M messages (about `--seconds` of sending at the sum
   of limits) through the route layer; achieved rate ÷ (N·L) and the phones' refusals.
2. **Failover.** The same, and one phone's process is killed a third of the way: the time from
   the kill until the route layer has marked it down and the messages still due all go out on
   the others, with the number of messages sent twice (should be 0).
3. **CPU per message.** M messages with no rate limit through the route layer (phones) and then
   through the Twilio channel alone; process CPU per message and the ratio.

    .venv/bin/python bench/android.py [--phones 3] [--per-minute 1200] [--seconds 10]

Results: bench/results/android.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.dispatch_cpu import FAKE as FAKE_TWILIO  # noqa: E402
from bench.dispatch_cpu import SID, TOKEN, free_port, wait_for  # noqa: E402

BODY = "Bonjour, ceci est un message de test de la coordination."
PHONE = """
import asyncio, sys
sys.path.insert(0, sys.argv[2])
from gateway.fakes import FakeAndroidGateway
async def serve():
    phone = FakeAndroidGateway(password="pw", signing_key="k", sims={{1: "+2237000000{n}"}},
                               limit={limit}, window={window}, auto_report=False)
    phone.port = int(sys.argv[1])
    await phone.start()
    await asyncio.Event().wait()
asyncio.run(serve())
"""


def start_phone(n: int, per_minute: float) -> tuple[subprocess.Popen, int]:
    """A phone whose window is a second (or 1/rate), its limit the rate in that window."""
    per_second = per_minute / 60
    window = max(1.0, 1.0 / per_second)
    limit = max(1, int(per_second * window))
    port = free_port()
    code = PHONE.format(n=n, limit=limit, window=window)
    process = subprocess.Popen([sys.executable, "-c", code, str(port), str(HERE)])
    wait_for(port)
    return process, port


async def stats(http: aiohttp.ClientSession, port: int) -> dict[str, Any]:
    async with http.get(f"http://127.0.0.1:{port}/_fake/stats") as response:
        return await response.json()


async def seeded(count: int, ports: list[int], per_minute: float):
    from storage import gateways as store
    from storage.database import Database
    from storage.gateways import SimSpec
    from storage.migrate import upgrade
    from storage.models import OutboxMessage

    database = Database(f"sqlite:///{tempfile.mkdtemp()}/android.db")
    await upgrade(database.engine)
    for n, port in enumerate(ports):
        await store.add_gateway(
            database, name=f"phone-{n}", base_url=f"http://127.0.0.1:{port}", login="sms",
            password="pw", signing_key="k",
            sims_=[SimSpec(1, f"+2237000000{n}", "orange", 0.01, per_minute)],
        )  # fmt: skip
    now = datetime.now(UTC)
    rows = [
        dict(channel="sms", recipient=f"+2237{i:07d}", body=BODY, priority=1, status="queued",
             attempts=0, next_attempt_at=now, created_at=now, updated_at=now)
        for i in range(count)
    ]  # fmt: skip
    async with database.transaction() as connection:
        await connection.execute(OutboxMessage.__table__.insert(), rows)
    return database


async def drain(dispatcher, database, count: int, timeout: float) -> float:
    """Run the dispatcher until `count` rows are sent; the wall time it took."""
    from sqlalchemy import func, select

    from storage.models import OutboxMessage

    task = asyncio.create_task(dispatcher.run())
    started = time.perf_counter()
    deadline = started + timeout
    try:
        while time.perf_counter() < deadline:
            async with database.sessions() as session:
                done = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == "sent")
                )
            if done >= count:
                return time.perf_counter() - started
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{done} of {count} sent in {timeout} s")
    finally:
        dispatcher.stop()
        await task


def dispatcher_for(database, channels, rate: float | None):
    from gateway.sending.dispatcher import Dispatcher

    return Dispatcher(
        database, channels, rates={"sms": rate}, idle_interval=0.05, retry_base=0.05,
        lease=timedelta(seconds=30),
    )  # fmt: skip


async def aggregate(phones: int, per_minute: float, seconds: float, kill: bool) -> dict[str, Any]:
    from gateway.sending.routes import SmsRouter

    started = [start_phone(n, per_minute) for n in range(phones)]
    ports = [port for _, port in started]
    total = phones * per_minute / 60
    count = int(total * seconds)
    database = await seeded(count, ports, per_minute)
    router = SmsRouter(database, check_every=3600)
    await router.start()
    dispatcher = dispatcher_for(database, {"sms": router}, rate=total * 2)
    result: dict[str, Any] = {"phones": phones, "per_minute": per_minute, "messages": count}
    async with aiohttp.ClientSession() as http:
        killer = None
        if kill:
            victim, _ = started[-1]
            victim_id = max(router.gateways)

            async def kill_later() -> None:
                await asyncio.sleep(seconds / 3)
                before = await stats(http, ports[-1])
                victim.kill()
                killed = time.perf_counter()
                while victim_id not in router._down:  # noqa: ASYNC110 - polling its state
                    await asyncio.sleep(0.01)
                result["victim_sent_before_kill"] = before["sent"]
                result["failover_seconds"] = round(time.perf_counter() - killed, 3)

            killer = asyncio.create_task(kill_later())
        wall = await drain(dispatcher, database, count, timeout=seconds * 10 + 30)
        if killer is not None:
            await killer
        alive = [port for n, port in enumerate(ports) if not (kill and n == phones - 1)]
        seen = [await stats(http, port) for port in alive]
    await router.stop()
    await database.dispose()
    for process, _ in started:
        process.kill()
        process.wait()
    result |= {
        "wall_seconds": round(wall, 3),
        "achieved_per_second": round(count / wall, 2),
        "sum_of_limits_per_second": round(total, 2),
        "share_of_limits": round(count / wall / total, 3),
        "refusals": sum(s["refused"] for s in seen),
    }
    if kill:
        recipients = [to for s in seen for to in s["to"]]
        result["sent_twice_among_survivors"] = len(recipients) - len(set(recipients))
    return result


async def cpu(count: int) -> dict[str, Any]:
    """CPU per message: the route layer over phones with no limit, then Twilio alone."""
    from gateway.app import build_channels
    from gateway.sending.routes import SmsRouter
    from gateway.settings import Settings

    started = [start_phone(n, 600_000) for n in range(2)]
    database = await seeded(count, [port for _, port in started], 600_000)
    router = SmsRouter(database, check_every=3600)
    await router.start()
    before = time.process_time()
    await drain(dispatcher_for(database, {"sms": router}, None), database, count, 300)
    android_cpu = (time.process_time() - before) / count
    await router.stop()
    await database.dispose()
    for process, _ in started:
        process.kill()

    port = free_port()
    fake = subprocess.Popen(  # noqa: ASYNC220 - started before the measure, as the phones
        [sys.executable, "-c", FAKE_TWILIO.format(sid=SID, token=TOKEN), str(port), str(HERE)]
    )
    wait_for(port)
    database = await seeded(count, [], 1)
    settings = Settings(
        database_url=database.url, public_url="http://127.0.0.1:1", twilio_account_sid=SID,
        twilio_auth_token=TOKEN, twilio_from="+15005550006",
        twilio_api_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    sms = build_channels(settings)["sms"]
    await sms.start()
    before = time.process_time()
    await drain(dispatcher_for(database, {"sms": sms}, None), database, count, 300)
    twilio_cpu = (time.process_time() - before) / count
    await sms.stop()
    await database.dispose()
    fake.kill()
    return {
        "messages": count,
        "android_cpu_ms": round(android_cpu * 1000, 3),
        "twilio_cpu_ms": round(twilio_cpu * 1000, 3),
        "ratio": round(android_cpu / twilio_cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=3)
    parser.add_argument("--per-minute", type=float, default=1200.0, help="each phone's limit")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cpu-messages", type=int, default=3000)
    parser.add_argument("--output", default=str(HERE / "bench" / "results" / "android.json"))
    args = parser.parse_args()
    runs = {
        "aggregate": asyncio.run(aggregate(args.phones, args.per_minute, args.seconds, False)),
        "failover": asyncio.run(aggregate(args.phones, args.per_minute, args.seconds, True)),
        "cpu": asyncio.run(cpu(args.cpu_messages)),
    }
    for name, run in runs.items():
        print(name, json.dumps(run), flush=True)
    result = {
        "benchmark": "android",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        **runs,
    }
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
