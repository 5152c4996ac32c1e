"""Inbound SMS webhook benchmark: a running `benkadi serve` on SQLite, driven from outside.

Three processes on 127.0.0.1 only:

* a fake Twilio Messages API (gateway.fakes.FakeTwilioAPI) in its own subprocess, which receives
  the replies Benkadi's dispatcher sends with the real twilio SDK;
* `benkadi serve` (python -m gateway.cli serve) on a fresh SQLite database in a temp directory;
* this process: an open-loop load generator. Request i of a step is due at t0 + i/L and is sent
  whether or not earlier ones were answered; its latency runs from that due time (no coordinated
  omission), so a generator or server falling behind shows up as latency.

Every request is a correctly signed Twilio inbound-SMS webhook. Senders walk through the SMS
registration dialogue (INSCRIPTION, name, organisation, region, cercle, themes, language, consent,
confirm) with ~30% AIDE mixed in; a sender never has two messages in flight (its next message waits
for the previous answer, the wait counting as latency).

    .venv/bin/python bench/inbound.py                 # 100..1000 req/s, 5 s per step
    .venv/bin/python bench/inbound.py --quick         # 2 s per step
    .venv/bin/python bench/inbound.py --rates 200,500 --seconds 10 --profile /tmp/server.txt

Results: a table on stdout and bench/results/inbound.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "inbound.json"
WEBHOOK_PATH = "/webhooks/twilio/sms"
BENKADI_NUMBER = "+22320000000"
DEFAULT_RATES = (100, 200, 400, 600, 800, 1000)
REGISTRATION = (
    "INSCRIPTION",
    "Awa Traoré",
    "AMSS",
    "Sikasso",
    "Koutiala",
    "1 3",
    "1",  # language: français
    "1",  # consent: oui
    "1",  # confirm
)
AIDE_SHARE = 0.3
SENDER_POOL = 20_000
# "Sustained": achieved ≥ 95% of offered, no errors, p99 within this bound.
SUSTAINED_SHARE, SUSTAINED_P99_MS = 0.95, 250.0
TARGET_RATE, TARGET_P99_AT, TARGET_P99_MS = 500, 200, 100.0


# --- the fake Twilio subprocess ------------------------------------------------------------------


async def _run_fake_twilio(port: int, control_port: int, sid: str, token: str) -> None:
    from aiohttp import web

    from gateway.cli.signals import stop_event
    from gateway.fakes import FakeTwilioAPI

    fake = FakeTwilioAPI(sid, token)
    await fake.start(port=port)

    async def count(_request: web.Request) -> web.Response:
        return web.json_response({"sent": len(fake.sent), "requests": len(fake.requests)})

    control = web.Application()
    control.router.add_get("/count", count)
    runner = web.AppRunner(control, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", control_port).start()
    stop = stop_event()
    await stop.wait()
    await runner.cleanup()
    await fake.stop()


# --- subprocess helpers --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminate(proc: subprocess.Popen | None, grace: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


async def wait_http_ok(
    http: aiohttp.ClientSession, url: str, proc: subprocess.Popen, timeout: float
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                if response.status == 200:
                    return await response.json()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- requests ------------------------------------------------------------------------------------


@dataclass
class Prepared:
    body: bytes
    headers: dict[str, str]
    text: str


class Senders:
    """Malian numbers walking through the registration dialogue, one message in flight each."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._numbers = [f"+2237{n:07d}" for n in self.rng.sample(range(10**7), SENDER_POOL)]
        self._fresh = 0
        self.idle: collections.deque[list] = collections.deque()  # [number, position]
        self.started = self.finished = 0

    def take(self) -> list:
        if self.idle:
            return self.idle.popleft()
        number = self._numbers[self._fresh % SENDER_POOL]  # wraps only after 20,000 senders
        self._fresh += 1
        self.started += 1
        return [number, 0]

    def plan(self, count: int, slots: int) -> list[tuple[str, str]]:
        """(sender, text) for `count` requests; request i and i + slots share a sender slot."""
        active = [self.take() for _ in range(min(slots, count))]
        plan = []
        for i in range(count):
            slot = i % len(active)
            sender = active[slot]
            if self.rng.random() < AIDE_SHARE:
                plan.append((sender[0], "AIDE"))
                continue
            plan.append((sender[0], REGISTRATION[sender[1]]))
            sender[1] += 1
            if sender[1] == len(REGISTRATION):
                self.finished += 1
                active[slot] = self.take()
        self.idle.extendleft(reversed(active))  # unfinished dialogues continue next step
        return plan


