"""Reports export benchmark: stream N activity reports to CSV and XLSX, time and peak memory.

A fresh SQLite database in a temp directory, migrated, seeded with `--reports` reports (500
organisations, 20 regions, 7 types, dates over the past year) by set-based inserts. Then, each in
its own child process so that its peak RSS (VmHWM) is its own: the CSV of every report, the XLSX
(reports sheet + totals sheet), and the totals CSV — through `storage.reports.export_tables` and
`storage.tabular.write_tables`, the code the API and CLI run. The check: memory stays flat (the
rows are read in keyset pages and written in batches), whatever N.

    .venv/bin/python bench/reports_export.py               # 100,000 reports
    .venv/bin/python bench/reports_export.py --quick       # 20,000

Results: a table on stdout and bench/results/reports_export.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.vocabulary.reference import ACTIVITY_TYPES, REGIONS  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Organisation, Report  # noqa: E402

BATCH = 5000


async def seed(url: str, count: int) -> float:
    database = Database(url)
    await upgrade(database.engine)
    started = time.perf_counter()
    rng = random.Random(7)
    now = datetime.now(UTC)
    today = now.date()
    async with database.transaction() as connection:
        await connection.execute(
            Organisation.__table__.insert(),
            [{"name": f"ONG {i}", "name_key": f"ong {i}", "listed": False} for i in range(500)],
        )
    for start in range(0, count, BATCH):
        rows = []
        for _ in range(min(BATCH, count - start)):
            when: date = today - timedelta(days=rng.randrange(365))
            rows.append(
                {
                    "member_id": None, "organisation_id": rng.randrange(1, 501), "channel": "sms",
                    "activity": rng.choice(ACTIVITY_TYPES)[0], "activity_date": when,
                    "activity_month": when.strftime("%Y-%m"), "region": rng.choice(REGIONS)[0],
                    "commune": "Commune " + str(rng.randrange(100)), "women": rng.randrange(50),
                    "men": rng.randrange(50), "girls": rng.randrange(30), "boys": rng.randrange(30),
                    "description": "Séance de sensibilisation sur les VBG avec les leaders " * 2,
                    "media_attempts": 0, "status": "submitted", "submitted_at": now,
                }
            )  # fmt: skip
        async with database.transaction() as connection:
            await connection.execute(Report.__table__.insert(), rows)
    await database.dispose()
    return time.perf_counter() - started


async def export(url: str, format_: str, kind: str, target: str) -> dict:
    from storage import reports as report_store
    from storage.tabular import write_tables

    database = Database(url)
    started = time.perf_counter()
    handle = await asyncio.to_thread(open, target, "wb")
    with handle:

        async def sink(chunk: bytes) -> None:
            handle.write(chunk)  # a local disk: cheaper than a thread hop per chunk

        rows = await write_tables(
            format_, report_store.export_tables(database, report_store.ReportFilter(), kind), sink
        )
    elapsed = time.perf_counter() - started
    await database.dispose()
    size = await asyncio.to_thread(os.path.getsize, target)
    return {"rows": rows, "seconds": round(elapsed, 2), "bytes": size}


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    result = asyncio.run(export(args.url, args.format, args.kind, args.target))
    result["peak_rss_mb"] = round(vm_hwm_mb(), 1)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url")
    parser.add_argument("--format")
    parser.add_argument("--kind")
    parser.add_argument("--target")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    count = 20_000 if args.quick else args.reports
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        seeded = asyncio.run(seed(url, count))
        print(f"seeded {count} reports in {seeded:.1f} s")
        results = {"reports": count, "seed_seconds": round(seeded, 1), "exports": {}}
        for format_, kind in (("csv", "reports"), ("xlsx", "reports"), ("csv", "summary")):
            target = f"{folder}/out.{format_}"
            out = subprocess.run(
                [sys.executable, __file__, "--child", "--url", url, "--format", format_,
                 "--kind", kind, "--target", target],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            result = json.loads(out.strip().splitlines()[-1])
            results["exports"][f"{format_}-{kind}"] = result
            print(
                f"{format_:>4} {kind:<8} {result['rows']:>7} rows  {result['seconds']:>6.2f} s  "
                f"{result['bytes'] / 1e6:>6.1f} MB  peak RSS {result['peak_rss_mb']:.0f} MB"
            )
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    out_path = ROOT / "bench" / "results" / "reports_export.json"
    out_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out_path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
