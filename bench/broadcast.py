"""Broadcast benchmark: fan-out and sending of one broadcast to 100,000 members on SQLite.

Targets (issue: broadcasts at scale), on SQLite with 100,000 members, against the fake providers:

* fan-out (``broadcasts.service.send_now``: the INSERT … SELECT of one outbox row per member)
  in at most 3 s;
* sustained sending at a configured limit of 500 messages/s: at least 95% of the limit, with
  zero throttling responses from a provider enforcing that limit;
* the unthrottled sending ceiling of one dispatcher process: at least 1,000 messages/s;
* peak memory (RSS) at most 250 MB, for the dispatcher and for the fan-out.

Phases, everything on 127.0.0.1 and in a temp directory removed at the end:

1. **seed**: a fresh SQLite database, migrated, then `--members` members (bench/seed.py:
   every member an SMS number, 30% also Telegram, half Bambara), set-based.
2. **fan-out**: a child process creates a broadcast to everyone (French and Bambara texts) and
   calls ``send_now``; it reports the time of that call and its own VmHWM.
3. **rate-limited**: a fake Twilio (own process) enforcing `--limit` messages/s per sliding
   second, and ``python -m gateway.cli dispatch`` (the dispatcher and scheduler, nothing else)
   with Twilio only and ``BENKADI_SMS_RATE=--limit``; it sends the broadcast's SMS rows for
   `--rate-seconds` after a warm-up second. The achieved rate is counted at the fake, from its
   own timestamps, over that steady window.
4. **ceiling, SMS**: the same with no limit anywhere (``BENKADI_SMS_RATE=100000``).
5. **ceiling, SMS + Telegram**: both channels, each with its own unlimited fake process.

The dispatcher's peak RSS is its VmHWM read from /proc just before it is stopped. CPU shares of
the dispatcher and fakes over each window say which process was the bottleneck.

    .venv/bin/python bench/broadcast.py            # 100,000 members, a little over a minute
    .venv/bin/python bench/broadcast.py --quick    # 20,000 members, short windows
    .venv/bin/python bench/broadcast.py --profile /tmp/dispatcher.txt   # py-spy, SMS ceiling
    .venv/bin/python bench/broadcast.py --dispatcher-wrapper exp.py  # `python exp.py dispatch`

Results: a table on stdout and bench/results/broadcast.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import resource
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.inbound import (  # noqa: E402
    code_version,
    cpu_seconds,
    free_port,
    machine_facts,
    start_profiler,
    stop_profiler,
    terminate,
    wait_http_ok,
)

RESULTS = Path(__file__).resolve().parent / "results" / "broadcast.json"
BENKADI_NUMBER = "+22320000000"
BOT_TOKEN = "123456:BENCH-token_abc"
CHANNELS = ("sms", "whatsapp", "telegram")  # what a service with Twilio and Telegram enables
UNLIMITED = 100_000.0  # a configured rate no run reaches
STALL = 0.02  # seconds without a message that count as a stall (500/s is one every 2 ms)
FRENCH = (
    "Rencontre à Bamako le 25 novembre : les femmes s'unissent contre les violences. "
    "Venez nombreuses, avec vos témoignages !"
)
BAMBARA = (  # as in tests/broadcasts/conftest.py
    "Ɲɔgɔnye bɛ kɛ Bamako novanburukalo tile 25. Musow ka jɛ ka kɛlɛ kɛ fangajuguw kɔrɔ. "
    "An bɛ aw makɔnɔ!"
)
TARGETS = {
    "fanout_seconds": 3.0,
    "rate_share_of_limit": 0.95,
    "ceiling_per_second": 1000.0,
    "peak_rss_mb": 250.0,
}


# --- child processes: fake providers and the fan-out ---------------------------------------------


async def _run_fake(kind: str, port: int, control_port: int, rate: float | None, sid: str,
                    token: str) -> None:  # fmt: skip
    """One fake provider, plus a control endpoint saying what it received and when.

    A fake that pauses (a garbage collection over the messages it keeps, or no core free for
    it) then takes the requests that waited all at once, and its sliding window counts them as
    a burst the sender never made. So its cyclic collector is off, and the stalls that remain
    are recorded (`fake_stalls`: its loop late by more than 15 ms) next to when it throttled.
    """
    from aiohttp import web

    from gateway.cli.signals import stop_event
    from gateway.fakes import FakeTelegramAPI, FakeTwilioAPI

    if kind == "twilio":
        fake = FakeTwilioAPI(sid, token, rate_per_second=rate)
    else:
        fake = FakeTelegramAPI(BOT_TOKEN, rate_per_second=rate)
    await fake.start(port=port)
    gc.freeze()
    gc.disable()
    refused_at: list[float] = []  # when each throttling answer was given (Twilio)
    if kind == "twilio":
        accept = fake._accept

        def accept_noting_refusals(params: dict):
            try:
                return accept(params)
            except Exception as error:
                if getattr(error, "status", None) == 429:
                    refused_at.append(time.monotonic())
                raise

        fake._accept = accept_noting_refusals

    lags: list[tuple[float, float]] = []  # (when, how late) for the fake's own loop stalls

    async def watch_loop() -> None:
        while True:
            due = time.monotonic() + 0.005
            await asyncio.sleep(0.005)
            late = time.monotonic() - due
            if late > 0.015:
                lags.append((due, late))

    watcher = asyncio.create_task(watch_loop())

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "sent": len(fake.sent),
                "throttled": fake.throttled_count,
                "requests": len(fake.requests),
            }
        )

    async def times(request: web.Request) -> web.Response:
        start = int(request.query.get("start", "0"))
        return web.json_response(
            {
                "at": [message.at for message in fake.sent[start:]],
                "refused_at": refused_at,
                "lags": lags,
            }
        )

    control = web.Application()
    control.router.add_get("/stats", stats)
    control.router.add_get("/times", times)
    runner = web.AppRunner(control, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", control_port).start()
    stop = stop_event()
    await stop.wait()
    watcher.cancel()
    await runner.cleanup()
    await fake.stop()


def vm_kb(field_name: str, pid: int | str = "self") -> int | None:
    """A VmXXX line of /proc/<pid>/status, in kB (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


async def _fanout_child(database_url: str) -> dict:
    """Create a broadcast to every member and fan it out; what it cost, in this process."""
    from broadcasts import service
    from broadcasts.model import Draft
    from storage.database import Database

    database = Database(database_url)
    try:
        draft = Draft(texts={"fr": FRENCH, "bm": BAMBARA}, title="bench: everyone")
        broadcast_id = await service.create(database, draft, "bench")
        rss_before = vm_kb("VmRSS")
        hwm_before = vm_kb("VmHWM")
        started = time.perf_counter()
        queued = await service.send_now(database, broadcast_id, "bench", enabled_channels=CHANNELS)
        seconds = time.perf_counter() - started
        hwm_after = vm_kb("VmHWM")
    finally:
        await database.dispose()
    return {
        "broadcast_id": broadcast_id,
        "queued": queued,
        "seconds": round(seconds, 3),
        "rss_before_mb": _mb(rss_before),
        "peak_rss_before_mb": _mb(hwm_before),
        "peak_rss_mb": _mb(hwm_after),
        "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


# --- the orchestration ---------------------------------------------------------------------------


@dataclass
class Fake:
    kind: str  # twilio | telegram
    channel: str  # the outbox channel it receives (sms | telegram)
    port: int
    control_port: int
    process: subprocess.Popen

    @property
    def control(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"


@dataclass
class SendRun:
    """One dispatcher run against fresh fakes; rates counted at the fakes."""

    name: str
    configured_rate: dict[str, float]
    fake_limit: float | None
    warmup_s: float
    window_s: float = 0.0
    messages_in_window: dict[str, int] = field(default_factory=dict)
    rate: dict[str, float] = field(default_factory=dict)  # messages/s in the steady window
    total_rate: float = 0.0
    share_of_limit: float | None = None  # rate / fake limit (per channel, the lowest)
    max_in_one_second: dict[str, int] = field(default_factory=dict)  # sliding 1 s window
    # Pauses between consecutive messages longer than STALL (batch boundaries, database waits):
    # how many in the window, and the time they add up to.
    stalls: dict[str, int] = field(default_factory=dict)
    stalled_s: dict[str, float] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    # The fake's own pauses (its loop late by over 15 ms): (seconds from first message, ms).
    fake_stalls: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    # When the throttling answers came, in seconds from the first message (Twilio only).
    throttled_after_first_s: dict[str, list[float]] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)  # whole run, first message to stop
    per_second: dict[str, list[int]] = field(default_factory=dict)  # window, 1 s bins
    dispatcher_cpu: float | None = None  # share of one core over the window
    fake_cpu: dict[str, float | None] = field(default_factory=dict)
    dispatcher_peak_rss_mb: float | None = None
    dispatcher_rss_mb: float | None = None
    first_message_after_start_s: float | None = None


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.database = workdir / "benkadi.db"
        self.database_url = f"sqlite:///{self.database}"
        self.sid = "AC" + secrets.token_hex(16)
        self.token = secrets.token_hex(16)
        base = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TWILIO_", "TELEGRAM_", "BENKADI_"))
        }
        base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH")]))
        self.env = base
        self.processes: list[subprocess.Popen] = []
        self.logs: list = []

    def spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("ab")
        self.logs.append(log)
        process = subprocess.Popen(
            command, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in reversed(self.processes):
            terminate(process)
        for log in self.logs:
            log.close()

    def log_tail(self, name: str, lines: int = 25) -> str:
        path = self.workdir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    # --- phases ----------------------------------------------------------------------------------

    async def seed(self) -> dict:
        from bench.seed import seed_members
        from storage.database import Database
        from storage.migrate import upgrade

        database = Database(self.database_url)
        try:
            await upgrade(database.engine)
            result = await seed_members(
                database, self.args.members, telegram_share=self.args.telegram_share
            )
        finally:
            await database.dispose()
        return asdict(result)

    def fan_out(self) -> dict:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--fanout-child",
            self.database_url,
        ]
        done = subprocess.run(
            command, cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"fan-out child failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start_fake(self, kind: str, limit: float | None) -> Fake:
        port, control_port = free_port(), free_port()
        command = [
            sys.executable, str(Path(__file__).resolve()), "--fake", kind,
            "--port", str(port), "--control-port", str(control_port),
            "--sid", self.sid, "--token", self.token,
        ]  # fmt: skip
        if limit:
            command += ["--fake-limit", str(limit)]
        process = self.spawn(f"fake-{kind}", command, self.env)
        return Fake(kind, "sms" if kind == "twilio" else "telegram", port, control_port, process)

    def dispatcher_env(self, fakes: list[Fake], rates: dict[str, float]) -> dict[str, str]:
        env = self.env | {
            "BENKADI_DATABASE_URL": self.database_url,
            "BENKADI_PUBLIC_URL": "http://127.0.0.1:9",  # status callbacks are not exercised
            "BENKADI_SMS_RATE": str(rates.get("sms", UNLIMITED)),
            "BENKADI_TELEGRAM_RATE": str(rates.get("telegram", UNLIMITED)),
            "BENKADI_TELEGRAM_CHAT_RATE": "1",  # one message per chat in a broadcast anyway
        }
        for fake in fakes:
            if fake.kind == "twilio":
                env |= {
                    "TWILIO_ACCOUNT_SID": self.sid,
                    "TWILIO_AUTH_TOKEN": self.token,
                    "TWILIO_FROM": BENKADI_NUMBER,
                    "TWILIO_API_URL": f"http://127.0.0.1:{fake.port}",
                }
            else:
                env |= {
                    "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                    "TELEGRAM_WEBHOOK_SECRET": "bench-secret",
                    "TELEGRAM_API_URL": f"http://127.0.0.1:{fake.port}",
                }
        return env

    async def send_run(
        self,
        http: aiohttp.ClientSession,
        name: str,
        kinds: list[str],
        rates: dict[str, float],
        limit: float | None,
        seconds: float,
        profile: str | None = None,
    ) -> SendRun:
        run = SendRun(name, dict(rates), limit, self.args.warmup)
        fakes = [self.start_fake(kind, limit) for kind in kinds]
        dispatcher = profiler = None
        try:
            for fake in fakes:
                await wait_http_ok(http, fake.control + "/stats", fake.process, timeout=30)
            started = time.monotonic()
            program = self.args.dispatcher_wrapper or ["-m", "gateway.cli"]
            dispatcher = self.spawn(
                f"dispatcher-{name}",
                [sys.executable, *program, "dispatch"],
                self.dispatcher_env(fakes, rates),
            )
            deadline = started + 60
            while sum([await self.stats(http, fake, "sent") for fake in fakes]) == 0:
                if dispatcher.poll() is not None:
                    raise RuntimeError(
                        f"dispatcher exited with {dispatcher.returncode}:\n"
                        + self.log_tail(f"dispatcher-{name}")
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError("no message reached the fakes within 60 s")
                await asyncio.sleep(0.05)
            run.first_message_after_start_s = round(time.monotonic() - started, 2)
            await asyncio.sleep(self.args.warmup)
            pids = [dispatcher.pid, *(fake.process.pid for fake in fakes)]
            cpu_before = [cpu_seconds(pid) for pid in pids]
            window_start = time.monotonic()
            if profile:
                profiler = start_profiler(dispatcher.pid, profile, seconds)
            await asyncio.sleep(seconds)
            window_end = time.monotonic()
            cpu_after = [cpu_seconds(pid) for pid in pids]
            run.dispatcher_peak_rss_mb = _mb(vm_kb("VmHWM", dispatcher.pid))
            run.dispatcher_rss_mb = _mb(vm_kb("VmRSS", dispatcher.pid))
            stop_profiler(profiler)
            terminate(dispatcher, grace=20)
            if dispatcher.returncode not in (0, -signal.SIGTERM):
                raise RuntimeError(
                    f"dispatcher ended with {dispatcher.returncode}:\n"
                    + self.log_tail(f"dispatcher-{name}")
                )
            shares = [
                None if b is None or a is None else round((a - b) / (window_end - window_start), 3)
                for b, a in zip(cpu_before, cpu_after, strict=True)
            ]
            run.dispatcher_cpu = shares[0]
            run.window_s = round(window_end - window_start, 3)
            for fake, share in zip(fakes, shares[1:], strict=True):
                run.fake_cpu[fake.channel] = share
                stamps, refused = await self.times(http, fake)
                first = min(stamps) if stamps else 0.0
                run.fake_stalls[fake.channel] = [
                    (round(at - first, 3), round(late * 1000, 1)) for at, late in self.last_lags
                ][:100]
                if stamps and refused:
                    run.throttled_after_first_s[fake.channel] = [
                        round(at - first, 3) for at in refused[:50]
                    ]
                inside = [at for at in stamps if window_start <= at < window_end]
                run.received[fake.channel] = len(stamps)
                run.messages_in_window[fake.channel] = len(inside)
                run.rate[fake.channel] = round(len(inside) / (window_end - window_start), 1)
                run.max_in_one_second[fake.channel] = max_in_window(stamps, 1.0)
                run.throttled[fake.channel] = await self.stats(http, fake, "throttled")
                pauses = [b - a for a, b in itertools.pairwise(sorted(inside)) if b - a > STALL]
                run.stalls[fake.channel] = len(pauses)
                run.stalled_s[fake.channel] = round(sum(pauses), 3)
                bins = [0] * max(1, int(window_end - window_start))
                for at in inside:
                    index = int(at - window_start)
                    if index < len(bins):
                        bins[index] += 1
                run.per_second[fake.channel] = bins
            run.total_rate = round(sum(run.rate.values()), 1)
            if limit:
                run.share_of_limit = round(min(run.rate.values()) / limit, 4)
        finally:
            terminate(profiler)
            terminate(dispatcher)
            for fake in fakes:
                terminate(fake.process)
        return run

    async def stats(self, http: aiohttp.ClientSession, fake: Fake, key: str) -> int:
        async with http.get(fake.control + "/stats") as response:
            return (await response.json())[key]

    async def times(
        self, http: aiohttp.ClientSession, fake: Fake
    ) -> tuple[list[float], list[float]]:
        async with http.get(fake.control + "/times") as response:
            answer = await response.json()
        self.last_lags = answer["lags"]
        return answer["at"], answer["refused_at"]

    def database_counts(self) -> dict:
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30)
        try:
            rows = connection.execute(
                "SELECT channel, status, count(*) FROM outbox GROUP BY channel, status"
            ).fetchall()
            counts: dict[str, dict[str, int]] = {}
            for channel, status, n in rows:
                counts.setdefault(channel, {})[status] = n
            return {
                "members": connection.execute("SELECT count(*) FROM members").fetchone()[0],
                "addresses": connection.execute("SELECT count(*) FROM addresses").fetchone()[0],
                "outbox": counts,
                "database_mb": round(self.database.stat().st_size / 2**20, 1),
            }
        finally:
            connection.close()


def max_in_window(stamps: list[float], window: float) -> int:
    """The most events in any sliding window of `window` seconds (what a provider counts)."""
    ordered = sorted(stamps)
    best = start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run_bench(args: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="benkadi-bench-broadcast-"))
    bench = Bench(args, workdir)
    version = code_version()
    started = time.monotonic()
    try:
        print(f"seeding {args.members:,} members ...", flush=True)
        seeded = await bench.seed()
        print(f"  {seeded['seconds']:.2f} s", flush=True)
        print("fan-out ...", flush=True)
        fanout = bench.fan_out()
        print(f"  {fanout['queued']:,} rows in {fanout['seconds']:.2f} s", flush=True)
        runs: list[SendRun] = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            plan = [
                (
                    "rate_limited_sms",
                    ["twilio"],
                    {"sms": args.limit},
                    args.limit,
                    args.rate_seconds,
                ),
                ("ceiling_sms", ["twilio"], {"sms": UNLIMITED}, None, args.ceiling_seconds),
                (
                    "ceiling_sms_telegram",
                    ["twilio", "telegram"],
                    {"sms": UNLIMITED, "telegram": UNLIMITED},
                    None,
                    args.ceiling_seconds,
                ),
            ]
            for name, kinds, rates, limit, seconds in plan:
                print(f"{name}: {seconds:.0f} s window ...", flush=True)
                profile = args.profile if name == "ceiling_sms" else None
                run = await bench.send_run(http, name, kinds, rates, limit, seconds, profile)
                print(
                    f"  {run.total_rate:.1f} msg/s {run.rate}, throttled {run.throttled}, "
                    f"dispatcher cpu {run.dispatcher_cpu}, fakes cpu {run.fake_cpu}, "
                    f"peak rss {run.dispatcher_peak_rss_mb} MB",
                    flush=True,
                )
                runs.append(run)
        counts = bench.database_counts()
    except BaseException:
        print(f"bench: logs kept in {workdir}", file=sys.stderr)
        args.keep_logs = True
        raise
    finally:
        bench.close()
        if args.keep_logs:
            print(f"bench: logs in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "benchmark": "broadcast",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "config": {
            "members": args.members,
            "telegram_share": args.telegram_share,
            "limit_per_second": args.limit,
            "rate_seconds": args.rate_seconds,
            "ceiling_seconds": args.ceiling_seconds,
            "warmup_s": args.warmup,
            "database": "sqlite (fresh, temp dir)",
            "dispatcher": "python -m gateway.cli dispatch (one process, dispatcher + scheduler)",
            "rates": "counted at the fakes from their own monotonic timestamps, steady window",
            "dispatcher_wrapper": args.dispatcher_wrapper,
        },
        "machine": machine_facts(),
        "code": version,
        "seed": seeded,
        "fanout": fanout,
        "runs": [asdict(run) for run in runs],
        "database": counts,
        "summary": summarise(fanout, runs),
    }


