"""What the WAL checkpoint costs an erasure (OUBLIER), on SQLite.

A fresh SQLite database (temp directory) is migrated and seeded (bench/seed.py), then each round
writes ordinary traffic into the WAL (`--traffic` inbound messages, as webhooks would) and erases
one member through `storage.members.erase_member` in `Database.transaction()`, exactly as the
dialogue does. Rounds alternate between the two variants in the same run and database, so the
machine's state is shared: `checkpoint` (what OUBLIER does now: secure_delete, then
`wal_checkpoint(TRUNCATE)` after the commit) and `baseline` (the same erasure with the
checkpoint skipped: the WAL keeps growing until SQLite's automatic checkpoint). Time is the wall
time of the erasure's transaction, checkpoint included.

    .venv/bin/python bench/erase.py                      # 20,000 members, 60 rounds
    .venv/bin/python bench/erase.py --rounds 20 --traffic 50

Results: a table on stdout and bench/results/erase.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.seed import seed_members  # noqa: E402
from storage import members as member_store  # noqa: E402
from storage.database import ERASURE, Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Address, InboundMessage  # noqa: E402
from storage.types import utcnow  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "erase.json"


async def traffic(database: Database, address_ids: list[int], count: int, serial: int) -> None:
    """Inbound messages from other members, one transaction each: what fills the WAL."""
    for n in range(count):
        async with database.transaction() as connection:
            await connection.execute(
                InboundMessage.__table__.insert().values(
                    channel="sms",
                    provider_id=f"SM{serial:08d}{n:06d}",
                    address_id=address_ids[(serial * count + n) % len(address_ids)],
                    body="AIDE",
                    received_at=utcnow(),
                )
            )


async def erase(database: Database, member_id: int, checkpoint: bool) -> float:
    started = time.perf_counter()
    async with database.transaction() as connection:
        await member_store.erase_member(connection, member_id, utcnow())
        if not checkpoint:
            connection.info.pop(ERASURE, None)  # the baseline: no checkpoint
    return time.perf_counter() - started


def wal_size(path: Path) -> int:
    wal_file = Path(f"{path}-wal")
    return wal_file.stat().st_size if wal_file.exists() else 0


def summary(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "rounds": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 2),
        "max_ms": round(ms[-1], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


async def run(members: int, rounds: int, traffic_per_round: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "benkadi.db"
        database = Database(f"sqlite:///{path}")
        try:
            await upgrade(database.engine)
            await seed_members(database, members)
            async with database.sessions() as session:
                rows = (await session.execute(select(Address.id, Address.member_id))).all()
            address_ids = [row.id for row in rows]
            member_ids = sorted({row.member_id for row in rows if row.member_id})
            times: dict[str, list[float]] = {"baseline": [], "checkpoint": []}
            wal: dict[str, list[int]] = {"baseline": [], "checkpoint": []}
            for n in range(rounds):
                variant = "checkpoint" if n % 2 else "baseline"
                await traffic(database, address_ids, traffic_per_round, n)
                times[variant].append(await erase(database, member_ids[n], variant == "checkpoint"))
                wal[variant].append(wal_size(path))
        finally:
            await database.dispose()
    result = {
        "members": members,
        "traffic_per_round": traffic_per_round,
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "processor": platform.processor() or platform.machine(),
        },
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for variant in ("baseline", "checkpoint"):
        result[variant] = summary(times[variant]) | {
            "wal_bytes_after_max": max(wal[variant]),
        }
    result["checkpoint_cost_p50_ms"] = round(
        result["checkpoint"]["p50_ms"] - result["baseline"]["p50_ms"], 2
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--traffic", type=int, default=100, help="inbound messages per round")
    args = parser.parse_args()
    result = asyncio.run(run(args.members, args.rounds, args.traffic))
    print(f"{'variant':<12}{'p50 ms':>10}{'p90 ms':>10}{'max ms':>10}{'WAL after (max)':>18}")
    for variant in ("baseline", "checkpoint"):
        row = result[variant]
        print(
            f"{variant:<12}{row['p50_ms']:>10}{row['p90_ms']:>10}{row['max_ms']:>10}"
            f"{row['wal_bytes_after_max']:>18}"
        )
    print(f"checkpoint cost (p50): {result['checkpoint_cost_p50_ms']} ms per erasure")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