def prepare(plan: list[tuple[str, str]], url: str, sid: str, token: str) -> list[Prepared]:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(token)
    prepared = []
    for sender, text in plan:
        message_sid = "SM" + uuid.uuid4().hex
        params = {
            "ToCountry": "ML",
            "ToState": "",
            "SmsMessageSid": message_sid,
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": message_sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": text,
            "FromCountry": "ML",
            "To": BENKADI_NUMBER,
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": message_sid,
            "AccountSid": sid,
            "From": sender,
            "ApiVersion": "2010-04-01",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, params),
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": "TwilioProxy/1.1",
        }
        prepared.append(Prepared(urlencode(params).encode(), headers, text))
    return prepared


# --- one step of load ----------------------------------------------------------------------------


@dataclass
class Step:
    offered_rps: float
    seconds: float
    requests: int
    ok: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    achieved_rps: float = 0.0
    wall_s: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    send_lag_p99_ms: float = 0.0  # due time → request handed to aiohttp (generator health)
    server_cpu: float | None = None  # share of one core during the step
    fake_twilio_cpu: float | None = None
    generator_cpu: float | None = None
    replies_sent_during_step: int | None = None


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def run_step(
    http: aiohttp.ClientSession,
    url: str,
    prepared: list[Prepared],
    rate: float,
    slots: int,
    timeout: float,
) -> tuple[list[float], list[float], collections.Counter, float, float]:
    loop = asyncio.get_running_loop()
    count = len(prepared)
    done = [asyncio.Event() for _ in range(count)]
    latencies = [0.0] * count
    lags = [0.0] * count
    outcomes: collections.Counter = collections.Counter()
    last_end = 0.0
    t0 = loop.time() + 0.05

    async def one(i: int) -> None:
        nonlocal last_end
        due = t0 + i / rate
        request = prepared[i]
        try:
            async with asyncio.timeout_at(due + timeout):
                if i >= slots:  # the same sender's previous message must be answered first
                    await done[i - slots].wait()
                lags[i] = loop.time() - due
                async with http.post(url, data=request.body, headers=request.headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        outcome = f"http {response.status}"
                    elif b"<Response" not in body:
                        outcome = "not TwiML"
                    else:
                        outcome = "ok"
        except TimeoutError:
            outcome = "timeout"
        except (aiohttp.ClientError, OSError) as error:
            outcome = type(error).__name__
        finally:
            end = loop.time()
            done[i].set()
        latencies[i] = end - due
        last_end = max(last_end, end)
        outcomes[outcome] += 1

    tasks = []
    i = 0
    while i < count:
        now = loop.time()
        while i < count and t0 + i / rate <= now:
            tasks.append(asyncio.create_task(one(i)))
            i += 1
        if i < count:
            await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
    await asyncio.gather(*tasks)
    return latencies, lags, outcomes, t0, last_end


# --- the run -------------------------------------------------------------------------------------


async def fake_count(http: aiohttp.ClientSession, control_url: str) -> int | None:
    with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError):
        async with http.get(control_url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return (await response.json())["sent"]
    return None


def database_counts(path: Path) -> dict:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:

        def scalar(sql: str) -> int:
            return connection.execute(sql).fetchone()[0]

        return {
            "inbound_messages": scalar("SELECT count(*) FROM inbound_messages"),
            "outbox_by_status": dict(
                connection.execute("SELECT status, count(*) FROM outbox GROUP BY status")
            ),
            "members": scalar("SELECT count(*) FROM members"),
        }
    finally:
        connection.close()


def machine_facts() -> dict:
    model = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "aiohttp": aiohttp.__version__,
        "sqlite": sqlite3.sqlite_version,
    }


def code_version() -> dict:
    """The commit measured, and which files differed from it (work in progress is common)."""

    def git(*command: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *command], cwd=ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.rstrip("\n") if done.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "HEAD"),
        "modified": [line[3:] for line in status.splitlines()] if status else [],
    }


def table(steps: list[Step]) -> str:
    head = (
        f"{'offered/s':>9} {'achieved/s':>10} {'requests':>8} {'errors':>6} {'p50 ms':>8} "
        f"{'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lag99':>7} {'srv cpu':>7} {'gen cpu':>7}"
    )
    rows = [head, "-" * len(head)]
    for s in steps:
        srv = f"{s.server_cpu:.0%}" if s.server_cpu is not None else "-"
        gen = f"{s.generator_cpu:.0%}" if s.generator_cpu is not None else "-"
        rows.append(
            f"{s.offered_rps:>9.0f} {s.achieved_rps:>10.1f} {s.requests:>8} {s.errors:>6} "
            f"{s.p50_ms:>8.1f} {s.p90_ms:>8.1f} {s.p99_ms:>8.1f} {s.max_ms:>8.1f} "
            f"{s.send_lag_p99_ms:>7.1f} {srv:>7} {gen:>7}"
        )
    return "\n".join(rows)


