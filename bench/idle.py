"""CPU of an idle `benkadi serve --dispatch process` (the web process and its child dispatcher),
and how soon a fresh reply goes out, for this checkout against an older commit in one run.

Each version runs as a real process on a fresh SQLite database, with Telegram, SMS and WhatsApp
configured against fake providers running in this process (their CPU is not counted). Idle:
nothing queued, nothing arriving, for --seconds, after a warm-up; the CPU is read from
/proc/<pid>/stat of the server and its child, as % of one core. Latency: --replies signed SMS
webhooks ("AIDE"), one a second, each timed from the webhook to the reply reaching fake Twilio.
The versions are measured one after the other, --repeat times, alternating.

    .venv/bin/python bench/idle.py [--base cdf9afa] [--seconds 20] [--repeat 2] [--replies 5]

`--base REV` is extracted with `git archive` into a temporary directory and run with this
checkout's virtualenv (its dependencies are the same). Results: bench/results/idle.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from twilio.request_validator import RequestValidator

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from gateway.fakes import FakeTelegramAPI, FakeTwilioAPI  # noqa: E402

TOKEN = "123456:BENCH-token_abc"
SID, AUTH = "AC" + "1" * 32, "f" * 32
FROM = "+22320000000"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def extract(rev: str) -> Path:
    target = Path(tempfile.mkdtemp(prefix="benkadi-base-"))
    archive = subprocess.run(
        ["git", "-C", str(HERE), "archive", rev], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


async def run_one(
    tree: Path, telegram: FakeTelegramAPI, twilio: FakeTwilioAPI, args: argparse.Namespace
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="benkadi-idle-"))
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "BENKADI_DATABASE_URL": f"sqlite:///{workdir / 'benkadi.db'}",
        "BENKADI_PORT": str(port),
        "BENKADI_PUBLIC_URL": public,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": "bench-secret",
        "TELEGRAM_API_URL": telegram.root_url,
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": AUTH,
        "TWILIO_FROM": FROM,
        "TWILIO_API_URL": twilio.base_url,
    }
    with (workdir / "serve.log").open("wb") as log:
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "serve", "--dispatch", "process",
            cwd=tree, env=env, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            await wait_up(http, public + "/healthz", server)
            await asyncio.sleep(args.warmup)  # imports, first claims, migrations' aftermath
            pids = [server.pid, *children(server.pid)]
            before = {pid: cpu_seconds(pid) for pid in pids}
            began = time.monotonic()
            await asyncio.sleep(args.seconds)
            wall = time.monotonic() - began
            used = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
            latencies = [
                await reply_latency(http, public, twilio, index) for index in range(args.replies)
            ]
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 20)
    return {
        "idle_cpu_percent_of_a_core": round(100 * sum(used.values()) / wall, 3),
        "web_process_percent": round(100 * used[server.pid] / wall, 3),
        "dispatcher_process_percent": round(
            100 * sum(v for pid, v in used.items() if pid != server.pid) / wall, 3
        ),
        "reply_latency_ms_median": round(1000 * statistics.median(latencies), 1),
        "reply_latency_ms_max": round(1000 * max(latencies), 1),
    }


async def wait_up(
    http: aiohttp.ClientSession, url: str, server: asyncio.subprocess.Process
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.returncode is not None:
            raise RuntimeError(f"benkadi serve exited with {server.returncode}")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with http.get(url) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError("benkadi serve did not come up")


async def reply_latency(
    http: aiohttp.ClientSession, public: str, twilio: FakeTwilioAPI, index: int
) -> float:
    """One SMS in, idle before it: seconds until its reply reaches fake Twilio."""
    await asyncio.sleep(1.0)
    sender = f"+2237{secrets.randbelow(10**7):07d}"
    sid = "SM" + secrets.token_hex(16)
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": SID, "From": sender,
              "To": FROM, "Body": "AIDE", "NumMedia": "0"}  # fmt: skip
    path = "/webhooks/twilio/sms"
    signature = RequestValidator(AUTH).compute_signature(public + path, params)
    began = time.monotonic()
    async with http.post(
        public + path, data=params, headers={"X-Twilio-Signature": signature}
    ) as response:
        assert response.status == 200, await response.text()
    await twilio.wait_for_messages(1, to=sender, timeout=30)
    return time.monotonic() - began


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    trees = {"this checkout": HERE}
    if args.base:
        trees = {f"base {args.base}": extract(args.base), **trees}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    async with FakeTelegramAPI(TOKEN) as telegram, FakeTwilioAPI(SID, AUTH) as twilio:
        for round_ in range(args.repeat):
            for name, tree in trees.items():
                result = await run_one(tree, telegram, twilio, args)
                print(f"round {round_ + 1} {name}: {result}", flush=True)
                runs[name].append(result)
    summary = {
        name: {key: round(statistics.median(r[key] for r in results), 3) for key in results[0]}
        for name, results in runs.items()
    }
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "setup": {
            "seconds_idle": args.seconds,
            "warmup": args.warmup,
            "repeat": args.repeat,
            "replies": args.replies,
            "channels": ["telegram", "sms", "whatsapp"],
            "dispatch": "process",
        },
        "median": summary,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="an older commit to measure in the same run")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--replies", type=int, default=5)
    parser.add_argument("--output", default=str(HERE / "bench" / "results" / "idle.json"))
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["median"], indent=2))


if __name__ == "__main__":
    main()
