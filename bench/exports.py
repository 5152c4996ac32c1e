"""Roster export benchmark: 100,000 members as CSV and as XLSX, on SQLite.

Targets (issue: administrators' console): CSV in at most 3 s, XLSX in at most 15 s, peak
memory (RSS) at most 200 MB.

A fresh SQLite database in a temp directory is migrated and seeded (bench/seed.py: every member
an SMS number, 30% also Telegram, half Bambara), with organisations so the join is real. Each
export then runs in its own child process (so its peak RSS is its own, not the seeding's):
`storage.roster.roster_tables` → `storage.tabular.write_tables` into a file, exactly what
`GET /api/v1/members/export` and `benkadi members export` stream. Time is the wall time of that
call; memory is the child's ru_maxrss (its VmHWM).

    .venv/bin/python bench/exports.py                # 100,000 members
    .venv/bin/python bench/exports.py --members 20000

Results: a table on stdout and bench/results/exports.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.seed import seed_members  # noqa: E402
from broadcasts.model import Audience  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "exports.json"
TARGETS = {
    "csv": {"seconds": 3.0, "peak_rss_mb": 200},
    "xlsx": {"seconds": 15.0, "peak_rss_mb": 200},
}


async def prepare(url: str, members: int) -> dict:
    database = Database(url)
    await upgrade(database.engine)
    seeded = await seed_members(database, members)
    async with database.transaction() as connection:
        for n in range(50):  # 50 organisations, every member in one
            await connection.execute(
                text("INSERT INTO organisations (name, name_key, kind, listed, created_at) "
                     "VALUES (:n, :k, 'association', 1, CURRENT_TIMESTAMP)"),
                {"n": f"Association Sɛgɛ {n}", "k": f"association sege {n}"},
            )  # fmt: skip
        await connection.execute(text("UPDATE members SET organisation_id = 1 + id % 50"))
    await database.dispose()
    return {"members": seeded.members, "seed_seconds": seeded.seconds}


async def export(url: str, format_: str, target: str) -> dict:
    from storage import roster
    from storage.tabular import write_tables

    database = Database(url)
    started = time.perf_counter()
    with open(target, "wb") as handle:  # noqa: ASYNC230 - the benchmark process does only this

        async def sink(chunk: bytes) -> None:
            handle.write(chunk)

        rows = await write_tables(format_, roster.roster_tables(database, Audience(), False), sink)
    seconds = time.perf_counter() - started
    await database.dispose()
    return {
        "format": format_,
        "rows": rows,
        "seconds": round(seconds, 2),
        "bytes": Path(target).stat().st_size,  # noqa: ASYNC240
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "FORMAT", "TARGET"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(export(*args.child))))
        return 0
    with tempfile.TemporaryDirectory(prefix="benkadi-exports-") as folder:
        url = f"sqlite:///{folder}/bench.db"
        seeded = asyncio.run(prepare(url, args.members))
        print(f"seeded {seeded['members']} members in {seeded['seed_seconds']} s")
        results = []
        for format_ in ("csv", "xlsx"):
            child = subprocess.run(
                [sys.executable, __file__, "--child", url, format_, f"{folder}/roster.{format_}"],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            result = json.loads(child.stdout)
            target = TARGETS[format_]
            result["ok"] = (
                result["seconds"] <= target["seconds"]
                and result["peak_rss_mb"] <= target["peak_rss_mb"]
            )
            result["targets"] = target
            results.append(result)
            print(
                f"{format_:>4}: {result['rows']} rows, {result['seconds']} s "
                f"(target ≤ {target['seconds']} s), peak RSS {result['peak_rss_mb']} MB "
                f"(target ≤ {target['peak_rss_mb']} MB), {result['bytes'] / 1e6:.1f} MB file"
                f" — {'ok' if result['ok'] else 'MISSED'}"
            )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({**seeded, "exports": results}, indent=2) + "\n")
    return 0 if all(result["ok"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