def summarise(fanout: dict, runs: list[SendRun]) -> dict:
    by_name = {run.name: run for run in runs}
    limited = by_name["rate_limited_sms"]
    ceiling = by_name["ceiling_sms"]
    mixed = by_name["ceiling_sms_telegram"]
    peak = max([run.dispatcher_peak_rss_mb or 0.0 for run in runs] + [fanout["peak_rss_mb"] or 0.0])
    checks = {
        "fanout": fanout["seconds"] <= TARGETS["fanout_seconds"],
        "rate_limited": (limited.share_of_limit or 0) >= TARGETS["rate_share_of_limit"]
        and sum(limited.throttled.values()) == 0,
        "ceiling": ceiling.total_rate >= TARGETS["ceiling_per_second"],
        "peak_rss": peak <= TARGETS["peak_rss_mb"],
    }
    return {
        "fanout_s": fanout["seconds"],
        "fanout_rows": fanout["queued"],
        "rate_limited_per_second": limited.total_rate,
        "rate_limited_share_of_limit": limited.share_of_limit,
        "rate_limited_throttled": sum(limited.throttled.values()),
        "ceiling_sms_per_second": ceiling.total_rate,
        "ceiling_sms_telegram_per_second": mixed.total_rate,
        "ceiling_sms_telegram_by_channel": mixed.rate,
        "peak_rss_mb": {
            "fanout": fanout["peak_rss_mb"],
            **{f"dispatcher_{run.name}": run.dispatcher_peak_rss_mb for run in runs},
        },
        "targets": {
            "fanout": f"<= {TARGETS['fanout_seconds']:.0f} s",
            "rate_limited": f">= {TARGETS['rate_share_of_limit']:.0%} of the limit, 0 throttled",
            "ceiling": f">= {TARGETS['ceiling_per_second']:.0f} messages/s (SMS, one process)",
            "peak_rss": f"<= {TARGETS['peak_rss_mb']:.0f} MB",
        },
        "met": checks,
        "all_met": all(checks.values()),
    }


