"""OUBLIER leaves no trace: not in the SQLite files' raw bytes (secure deletion, the WAL
checkpointed and truncated once the erasure and the goodbye's sending commit), not an
organisation only that member typed, not their photos; and Benkadi's files are its user's only."""

from __future__ import annotations

import asyncio
import os
import stat
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update

from storage import members as member_store
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Organisation, RateCount, Report
from storage.types import utcnow
from tests.factories import add_member, add_report
from tests.gateway.test_registration_e2e import converse_sms
from tests.harness import start_harness, stop_harness

NUMBER = "+22376987654"
SECRET_TEXT = "Zorglub-kalanden"  # what the member typed, many times
THEIR_ORGANISATION = "Tontine Xyzzy Kanu"
SHARED_ORGANISATION = "Groupement Musow Kafo"


def raw(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def sqlite_files(tmp_path: Path) -> bytes:
    return b"".join(raw(tmp_path / f"benkadi.db{suffix}") for suffix in ("", "-wal", "-journal"))


@pytest.fixture
async def h(tmp_path):
    running, runner = await start_harness(
        f"sqlite:///{tmp_path / 'benkadi.db'}", media_dir=str(tmp_path / "media")
    )
    yield running
    await stop_harness(running, runner)


async def test_oublier_leaves_nothing_in_the_sqlite_files_nor_on_disk(h, tmp_path):
    photo = tmp_path / "media" / "report-1-abc.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"\xff\xd8\xff\xe0 a face")
    async with h.database.transaction() as connection:
        now = utcnow()
        org = Organisation.__table__
        mine = (
            await connection.execute(
                org.insert().values(name=THEIR_ORGANISATION, name_key="tontine xyzzy kanu")
                .returning(org.c.id)
            )
        ).scalar_one()  # fmt: skip
        shared = (
            await connection.execute(
                org.insert().values(name=SHARED_ORGANISATION, name_key="groupement musow kafo")
                .returning(org.c.id)
            )
        ).scalar_one()  # fmt: skip
        member_id = await add_member(
            connection, name="Awa Traoré", region="kayes", now=now, organisation_id=mine,
            addresses=[("sms", NUMBER)],
        )  # fmt: skip
        await add_member(
            connection, name="Bintou", region="kayes", now=now, organisation_id=shared,
            addresses=[("sms", "+22365000111")],
        )  # fmt: skip
        report_id = await add_report(
            connection, organisation=SHARED_ORGANISATION, region="kayes", activity="formation",
            day=date(2026, 11, 20), counts=(5, 0, 0, 0), now=now,
        )  # fmt: skip
        reports = Report.__table__
        await connection.execute(
            update(reports).where(reports.c.id == report_id)
            .values(member_id=member_id, media_kind="telegram", media_ref="AgAC", media_path=str(photo))
        )  # fmt: skip
    for n in range(5):  # pages with the number and the text, written again and again
        await converse_sms(h, NUMBER, [f"{SECRET_TEXT} {n}"])
    await h.settle()
    before = sqlite_files(tmp_path)
    assert NUMBER[4:].encode() in before and SECRET_TEXT.encode() in before  # the fixture holds

    await converse_sms(h, NUMBER, ["OUBLIER"])
    [goodbye] = await converse_sms(h, NUMBER, ["1"])
    assert "effacées" in goodbye
    await h.settle()  # the goodbye went: its number is forgotten too, and the WAL truncated

    files = sqlite_files(tmp_path)
    for trace in (NUMBER[4:], SECRET_TEXT, THEIR_ORGANISATION):
        assert trace.encode() not in files, trace
    assert SHARED_ORGANISATION.encode() in files  # others' things stay
    assert not photo.exists()
    async with h.database.sessions() as session:
        names = list(await session.scalars(select(Organisation.name)))
        report = (await session.execute(select(Report.__table__))).one()
        counts = list(await session.scalars(select(RateCount.key)))
    assert names == [SHARED_ORGANISATION]
    assert (report.media_kind, report.media_ref, report.media_path) == (None, None, None)
    assert report.women == 5  # the organisations' record stays
    assert all(not key.startswith("reply:sms:") for key in counts)  # their reply count went


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_wal_and_folder_are_the_owners_only(tmp_path):
    previous = os.umask(0o022)  # a usual umask: files would be world-readable
    try:
        folder = tmp_path / "var"
        database = Database(f"sqlite:///{folder / 'benkadi.db'}")
        await upgrade(database.engine)
        async with database.transaction() as connection:
            await add_member(connection, name="Awa", region="kayes", now=utcnow())
            # Checked while the app runs: the -wal and -shm files exist now.
            for suffix in ("", "-wal", "-shm"):
                assert mode(folder / f"benkadi.db{suffix}") == 0o600, suffix
        await database.dispose()
        assert mode(folder) == 0o700
    finally:
        os.umask(previous)


def test_the_command_makes_private_files(tmp_path, monkeypatch):
    from gateway.cli import main as cli

    url = f"sqlite:///{tmp_path / 'benkadi.db'}"
    monkeypatch.setenv("BENKADI_DATABASE_URL", url)
    asyncio.run(_migrated(url))
    previous = os.umask(0o022)
    try:
        target = tmp_path / "membres.csv"
        assert cli.main(["members", "export", "--format", "csv", "-o", str(target)]) == 0
        assert mode(target) == 0o600  # an export of personal data too
        assert os.umask(0o022) == 0o022  # and the umask is given back
    finally:
        os.umask(previous)


async def _migrated(url: str) -> None:
    database = Database(url)
    await upgrade(database.engine)
    await database.dispose()


async def test_erasure_keeps_what_others_share_on_every_backend(database):
    """The store's part, on SQLite and PostgreSQL: an organisation goes only if nobody else
    (member or report) names it and it is not listed; the photo paths come back for removal."""
    org = Organisation.__table__
    async with database.transaction() as connection:
        now = utcnow()
        ids = {}
        for name, listed in (("Tontine A", False), ("Réseau B", False), ("ONG C", True)):
            ids[name] = (
                await connection.execute(
                    org.insert()
                    .values(name=name, name_key=name.lower(), listed=listed)
                    .returning(org.c.id)
                )
            ).scalar_one()
        awa = await add_member(
            connection, name="Awa", region="kayes", now=now, organisation_id=ids["Tontine A"],
            addresses=[("sms", NUMBER)],
        )  # fmt: skip
        bintou = await add_member(
            connection, name="Bintou", region="kayes", now=now, organisation_id=ids["Réseau B"]
        )
        mariam = await add_member(
            connection, name="Mariam", region="kayes", now=now, organisation_id=ids["ONG C"]
        )
        report_id = await add_report(
            connection, organisation="Réseau B", region="kayes", activity="formation",
            day=date(2026, 11, 20), counts=(1, 0, 0, 0), now=now,
        )  # fmt: skip
        reports = Report.__table__
        await connection.execute(
            update(reports).where(reports.c.id == report_id)
            .values(member_id=bintou, media_kind="telegram", media_ref="x", media_path="/m/b.jpg")
        )  # fmt: skip
    erased = []
    for member_id in (awa, bintou, mariam):
        async with database.transaction() as connection:
            erased.append(await member_store.erase_member(connection, member_id, utcnow()))
    assert erased[0].addresses == [("sms", NUMBER)] and erased[0].photos == []
    assert erased[1].photos == ["/m/b.jpg"]
    async with database.sessions() as session:
        names = set(await session.scalars(select(Organisation.name)))
    # Awa's own typed organisation went; Bintou's stays (the member the report factory made
    # belongs to it too); the listed one stays.
    assert names == {"Réseau B", "ONG C"}
