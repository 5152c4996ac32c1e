"""Directory import benchmark: a 50,000-row XLSX, read bare by openpyxl, then imported by
Benkadi as a dry run and for real, on SQLite, in the same run.

The file is made first (XlsxWriter; fictitious people in the sample's mix of notations: 2% with
a second number, 1% entered twice, a bad number every 500 rows, sex, age, themes, 300
organisations). Each phase then runs in its own child process, so its peak RSS is its own:
- `bare`: openpyxl.load_workbook(read_only=True) and every row's values: the floor;
- `dry-run`: bot.directory.run_import(dry_run=True) on an empty database (read, check, plan);
- `import`: the same, written (members, addresses, organisations, 50,000 invitations queued,
  audited), in one transaction;
- `again`: the dry run once everyone is known (every row merged).
Time is the phase's wall time; memory its child's ru_maxrss.

    .venv/bin/python bench/import.py                 # 50,000 rows
    .venv/bin/python bench/import.py --rows 10000

Results: a table on stdout and bench/results/import.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = Path(__file__).resolve().parent / "results" / "import.json"
HEADER = ["Nom et prénom", "Téléphone", "Téléphone 2", "Organisation", "Type", "Région",
          "Cercle/Commune", "Thèmes", "Langue", "Sexe", "Âge", "Fonction", "Email"]  # fmt: skip
REGIONS = ["Bamako", "Kayes", "Koulikoro", "Sikasso", "Ségou", "Mopti", "Tombouctou", "Gao"]
KINDS = ["Association", "ONG nationale", "Groupement féminin", "Réseau", "Coalition"]
THEMES = ["VBG", "Jeunesse", "Participation politique", "1325", "Santé sexuelle (SSR)"]


def make_file(path: Path, rows: int) -> None:
    import xlsxwriter

    rng = random.Random(50)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("annuaire")
    sheet.write_row(0, 0, HEADER)
    line = 1
    previous = ""
    for n in range(rows):
        local = f"{rng.choice((76, 66, 70, 79, 90, 65))}{n:06d}"
        if n % 500 == 499:
            phone: object = "76 12 34"  # a bad number: the row is refused
        elif n % 3 == 0:
            phone = int(local)  # Excel keeps it as a number
        else:
            phone = " ".join(local[i : i + 2] for i in range(0, 8, 2))
        if n % 100 == 1 and previous:
            phone = "00223" + previous  # entered twice: the previous row's number, otherwise
        previous = local
        second = f"+223 95{n:06d}" if n % 50 == 0 else ""
        sheet.write_row(line, 0, [
            f"Personne {n}", phone, second, f"Organisation {n % 300}", KINDS[n % len(KINDS)],
            REGIONS[n % len(REGIONS)], "Commune I", ", ".join(rng.sample(THEMES, 2)),
            rng.choice(("Français", "Bambara", "fr", "bm", "Songhay")), rng.choice(("F", "M", "")),
            rng.choice(("15-24", "25-35", "36+", "22", "")), rng.choice(("Présidente", "Membre")),
            "",
        ])  # fmt: skip
        line += 1
    workbook.close()


# --- the phases, each in a child -------------------------------------------------------------
def bare(path: Path) -> dict:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    count = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return {"rows": count - 1}


async def benkadi(path: Path, url: str, dry_run: bool) -> dict:
    from bot.directory import run_import
    from storage.database import Database
    from storage.suppression import SuppressionKey
    from storage.types import utcnow

    raw = await asyncio.to_thread(path.read_bytes)  # counted in the phase's time
    database = Database(url)
    try:
        summary = await run_import(
            database,
            raw,
            path.name,
            "bench",
            dry_run=dry_run,
            now=utcnow(),
            erasure_key=SuppressionKey(b"bench"),
        )
    finally:
        await database.dispose()
    keys = ("rows", "created", "merged", "refused", "organisations_created")
    return {key: summary[key] for key in keys} | {"invited": summary.get("invited", 0)}


def child(phase: str, path: Path, url: str) -> None:
    started = time.perf_counter()
    if phase == "bare":
        result = bare(path)
    else:
        result = asyncio.run(benkadi(path, url, dry_run=phase != "import"))
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))


def run_phase(phase: str, path: Path, url: str) -> dict:
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", phase, str(path), url], stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"phase {phase} failed ({status})")
    result = json.loads(output)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux: kilobytes
    return result


async def migrate(url: str) -> None:
    from storage.database import Database
    from storage.migrate import upgrade

    database = Database(url)
    await upgrade(database.engine)
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument(
        "--child", nargs=3, metavar=("PHASE", "FILE", "URL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        phase, file, url = args.child
        child(phase, Path(file), url)
        return
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "annuaire.xlsx"
        started = time.perf_counter()
        make_file(path, args.rows)
        made = time.perf_counter() - started
        url = f"sqlite:///{Path(directory) / 'benkadi.db'}"
        asyncio.run(migrate(url))
        phases = {
            phase: run_phase(phase, path, url) for phase in ("bare", "dry-run", "import", "again")
        }
        size = path.stat().st_size
    floor = phases["bare"]
    report = {
        "rows": args.rows,
        "file_mb": round(size / 1e6, 2),
        "file_made_seconds": round(made, 2),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "phases": phases,
        "vs_bare_read": {
            phase: {
                "time": round(phases[phase]["seconds"] / max(floor["seconds"], 0.01), 2),
                "peak_rss": round(phases[phase]["peak_rss_mb"] / floor["peak_rss_mb"], 2),
            }
            for phase in ("dry-run", "import", "again")
        },
        "self_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{args.rows} rows, {report['file_mb']} MB XLSX")
    print(f"{'phase':10} {'seconds':>8} {'peak MB':>8} {'× time':>7} {'× RSS':>6}  outcome")
    for phase, result in phases.items():
        ratio = report["vs_bare_read"].get(phase, {"time": 1.0, "peak_rss": 1.0})
        outcome = ", ".join(
            f"{key} {result[key]}"
            for key in ("created", "merged", "refused", "invited")
            if key in result
        )
        print(
            f"{phase:10} {result['seconds']:8.2f} {result['peak_rss_mb']:8.1f} "
            f"{ratio['time']:7.2f} {ratio['peak_rss']:6.2f}  {outcome or result.get('rows')}"
        )


if __name__ == "__main__":
    main()
