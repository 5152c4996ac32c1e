"""Backups: one encrypted file, taken while a broadcast goes out, that restores to a database
`benkadi db current` accepts, holding every member."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import text

from broadcasts import service
from broadcasts.model import Audience, Draft
from gateway.cli import backup
from gateway.cli.main import _db
from gateway.settings import Settings
from tests.conftest import PG_URL, database_url_for
from tests.gateway.test_broadcast_e2e import seed_sms_members
from tests.harness import start_harness, stop_harness

PASSPHRASE = "correct horse battery staple"


@pytest.mark.unit
def test_encryption_round_trip_and_refusals():
    plain = bytes(range(256)) * 9000  # more than two chunks
    sealed = io.BytesIO()
    backup.encrypt(io.BytesIO(plain), sealed, PASSPHRASE)
    data = sealed.getvalue()
    assert plain[:4096] not in data
    out = io.BytesIO()
    backup.decrypt(io.BytesIO(data), out, PASSPHRASE)
    assert out.getvalue() == plain
    with pytest.raises(backup.BackupError, match="wrong passphrase"):
        backup.decrypt(io.BytesIO(data), io.BytesIO(), "not the passphrase")
    with pytest.raises(backup.BackupError, match="cut short"):
        backup.decrypt(io.BytesIO(data[: len(data) // 2]), io.BytesIO(), PASSPHRASE)
    altered = bytearray(data)
    altered[-100] ^= 1
    with pytest.raises(backup.BackupError, match="damaged"):
        backup.decrypt(io.BytesIO(bytes(altered)), io.BytesIO(), PASSPHRASE)
    with pytest.raises(backup.BackupError, match="not a Benkadi backup"):
        backup.decrypt(io.BytesIO(b"hello"), io.BytesIO(), PASSPHRASE)


async def test_backup_during_a_broadcast_restores_every_member(tmp_path, capsys):
    media = tmp_path / "media"
    media.mkdir()
    (media / "report-1-abc.jpg").write_bytes(b"JPEG")
    harness, runner = await start_harness(
        f"sqlite:///{tmp_path / 'live.db'}", sms_rate=50.0, media_dir=str(media)
    )
    try:
        await seed_sms_members(harness.database, 300)
        broadcast_id = await service.create(
            harness.database, Draft(texts={"fr": "Alerte"}, audience=Audience()), actor="test"
        )
        await service.send_now(harness.database, broadcast_id, "test", enabled_channels=["sms"])
        harness.dispatcher.wake()
        await harness.twilio.wait_for_messages(20, timeout=10)
        file = tmp_path / "benkadi.backup"
        manifest = await asyncio.to_thread(backup.take, harness.settings, file, PASSPHRASE)
        sent_during = len(harness.twilio.sent)
        status = await service.get_status(harness.database, broadcast_id)
        assert status["totals"].get("queued", 0) > 0, "the backup ran after the broadcast ended"
        # Restoring under the running service is refused, before the passphrase is even tried:
        # it would go on writing into the replaced file's WAL.
        with pytest.raises(backup.BackupError, match="in use"):
            await asyncio.to_thread(backup.restore, harness.settings, file, "any passphrase")
        assert (tmp_path / "live.db-wal").exists()
    finally:
        await stop_harness(harness, runner)
    # Stopped, it restores over the same file, and keeps a full copy of what was there.
    await asyncio.to_thread(backup.restore, harness.settings, file, PASSPHRASE)
    kept = tmp_path / "live.db.before-restore"
    assert kept.stat().st_mode & 0o077 == 0
    with closing(sqlite3.connect(kept)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("SELECT count(*) FROM members").fetchone()[0] == 300
    assert manifest["members"] == 300 and manifest["revision"] and manifest["photos"] == 1
    assert sent_during < 300
    assert file.stat().st_mode & 0o077 == 0
    assert b"Membre 1" not in file.read_bytes()

    restored = Settings.from_env(
        {
            "BENKADI_DATABASE_URL": f"sqlite:///{tmp_path / 'restored' / 'benkadi.db'}",
            "BENKADI_MEDIA_DIR": str(tmp_path / "restored-media"),
        }
    )
    backup.restore(restored, file, PASSPHRASE)
    capsys.readouterr()
    assert await _db(restored, "current") == 0
    assert capsys.readouterr().out.strip() == f"database at revision {manifest['revision']}"
    with closing(sqlite3.connect(tmp_path / "restored" / "benkadi.db")) as connection:
        assert connection.execute("SELECT count(*) FROM members").fetchone()[0] == 300
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert (tmp_path / "restored-media" / "report-1-abc.jpg").read_bytes() == b"JPEG"
    assert (tmp_path / "restored-media" / "report-1-abc.jpg").stat().st_mode & 0o077 == 0
    with pytest.raises(backup.BackupError, match="wrong passphrase"):
        backup.restore(restored, file, "another passphrase")


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured")
async def test_postgresql_round_trip(tmp_path, capsys):
    from storage.database import Database
    from storage.migrate import current_revision, upgrade

    async for source_url in database_url_for("postgresql", tmp_path):
        database = Database(source_url)
        await upgrade(database.engine)
        await seed_sms_members(database, 25)
        head = await current_revision(database.engine)
        await database.dispose()
        source = Settings.from_env(
            {"BENKADI_DATABASE_URL": source_url, "BENKADI_MEDIA_DIR": str(tmp_path / "m")}
        )
        file = tmp_path / "pg.backup"
        await asyncio.to_thread(backup.take, source, file, PASSPHRASE)
        async for target_url in database_url_for("postgresql", tmp_path):
            target = Settings.from_env(
                {"BENKADI_DATABASE_URL": target_url, "BENKADI_MEDIA_DIR": str(tmp_path / "m2")}
            )
            holder = Database(target_url)  # as a running service would: a session open
            async with holder.sessions() as session:
                await session.execute(text("SELECT 1"))
                with pytest.raises(backup.BackupError, match="in use"):
                    await asyncio.to_thread(backup.restore, target, file, PASSPHRASE)
            await holder.dispose()
            await asyncio.to_thread(backup.restore, target, file, PASSPHRASE)
            capsys.readouterr()
            assert await _db(target, "current") == 0
            assert capsys.readouterr().out.strip() == f"database at revision {head}"
            restored = Database(target_url)
            async with restored.sessions() as session:
                from sqlalchemy import func, select

                from storage.models import Member

                assert await session.scalar(select(func.count()).select_from(Member)) == 25
            await restored.dispose()


@pytest.mark.unit
def test_the_postgresql_password_is_not_on_the_command_line():
    settings = Settings.from_env(
        {"BENKADI_DATABASE_URL": "postgresql://benkadi:s3cret-pw@db.example:5432/benkadi"}
    )
    assert backup._libpq_url(settings) == "postgresql://benkadi@db.example:5432/benkadi"
    assert backup._pg_env(settings)["PGPASSWORD"] == "s3cret-pw"