def start_profiler(pid: int, output: str, seconds: float) -> subprocess.Popen | None:
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if not py_spy:
        print("bench: --profile needs py-spy (.venv/bin/pip install py-spy); not profiling")
        return None
    fmt = "flamegraph" if output.endswith(".svg") else "raw"
    command = [py_spy, "record", "--pid", str(pid), "-o", output, "--format", fmt, "--gil"]
    command += ["--nonblocking", "--duration", str(math.ceil(seconds))]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(profiler: subprocess.Popen | None) -> None:
    """py-spy writes its output on SIGINT (Ctrl-C), not on SIGTERM."""
    if profiler is None or profiler.poll() is not None:
        return
    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        terminate(profiler)


@dataclass
class Services:
    """What the load generator needs to know about the running subprocesses."""

    sid: str
    token: str
    public_url: str
    control_url: str
    server: subprocess.Popen
    fake: subprocess.Popen
    server_log: Path

    @property
    def webhook_url(self) -> str:
        return self.public_url + WEBHOOK_PATH


def measure(
    args: argparse.Namespace, rate: float, latencies, lags, outcomes, t0, last_end, wall
) -> Step:
    ordered = sorted(latencies)
    ok = outcomes.pop("ok", 0)
    return Step(
        offered_rps=rate,
        seconds=args.seconds,
        requests=len(latencies),
        ok=ok,
        errors=len(latencies) - ok,
        error_kinds=dict(outcomes),
        achieved_rps=ok / (last_end - t0) if last_end > t0 else 0.0,
        wall_s=round(last_end - t0, 3),
        p50_ms=percentile(ordered, 0.50) * 1000,
        p90_ms=percentile(ordered, 0.90) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        max_ms=ordered[-1] * 1000,
        send_lag_p99_ms=percentile(sorted(lags), 0.99) * 1000,
    )


async def drive(
    args: argparse.Namespace, svc: Services, senders: Senders, on_measuring
) -> tuple[list[Step], int | None]:
    """Warm up, run each offered load, then wait for the last replies to reach fake Twilio."""
    connector = aiohttp.TCPConnector(limit=args.connections, limit_per_host=args.connections)
    async with aiohttp.ClientSession(connector=connector) as http:
        await wait_http_ok(http, svc.control_url, svc.fake, timeout=20)
        # /healthz no longer names the channels (public): a service without SMS fails the
        # warm-up below instead.
        await wait_http_ok(http, svc.public_url + "/healthz", svc.server, timeout=60)
        print(
            f"benkadi serve pid {svc.server.pid} on {svc.public_url}, fake Twilio pid {svc.fake.pid}"
        )

        # Warm up: connections, first-use imports and caches, SQLite pages. Not measured.
        warm = prepare(senders.plan(50, 50), svc.webhook_url, svc.sid, svc.token)
        _, _, outcomes, _, _ = await run_step(http, svc.webhook_url, warm, 50.0, 50, args.timeout)
        if set(outcomes) != {"ok"}:
            raise RuntimeError(f"warm-up requests failed: {dict(outcomes)}")
        await asyncio.sleep(1.0)
        on_measuring()

        steps: list[Step] = []
        for index, rate in enumerate(args.rates):
            count = max(1, round(rate * args.seconds))
            slots = max(1, math.ceil(rate * args.sender_gap))
            prepared = prepare(senders.plan(count, slots), svc.webhook_url, svc.sid, svc.token)
            pids = (svc.server.pid, svc.fake.pid)
            cpu = (*map(cpu_seconds, pids), time.process_time())
            replies_before = await fake_count(http, svc.control_url)
            wall = time.monotonic()
            result = await run_step(http, svc.webhook_url, prepared, rate, slots, args.timeout)
            wall = time.monotonic() - wall
            cpu_after = (*map(cpu_seconds, pids), time.process_time())
            replies_after = await fake_count(http, svc.control_url)
            step = measure(args, rate, *result, wall)
            step.server_cpu, step.fake_twilio_cpu, step.generator_cpu = (
                (after - before) / wall if before is not None and after is not None else None
                for before, after in zip(cpu, cpu_after, strict=True)
            )
            if replies_before is not None and replies_after is not None:
                step.replies_sent_during_step = replies_after - replies_before
            steps.append(step)
            print(
                f"  {rate:>6.0f}/s: achieved {step.achieved_rps:7.1f}/s, "
                f"p50 {step.p50_ms:7.1f} ms, p99 {step.p99_ms:7.1f} ms, "
                f"errors {step.errors}, server cpu {step.server_cpu or 0:.0%}",
                flush=True,
            )
            saturated = step.achieved_rps < 0.7 * rate or step.p99_ms > 5000
            if saturated and not args.keep_going and index < len(args.rates) - 1:
                print(f"  saturated at {rate:.0f}/s: higher rates skipped (see --keep-going)")
                break
            await asyncio.sleep(args.drain)

        # Let the dispatcher finish sending the replies still queued.
        drain_started, replies, stable_since = time.monotonic(), None, time.monotonic()
        while time.monotonic() - drain_started < args.final_drain:
            current = await fake_count(http, svc.control_url)
            if current != replies:
                replies, stable_since = current, time.monotonic()
            elif time.monotonic() - stable_since >= 2.0:
                break
            await asyncio.sleep(0.25)
    return steps, replies


