"""The console's polls and reports pages: a launched poll's results, charts and exports; reports
filtered and paged with their totals, validated by the secretariat only, exported through the
API's code; a report's photo served only to someone signed in, only from the media folder."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
from openpyxl import load_workbook
from sqlalchemy import update

from bot.model import MovePoll, RecordPollAnswer
from broadcasts.polls import service as poll_service
from gateway.console import reports as console_reports
from gateway.keys import SETTINGS
from storage import audit
from storage import polls as poll_store
from storage import reports as report_store
from storage.models import Report
from tests.console.test_console import account, csrf_of, get_page, sign_in
from tests.factories import add_report
from tests.polls.conftest import ALL_CHANNELS, add_member, capacity_poll

SLUG = "capacites-osc"
# A 1×1 PNG: what a downloaded report photo is, as far as the console is concerned.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)
REPORTS = [  # organisation, region, type, day, women, men, girls, boys
    ("AMSS", "kayes", "formation", date(2026, 10, 5), 10, 5, 2, 1),
    ("AMSS", "kayes", "formation", date(2026, 10, 20), 1, 1, 1, 1),
    ("Wildaf Mali", "kayes", "formation", date(2026, 11, 2), 3, 0, 0, 0),
    ("Wildaf Mali", "segou", "sensibilisation", date(2026, 11, 3), 20, 10, 0, 5),
]


async def seed_poll(database) -> dict[str, int]:
    """The shipped capacity poll, launched to three members; Awa (Kayes, SMS, French) says yes
    to the first question and finishes, Ali (Ségou, Telegram, Bambara) says no, Fanta says
    nothing."""
    people = {
        "awa": ("Awa", "sms", "+22376000001", "fr", "kayes", "ONG Kènèya", "ong_nationale"),
        "ali": ("Ali", "telegram", "9001", "bm", "segou", "OCB Jɛ", "ocb"),
        "fanta": ("Fanta", "sms", "+22376000003", "fr", "kayes", "ONG Kènèya", "ong_nationale"),
    }
    ids = {}
    for key, (name, channel, address, language, region, org, kind) in people.items():
        ids[key] = await add_member(
            database, name, channel=channel, address=address, language=language,
            region=region, organisation=org, kind=kind,
        )  # fmt: skip
    now = datetime.now(UTC)
    poll = capacity_poll()
    await poll_service.save(database, poll, "test", now)
    launched = await poll_service.launch(
        database, SLUG, "test", enabled_channels=ALL_CHANNELS, now=now
    )
    question = poll.question("recepisse")
    async with database.transaction() as connection:
        for key, answer, channel in (("awa", "yes", "sms"), ("ali", "no", "telegram")):
            recorded = RecordPollAnswer(
                launched["id"], "recepisse", 0, (answer,), score=question.score_of((answer,)),
                max_score=question.max_score, dimension=question.dimension,
            )  # fmt: skip
            await poll_store.record_answer(connection, ids[key], recorded, channel, now)
            moved = MovePoll(launched["id"], None if key == "awa" else "plan-strategique",
                             finished=key == "awa")  # fmt: skip
            await poll_store.move(connection, ids[key], moved, channel, now)
    return ids


async def seed_reports(database) -> None:
    now = datetime.now(UTC)
    async with database.transaction() as connection:
        for organisation, region, activity, day, *counts in REPORTS:
            await add_report(
                connection, organisation=organisation, region=region, activity=activity,
                day=day, counts=counts, now=now, member="Kadi", commune="Kita", channel="telegram",
            )  # fmt: skip


def place_files(inside: Path, outside: Path) -> None:
    """A photo as the fetcher leaves it in the media folder, and a file outside it."""
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.write_bytes(PNG)
    outside.write_bytes(b"\x89PNG not for the console")
    (inside.parent / "report-4.svg").write_text("<svg><script>alert(1)</script></svg>")


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def download(session, url: str) -> tuple[int, bytes, dict]:
    async with session.get(url) as response:
        return response.status, await response.read(), dict(response.headers)


async def test_poll_list_results_charts_and_exports(console):
    ids = await seed_poll(console.database)
    await account(console, "vera", "viewer")
    session, *_ = await sign_in(console, "vera")
    async with session:
        status, html, _ = await get_page(session, console.url + "/console/polls")
        assert status == 200 and f'href="/console/polls/{SLUG}"' in html
        assert "Capacités des OSC" in html and "lancé" in html
        assert "66,7\u00a0%" in html and "33,3\u00a0%" in html  # 2 of 3 started, 1 finished

        status, html, _ = await get_page(session, console.url + f"/console/polls/{SLUG}")
        assert status == 200
        assert '<b id="invited">3</b>' in html and '<b id="started">2</b>' in html
        assert '<b id="finished">1</b>' in html
        assert (
            "fr, bm (à relire), ff (à relire), ses (à relire), en</p>" in html
        )  # the poll's [review] table: each language's state
        assert "Votre organisation a-t-elle un récépissé" in html
        assert '<td>Oui</td><td class="n">1</td><td class="n">50\u00a0%</td>' in html
        for heading in ("Par région", "Par type d&#39;organisation", "Par langue", "Par canal"):
            assert heading in html
        assert "<td>Kayes</td>" in html and "<td>Ségou</td>" in html  # labels, not keys
        assert "<td>Bamanankan</td>" in html and "<td>Telegram</td>" in html
        # Two answers: every bar would be a hidden small cell, so no empty chart ("No data")
        # but a French note; the scores' chart is drawn, inline.
        assert 'id="chart-hidden-recepisse"' in html and ">No data</text>" not in html
        assert html.count("<svg") >= 1
        assert "<?xml" not in html and "kozea" not in html  # no declaration, no CDN script
        assert "Scores de capacité" in html and "ONG Kènèya" in html and "OCB Jɛ" in html
        assert "organisationnelle" in html and "100\u00a0%" in html

        status, data, headers = await download(
            session, console.url + f"/console/polls/{SLUG}/export?format=csv&layout=long"
        )
        assert status == 200 and headers["Content-Type"].startswith("text/csv")
        assert f'filename="{SLUG}-long.csv"' in headers["Content-Disposition"]
        rows = parse_csv(data)
        answer = rows[0].index("answer")
        assert sorted((row[0], row[answer]) for row in rows[1:]) == sorted(
            [(str(ids["awa"]), "Oui"), (str(ids["ali"]), "Non")]
        )
        status, data, _ = await download(
            session, console.url + f"/console/polls/{SLUG}/export?format=xlsx&layout=wide"
        )
        assert status == 200
        book = load_workbook(io.BytesIO(data))
        wide = list(book.worksheets[0].iter_rows(values_only=True))
        assert len(wide) == 3 and "recepisse" in wide[0]
        assert "counts" in book.sheetnames and "scores" in book.sheetnames
        status, _, _ = await download(
            session, console.url + f"/console/polls/{SLUG}/export?format=pdf"
        )
        assert status == 400
        status, _, _ = await download(session, console.url + "/console/polls/nothing-here")
        assert status == 404
    exports = [e for e in await audit.entries(console.database) if e["action"] == "poll.export"]
    assert len(exports) == 2 and {e["actor"] for e in exports} == {"console:vera"}
    assert exports[0]["target"] == f"poll:{SLUG}"


async def test_reports_list_filters_paging_and_totals(console, monkeypatch):
    await seed_reports(console.database)
    await account(console, "vera", "viewer")
    session, *_ = await sign_in(console, "vera")
    async with session:
        status, html, _ = await get_page(session, console.url + "/console/reports")
        assert status == 200
        for report_id in (1, 2, 3, 4):
            assert f'href="/console/reports/{report_id}"' in html
        assert "Wildaf Mali" in html and "Sensibilisation" in html
        # Totals by region, type and month: women, men, girls, boys, sum; and the grand total.
        assert '<td>Kayes</td><td>Formation</td><td>2026-10</td><td class="n">11</td>' in html
        assert "".join(f'<th class="n">{n}</th>' for n in (34, 16, 3, 7, 60)) in html
        assert "<svg" in html  # participants per month
        assert "export-reports-csv" not in html  # exports are the secretariat's, as in the API

        status, html, _ = await get_page(
            session, console.url + "/console/reports?region=segou&status=submitted"
        )
        assert 'href="/console/reports/4"' in html and 'href="/console/reports/3"' not in html
        assert '<th class="n">35</th>' in html
        status, html, _ = await get_page(
            session, console.url + "/console/reports?organisation=amss&to=2026-10-10"
        )
        assert 'href="/console/reports/1"' in html and 'href="/console/reports/2"' not in html
        status, html, _ = await get_page(session, console.url + "/console/reports?from=hier")
        assert status == 400 and "Date de début invalide" in html

        monkeypatch.setattr(console_reports, "PER_PAGE", 3)
        status, html, _ = await get_page(session, console.url + "/console/reports?region=kayes")
        assert 'href="/console/reports/3"' in html and 'href="/console/reports/1"' in html
        assert 'id="next-page"' not in html  # exactly three in Kayes
        status, html, _ = await get_page(session, console.url + "/console/reports")
        assert 'href="/console/reports/2"' in html and 'href="/console/reports/1"' not in html
        assert 'id="next-page" href="?before=2"' in html
        status, html, _ = await get_page(session, console.url + "/console/reports?before=2")
        assert 'href="/console/reports/1"' in html and 'href="/console/reports/2"' not in html

        status, html, _ = await get_page(session, console.url + "/console/reports/4")
        assert status == 200 and "Atelier sensibilisation" in html and "Kita" in html
        assert '<td class="n">35</td>' in html and "Aucune photo." in html
        status, _, _ = await get_page(session, console.url + "/console/reports/99")
        assert status == 404


async def test_only_the_secretariat_validates_and_exports(console):
    await seed_reports(console.database)
    await account(console, "vera", "viewer")
    await account(console, "awa", "secretariat")
    viewer, *_ = await sign_in(console, "vera")
    secretariat, *_ = await sign_in(console, "awa")
    async with viewer, secretariat:
        status, html, _ = await get_page(viewer, console.url + "/console/reports/1")
        assert status == 200 and 'id="validate"' not in html
        form = {"csrf": csrf_of(html)}
        async with viewer.post(console.url + "/console/reports/1/validate", data=form) as response:
            assert response.status == 403
        status, _, _ = await download(viewer, console.url + "/console/reports/export?format=csv")
        assert status == 403

        status, html, _ = await get_page(secretariat, console.url + "/console/reports/1")
        assert 'id="validate"' in html
        async with secretariat.post(console.url + "/console/reports/1/validate") as response:
            assert response.status == 403  # no CSRF token
        form = {"csrf": csrf_of(html)}
        async with secretariat.post(
            console.url + "/console/reports/1/validate", data=form
        ) as response:
            page = await response.text()
        assert response.status == 200 and response.url.path == "/console/reports/1"
        assert "validé (console:awa" in page and 'id="validate"' not in page

        status, data, headers = await download(
            secretariat,
            console.url + "/console/reports/export?format=csv&kind=reports&region=kayes",
        )
        assert status == 200 and "benkadi-reports-" in headers["Content-Disposition"]
        rows = parse_csv(data)
        assert rows[0][:3] == ["id", "date", "mois"]
        assert [row[0] for row in rows[1:]] == ["1", "2", "3"]
        assert rows[1][rows[0].index("statut")] == "validated"
        status, data, _ = await download(
            secretariat, console.url + "/console/reports/export?format=xlsx&kind=summary"
        )
        sheet = load_workbook(io.BytesIO(data)).worksheets[0]
        totals = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert totals[0][-1] == "total" and [row[-1] for row in totals[1:]] == [22, "< 5", 35]
        status, data, _ = await download(
            secretariat, console.url + "/console/reports/export?format=pdf"
        )
        assert status == 400 and "Format inconnu" in data.decode()
    entries = await audit.entries(console.database)
    assert [e["actor"] for e in entries if e["action"] == "report.validate"] == ["console:awa"]
    exports = [e for e in entries if e["action"] == "reports.export"]
    assert len(exports) == 2 and exports[-1]["details"]["filters"] == {"region": "kayes"}


async def test_report_photo_only_for_the_signed_in_and_only_from_the_media_folder(
    console, tmp_path
):
    await seed_reports(console.database)
    media = Path(console.app[SETTINGS].media_dir)
    inside, outside = media / "report-1-abc.png", tmp_path / "secret.png"
    await asyncio.to_thread(place_files, inside, outside)
    reports = Report.__table__
    async with console.database.transaction() as connection:
        await report_store.media_saved(connection, 1, str(inside))
        await report_store.media_saved(connection, 2, str(outside))
        await connection.execute(
            update(reports).where(reports.c.id == 3).values(media_path=str(media / "../secret.png"))
        )
        await report_store.media_saved(connection, 4, str(media / "report-4.svg"))
    async with aiohttp.ClientSession() as stranger:
        async with stranger.get(
            console.url + "/console/reports/1/photo", allow_redirects=False
        ) as response:
            assert response.status == 302
            assert response.headers["Location"].startswith("/console/login")
    await account(console, "vera", "viewer")
    session, *_ = await sign_in(console, "vera")
    async with session:
        status, data, headers = await download(session, console.url + "/console/reports/1/photo")
        assert status == 200 and data == PNG and headers["Content-Type"] == "image/png"
        status, html, _ = await get_page(session, console.url + "/console/reports/1")
        assert 'id="photo" src="/console/reports/1/photo"' in html
        for report_id in (2, 3, 4, 5):  # outside, through "..", an SVG, no report
            status, data, _ = await download(
                session, console.url + f"/console/reports/{report_id}/photo"
            )
            assert status == 404 and b"not for the console" not in data and b"<svg" not in data
        status, html, _ = await get_page(session, console.url + "/console/reports/2")
        assert 'id="photo"' not in html


async def test_new_routes_refuse_a_missing_session(console):
    """The general test (test_console.py) enumerates every route; here, that these are there."""
    await seed_reports(console.database)
    expected = {
        ("GET", "/polls"), ("GET", f"/polls/{SLUG}"), ("GET", f"/polls/{SLUG}/export"),
        ("GET", "/reports"), ("GET", "/reports/export"), ("GET", "/reports/1"),
        ("GET", "/reports/1/photo"), ("POST", "/reports/1/validate"),
    }  # fmt: skip
    async with aiohttp.ClientSession() as stranger:
        for method, path in sorted(expected):
            async with stranger.request(
                method, console.url + "/console" + path, allow_redirects=False
            ) as response:
                assert response.status == 302, (method, path)
                assert response.headers["Location"].startswith("/console/login"), path
    async with console.database.sessions() as session:
        status = await session.scalar(
            Report.__table__.select().with_only_columns(Report.__table__.c.status)
        )
    assert status == "submitted"  # the refused POST validated nothing
