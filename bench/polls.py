"""Poll results and exports over 100,000 answers on SQLite: time and peak memory.

Seeds members (bench/seed.py) in organisations of every kind, launches the shipped capacity
poll to them (the real launch: broadcast, fan-out, sessions), stores answers for every
respondent (about 11 each: skips and conditions as a member would), then measures:

* results: counts per question and option, the four breakdowns, rates and scores (SQL);
* exports: CSV long and wide, XLSX long (with the counts and scores sheets) and wide,
  streamed to a file as the API and CLI do;
* peak RSS (getrusage) after seeding and after each step: bounded memory shows as a peak that
  does not grow with the number of rows exported.

    .venv/bin/python bench/polls.py                   # 10,000 respondents ≈ 110,000 answers
    .venv/bin/python bench/polls.py --respondents 2000
Targets: results ≤ 2 s, XLSX export ≤ 10 s. Results in bench/results/polls.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text, update  # noqa: E402

from bench.seed import seed_members  # noqa: E402
from broadcasts.polls import export, results  # noqa: E402
from broadcasts.polls import service as poll_service  # noqa: E402
from broadcasts.polls.model import Poll  # noqa: E402
from broadcasts.polls.parse import POLLS_DIR, load_poll_file  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Organisation  # noqa: E402
from storage.polls import choices, responses, sessions  # noqa: E402
from storage.tabular import write_tables  # noqa: E402

KINDS = ("ong_nationale", "ong_internationale", "association", "coalition", "reseau", "ocb")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BATCH = 5000


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def answer(question, rng: random.Random):
    """One plausible answer: (skipped, options, number, text)."""
    if question.optional and rng.random() < 0.3:
        return True, None, None, None
    if question.kind == "number":
        return False, None, float(rng.randint(int(question.minimum), 60)), None
    if question.kind == "text":
        return False, None, None, rng.choice(["RAS", "Merci", "Besoin de formation en gestion"])
    keys = list(question.option_keys)
    if question.kind == "multiple":
        return False, sorted(rng.sample(keys, rng.randint(1, min(3, len(keys))))), None, None
    return False, [rng.choice(keys)], None, None


async def seed_answers(database: Database, poll_id: int, poll: Poll, seed: int) -> int:
    rng = random.Random(seed)
    async with database.sessions() as session:
        ids = list(
            await session.scalars(select(sessions.c.id).where(sessions.c.poll_id == poll_id))
        )
    channels = ("sms", "telegram", "whatsapp")
    count = 0
    response_rows: list[dict] = []
    choice_rows: list[dict] = []
    finished: list[int] = []

    async def flush() -> None:
        async with database.transaction() as connection:
            if response_rows:
                await connection.execute(responses.insert(), response_rows)
            if choice_rows:
                await connection.execute(choices.insert(), choice_rows)
        response_rows.clear()
        choice_rows.clear()

    for session_id in ids:
        answers: dict = {}
        channel = rng.choice(channels)
        last = None
        while (question := poll.next_question(last, answers)) is not None:
            if rng.random() < 0.02:  # a few stop half-way
                break
            skipped, options, number, text_value = answer(question, rng)
            answers[question.key] = None if skipped else (options or number)
            response_rows.append({
                "session_id": session_id, "poll_id": poll_id, "question": question.key,
                "position": poll.position(question.key), "skipped": skipped, "options": options,
                "number": number, "text": text_value,
                "score": question.score_of(options) if options else None,
                "max_score": question.max_score if options else None,
                "dimension": question.dimension, "channel": channel, "answered_at": NOW,
            })  # fmt: skip
            for option in options or ():
                choice_rows.append({"session_id": session_id, "poll_id": poll_id,
                                    "question": question.key, "option": option})  # fmt: skip
            count += 1
            last = question.key
        else:
            finished.append(session_id)
        if len(response_rows) >= BATCH:
            await flush()
    await flush()
    async with database.transaction() as connection:
        await connection.execute(
            update(sessions).where(sessions.c.poll_id == poll_id).values(started_at=NOW)
        )
        for start in range(0, len(finished), BATCH):
            await connection.execute(
                update(sessions)
                .where(sessions.c.id.in_(finished[start : start + BATCH]))
                .values(finished_at=NOW)
            )
    return count


async def timed(label: str, figures: dict, coroutine) -> object:
    started = time.perf_counter()
    value = await coroutine
    figures[label] = {
        "seconds": round(time.perf_counter() - started, 3),
        "peak_rss_mb": round(peak_mb(), 1),
    }
    print(
        f"{label:28} {figures[label]['seconds']:7.3f} s   peak RSS {figures[label]['peak_rss_mb']:7.1f} MB"
    )
    return value


async def export_to(database, poll_id, poll, fmt, layout, path, result) -> int:
    tables = [export.answer_table(database, poll_id, poll, layout)]
    if fmt == "xlsx":
        tables += export.summary_tables(result)
    with open(path, "wb") as handle:  # noqa: ASYNC230 - a benchmark, nothing else runs

        async def sink(chunk: bytes) -> None:
            handle.write(chunk)

        return await write_tables(fmt, tables, sink)


async def main(respondents: int, seed: int) -> dict:
    figures: dict = {}
    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite:///{directory}/bench.db")
        await upgrade(database.engine)
        await seed_members(database, respondents)
        orgs = Organisation.__table__
        async with database.transaction() as connection:
            await connection.execute(orgs.insert(), [
                {"name": f"OSC {n}", "name_key": f"osc {n}", "kind": KINDS[n % len(KINDS)]}
                for n in range(1, 201)
            ])  # fmt: skip
            await connection.execute(text("UPDATE members SET organisation_id = (id % 200) + 1"))
        poll = load_poll_file(POLLS_DIR / "capacites-osc.toml")
        poll = Poll.from_json({**poll.to_json(), "opens_at": None, "closes_at": None})
        await poll_service.save(database, poll, "bench", NOW)
        launched = await poll_service.launch(
            database, poll.slug, "bench", enabled_channels=("sms", "telegram"), now=NOW
        )
        poll_id = launched["id"]
        started = time.perf_counter()
        answers = await seed_answers(database, poll_id, poll, seed)
        async with database.sessions() as session:
            chosen = await session.scalar(select(func.count()).select_from(choices))
        print(f"seeded {respondents} respondents, {answers} answers, {chosen} chosen options "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        figures["setup"] = {"respondents": respondents, "answers": answers, "chosen_options": chosen,
                            "peak_rss_mb": round(peak_mb(), 1)}  # fmt: skip
        result = await timed("results", figures, results.compute(database, poll.slug))
        await timed("results (again, warm)", figures, results.compute(database, poll.slug))
        for fmt, layout in (("csv", "long"), ("csv", "wide"), ("xlsx", "long"), ("xlsx", "wide")):
            path = Path(directory) / f"export-{layout}.{fmt}"
            rows = await timed(
                f"export {fmt} {layout}", figures,
                export_to(database, poll_id, poll, fmt, layout, path, result),
            )  # fmt: skip
            figures[f"export {fmt} {layout}"].update(rows=rows, bytes=path.stat().st_size)
        await database.dispose()
    figures["targets"] = {
        "results_le_2s": figures["results"]["seconds"] <= 2.0,
        "xlsx_le_10s": max(figures["export xlsx long"]["seconds"], figures["export xlsx wide"]["seconds"]) <= 10.0,
    }  # fmt: skip
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    figures = asyncio.run(main(args.respondents, args.seed))
    figures["machine"] = {"python": sys.version.split()[0], "date": datetime.now(UTC).isoformat()}
    out = ROOT / "bench" / "results" / "polls.json"
    out.write_text(json.dumps(figures, indent=2) + "\n", "utf-8")
    print(f"targets: {figures['targets']}  → {out.relative_to(ROOT)}")