def bench(args: argparse.Namespace) -> dict:
    sid = "AC" + secrets.token_hex(16)
    token = secrets.token_hex(16)
    workdir = Path(tempfile.mkdtemp(prefix="benkadi-bench-"))
    database = workdir / "benkadi.db"
    port, fake_port, control_port = free_port(), free_port(), free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "TELEGRAM_", "BENKADI_"))
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    fake_proc = server = profiler = None
    logs = []
    senders = Senders(args.seed)
    version = code_version()  # before the server starts: the code it runs
    started = time.monotonic()
    try:
        logs.append((workdir / "fake-twilio.log").open("wb"))
        fake_proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                *("--fake-twilio", str(fake_port), "--control-port", str(control_port)),
                *("--sid", sid, "--token", token),
            ],
            cwd=workdir,
            env=env,
            stdout=logs[-1],
            stderr=subprocess.STDOUT,
        )
        server_env = env | {
            "TWILIO_ACCOUNT_SID": sid,
            "TWILIO_AUTH_TOKEN": token,
            "TWILIO_FROM": BENKADI_NUMBER,
            "TWILIO_API_URL": f"http://127.0.0.1:{fake_port}",
            "BENKADI_PUBLIC_URL": public_url,
            "BENKADI_DATABASE_URL": f"sqlite:///{database}",
        }
        logs.append((workdir / "server.log").open("wb"))
        server_program = args.server_wrapper or ["-m", "gateway.cli"]
        server = subprocess.Popen(
            [
                sys.executable,
                *server_program,
                "serve",
                "--port",
                str(port),
                "--dispatch",
                args.mode,
            ],
            cwd=workdir,
            env=server_env,
            stdout=logs[-1],
            stderr=subprocess.STDOUT,
        )
        svc = Services(
            sid,
            token,
            public_url,
            f"http://127.0.0.1:{control_port}/count",
            server,
            fake_proc,
            workdir / "server.log",
        )

        def on_measuring() -> None:
            nonlocal profiler
            if args.profile:
                expected = len(args.rates) * (args.seconds + args.drain + 1.5)
                profiler = start_profiler(server.pid, args.profile, expected)

        try:
            steps, replies = asyncio.run(drive(args, svc, senders, on_measuring))
        except Exception:
            logs[-1].flush()
            tail = svc.server_log.read_text(errors="replace").splitlines()[-30:]
            print("bench: server log tail:\n" + "\n".join(tail), file=sys.stderr)
            raise
        stop_profiler(profiler)
        terminate(server, grace=15)
        counts = database_counts(database)
    finally:
        terminate(profiler)
        terminate(server)
        terminate(fake_proc)
        for log in logs:
            log.close()
        if args.keep_logs:
            print(f"bench: logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    sustained = [
        s.offered_rps
        for s in steps
        if s.errors == 0
        and s.achieved_rps >= SUSTAINED_SHARE * s.offered_rps
        and s.p99_ms <= SUSTAINED_P99_MS
    ]
    at_target = [s for s in steps if s.offered_rps == TARGET_P99_AT]
    p99_at_target = at_target[0].p99_ms if at_target else None
    summary = {
        "sustained_rps": max(sustained) if sustained else 0,
        "sustained_rule": (
            f"highest offered load with achieved >= {SUSTAINED_SHARE:.0%} of offered, "
            f"no errors, p99 <= {SUSTAINED_P99_MS:.0f} ms"
        ),
        f"p99_ms_at_{TARGET_P99_AT}_rps": p99_at_target,
        "target": f">= {TARGET_RATE} req/s sustained, p99 <= {TARGET_P99_MS:.0f} ms at {TARGET_P99_AT} req/s",
        "meets_target": bool(
            sustained
            and max(sustained) >= TARGET_RATE
            and p99_at_target is not None
            and p99_at_target <= TARGET_P99_MS
        ),
        "replies_received_by_fake_twilio": replies,
        "database": counts,
        "senders_started": senders.started,
        "registrations_completed_by_plan": senders.finished,
    }
    return {
        "benchmark": "inbound",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "config": {
            "rates": args.rates,
            "seconds_per_step": args.seconds,
            "drain_s": args.drain,
            "connections": args.connections,
            "request_timeout_s": args.timeout,
            "sender_gap_s": args.sender_gap,
            "aide_share": AIDE_SHARE,
            "seed": args.seed,
            "database": "sqlite (fresh, temp dir)",
            "latency": "from each request's scheduled time (open loop); all requests counted",
        },
        "machine": machine_facts(),
        "code": version,
        "steps": [asdict(s) for s in steps],
        "summary": summary,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", help="offered loads, req/s, comma-separated (default 100..1000)")
    parser.add_argument("--seconds", type=float, help="seconds per step (default 5)")
    parser.add_argument("--quick", action="store_true", help="2 s per step")
    parser.add_argument("--drain", type=float, default=1.0, help="pause between steps, s")
    parser.add_argument("--final-drain", type=float, default=20.0, help="max wait for replies, s")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, s")
    parser.add_argument("--connections", type=int, default=1000, help="client connection limit")
    parser.add_argument(
        "--sender-gap", type=float, default=1.0, help="seconds between one sender's messages"
    )
    parser.add_argument("--seed", type=int, default=1, help="sender numbers and AIDE mix")
    parser.add_argument("--keep-going", action="store_true", help="run every rate even saturated")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temp dir with logs")
    parser.add_argument(
        "--profile", metavar="FILE", help="py-spy record the server during the steps (.svg or raw)"
    )
    parser.add_argument("--output", default=str(RESULTS), help="results JSON path")
    parser.add_argument(
        "--dispatch",
        default="inline,process",
        help="serve --dispatch modes to measure, comma-separated (default inline,process): "
        "inline sends from the web process, process from a child on the other core",
    )
    parser.add_argument(
        "--server-wrapper",
        metavar="SCRIPT",
        type=lambda path: [str(Path(path).resolve())],
        help="experiments: run `python SCRIPT serve --port P` instead of `python -m gateway.cli`",
    )
    # Internal: the fake Twilio subprocess.
    parser.add_argument("--fake-twilio", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--control-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sid", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.fake_twilio is not None:
        asyncio.run(_run_fake_twilio(args.fake_twilio, args.control_port, args.sid, args.token))
        return 0

    args.rates = (
        [float(r) for r in args.rates.split(",") if r.strip()]
        if args.rates
        else list(DEFAULT_RATES)
    )
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    runs = []
    for mode in [m.strip() for m in args.dispatch.split(",") if m.strip()]:
        args.mode = mode
        print(f"\n=== benkadi serve --dispatch {mode} ===")
        result = bench(args)
        result["dispatch"] = mode
        runs.append(result)
        steps = [Step(**s) for s in result["steps"]]
        summary = result["summary"]
        print()
        print(table(steps))
        print()
        print(f"sustained: {summary['sustained_rps']:.0f} req/s ({summary['sustained_rule']})")
        p99 = summary[f"p99_ms_at_{TARGET_P99_AT}_rps"]
        print(f"p99 at {TARGET_P99_AT} req/s: {'-' if p99 is None else f'{p99:.1f} ms'}")
        print(f"target ({summary['target']}): {'met' if summary['meets_target'] else 'NOT met'}")
        print(
            f"replies received by fake Twilio: {summary['replies_received_by_fake_twilio']}; "
            f"database: {summary['database']}"
        )
        machine = result["machine"]
        print(
            f"machine: {machine['nproc']} cpu ({machine['cpu_model']}), Python {machine['python']}"
        )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps({"benchmark": "inbound", "runs": runs}, indent=2, ensure_ascii=False) + "\n"
    )
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
