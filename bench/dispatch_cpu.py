"""CPU per SMS the dispatcher sends, against the raw twilio SDK sending the same messages.

Both send N messages to a fake Twilio Messages API running in another process (so its CPU is not
counted), 64 at a time, with no rate limit: the dispatcher claims, sends through the Twilio
channel and records each batch on SQLite; the raw SDK only calls `messages.create_async`. The
ratio of the two CPU times per message is what the dispatcher adds to the SDK's own cost, and it
holds better from one machine to the next than milliseconds do (they vary up to 2x here).

    .venv/bin/python bench/dispatch_cpu.py [--messages 6000] [--repeat 3] [--tree PATH]

`--tree` measures another checkout (e.g. a worktree of the previous commit, with its own
.venv), so that two versions are compared in one run. Results: bench/results/dispatch_cpu.json
(for this checkout only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
SID, TOKEN, FROM = "AC" + "0" * 32, "secret-token", "+15005550006"
BODY = "Bonjour, ceci est un message de test de la coordination."
CONCURRENCY = 64

FAKE = """
import asyncio, sys
sys.path.insert(0, sys.argv[2])
from gateway.fakes import FakeTwilioAPI
async def serve():
    fake = FakeTwilioAPI({sid!r}, {token!r})
    await fake.start(port=int(sys.argv[1]))
    await asyncio.Event().wait()
asyncio.run(serve())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


async def measure(tree: str, count: int, port: int) -> dict[str, Any]:
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    from gateway.app import build_channels
    from gateway.settings import Settings
    from storage.database import Database
    from storage.migrate import upgrade
    from storage.models import OutboxMessage

    try:
        from gateway.sending.dispatcher import Dispatcher
    except ImportError:  # a checkout from before the rooms (--tree)
        from gateway.dispatcher import Dispatcher  # type: ignore[import-not-found,no-redef]

    url = f"sqlite:///{tempfile.mkdtemp()}/dispatch.db"
    database = Database(url)
    await upgrade(database.engine)
    now = datetime.now(UTC)
    rows = [
        dict(channel="sms", recipient=f"+2237{i:07d}", body=BODY, priority=1, status="queued",
             attempts=0, next_attempt_at=now, created_at=now, updated_at=now)
        for i in range(count)
    ]  # fmt: skip
    async with database.transaction() as connection:
        await connection.execute(OutboxMessage.__table__.insert(), rows)
    settings = Settings(
        database_url=url, public_url="http://127.0.0.1:1", twilio_account_sid=SID,
        twilio_auth_token=TOKEN, twilio_from=FROM, twilio_api_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    sms = build_channels(settings)["sms"]
    await sms.start()
    dispatcher = Dispatcher(database, {"sms": sms}, rates={"sms": None}, concurrency=CONCURRENCY)
    cpu, wall, sent = time.process_time(), time.perf_counter(), 0
    while handled := await dispatcher.dispatch_channel("sms"):
        sent += handled
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await sms.stop()
    await database.dispose()

    http = AsyncTwilioHttpClient(timeout=15)
    client = Client(SID, TOKEN, http_client=http)
    client.api.base_url = f"http://127.0.0.1:{port}"
    gate = asyncio.Semaphore(CONCURRENCY)
    callback = "http://127.0.0.1:1/webhooks/twilio/status?id=1"

    async def one(index: int) -> None:
        async with gate:
            await client.messages.create_async(
                to=f"+2237{index:07d}", from_=FROM, body=BODY, status_callback=callback
            )

    raw_cpu, raw_wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    raw_cpu, raw_wall = time.process_time() - raw_cpu, time.perf_counter() - raw_wall
    await http.close()
    return {
        "sent": sent,
        "dispatcher_cpu_ms": cpu * 1000 / sent,
        "dispatcher_wall_ms": wall * 1000 / sent,
        "raw_cpu_ms": raw_cpu * 1000 / count,
        "raw_wall_ms": raw_wall * 1000 / count,
        "ratio": (cpu / sent) / (raw_cpu / count),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tree", default=str(HERE), help="the checkout to measure")
    parser.add_argument("--output", default=str(HERE / "bench" / "results" / "dispatch_cpu.json"))
    args = parser.parse_args()
    sys.path.insert(0, args.tree)
    os.chdir(args.tree)
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-c", FAKE.format(sid=SID, token=TOKEN), str(port), args.tree]
    )
    try:
        wait_for(port)
        runs = []
        for _ in range(args.repeat):
            run = asyncio.run(measure(args.tree, args.messages, port))
            runs.append(run)
            print(
                f"dispatcher {run['dispatcher_cpu_ms']:.3f} ms CPU per SMS, "
                f"raw SDK {run['raw_cpu_ms']:.3f} ms, ratio {run['ratio']:.2f}",
                flush=True,
            )
    finally:
        fake.terminate()
        fake.wait()
    middle = len(runs) // 2
    summary = {
        "median_ratio": sorted(r["ratio"] for r in runs)[middle],
        "median_dispatcher_cpu_ms": sorted(r["dispatcher_cpu_ms"] for r in runs)[middle],
        "median_raw_cpu_ms": sorted(r["raw_cpu_ms"] for r in runs)[middle],
    }
    print(f"median: dispatcher / raw SDK CPU per SMS = {summary['median_ratio']:.2f}")
    if Path(args.tree).resolve() == HERE:
        result = {
            "benchmark": "dispatch_cpu",
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "messages": args.messages,
            "runs": runs,
            "summary": summary,
        }
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