def table(result: dict) -> str:
    s = result["summary"]
    met = {key: "yes" if ok else "NO" for key, ok in s["met"].items()}
    members = result["config"]["members"]
    limit = result["config"]["limit_per_second"]
    mixed = ", ".join(f"{k} {v:.0f}" for k, v in s["ceiling_sms_telegram_by_channel"].items())
    peaks = s["peak_rss_mb"]
    rows = [
        ("measure", "value", "target", "met"),
        (
            f"fan-out, {members:,} members",
            f"{s['fanout_s']:.2f} s ({s['fanout_rows']:,} rows)",
            s["targets"]["fanout"],
            met["fanout"],
        ),
        (
            f"sustained SMS at a {limit:.0f}/s limit",
            f"{s['rate_limited_per_second']:.1f}/s ({s['rate_limited_share_of_limit']:.1%}), "
            f"{s['rate_limited_throttled']} throttled",
            s["targets"]["rate_limited"],
            met["rate_limited"],
        ),
        (
            "unthrottled ceiling, SMS",
            f"{s['ceiling_sms_per_second']:.0f}/s",
            s["targets"]["ceiling"],
            met["ceiling"],
        ),
        (
            "unthrottled ceiling, SMS + Telegram",
            f"{s['ceiling_sms_telegram_per_second']:.0f}/s ({mixed})",
            "-",
            "-",
        ),
        (
            "peak RSS (VmHWM)",
            f"fan-out {peaks['fanout']:.0f} MB, dispatcher "
            + "/".join(f"{v:.0f}" for k, v in peaks.items() if k != "fanout")
            + " MB",
            s["targets"]["peak_rss"],
            met["peak_rss"],
        ),
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    lines = ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    for run in result["runs"]:
        lines.append(
            f"  {run['name']}: {run['window_s']:.1f} s window, "
            f"{sum(run['messages_in_window'].values())} messages, "
            f"max in any 1 s {run['max_in_one_second']}, "
            f"stalls > {STALL * 1000:.0f} ms {run['stalls']} totalling {run['stalled_s']} s, "
            f"cpu dispatcher {run['dispatcher_cpu']:.0%}, fakes "
            + ", ".join(f"{k} {v:.0%}" for k, v in run["fake_cpu"].items() if v is not None)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, help="members to seed (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 members, short windows")
    parser.add_argument("--limit", type=float, default=500.0, help="provider limit, messages/s")
    parser.add_argument("--rate-seconds", type=float, help="rate-limited window (default 24 s)")
    parser.add_argument("--ceiling-seconds", type=float, help="ceiling windows (default 12 s)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured first seconds")
    parser.add_argument("--telegram-share", type=float, default=0.3, help="members on Telegram")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temp dir with logs")
    parser.add_argument(
        "--profile", metavar="FILE", help="py-spy record the dispatcher during the SMS ceiling"
    )
    parser.add_argument("--output", default=str(RESULTS), help="results JSON path")
    parser.add_argument(
        "--dispatcher-wrapper",
        metavar="SCRIPT",
        type=lambda path: [str(Path(path).resolve())],
        help="experiments: run `python SCRIPT dispatch` instead of `python -m gateway.cli`",
    )
    # Internal: child processes.
    parser.add_argument("--fake", choices=["twilio", "telegram"], help=argparse.SUPPRESS)
    parser.add_argument("--fake-limit", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--control-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sid", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--fanout-child", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.fake:
        asyncio.run(
            _run_fake(
                args.fake, args.port, args.control_port, args.fake_limit, args.sid, args.token
            )
        )
        return 0
    if args.fanout_child:
        print(json.dumps(asyncio.run(_fanout_child(args.fanout_child))))
        return 0

    args.members = args.members or (20_000 if args.quick else 100_000)
    args.rate_seconds = args.rate_seconds or (6.0 if args.quick else 24.0)
    args.ceiling_seconds = args.ceiling_seconds or (4.0 if args.quick else 12.0)
    result = asyncio.run(run_bench(args))
    print()
    print(table(result))
    machine = result["machine"]
    print(f"machine: {machine['nproc']} cpu ({machine['cpu_model']}), Python {machine['python']}")
    print(f"targets: {'all met' if result['summary']['all_met'] else 'NOT all met'}")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
