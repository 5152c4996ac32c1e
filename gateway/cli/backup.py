"""`benkadi backup FILE` and `benkadi restore FILE`: the database and the report photos in one
file encrypted with a passphrase, that a secretariat can keep off the server.

The database is copied while the service runs: SQLite through its online backup API in one
step (one read snapshot; in WAL mode the writers never wait for it), PostgreSQL with pg_dump
(one transaction's snapshot). The copy and the photos go into a tar.gz, encrypted with
AES-256-GCM (the `cryptography` package) in 1 MiB chunks under a key derived from the
passphrase by scrypt; every chunk is authenticated with its position and whether it is the
last, so a truncated, reordered or altered file is refused rather than half restored.

The passphrase comes from BENKADI_BACKUP_PASSPHRASE, or is asked for (twice for a backup).
Restore replaces the database the configuration points at, and refuses while anything has it
open (a running `benkadi serve`): on SQLite the service would go on writing into the replaced
file's WAL, its writes lost and the restored file soon inconsistent with what it believes. An
SQLite file there is kept beside it as *.before-restore (a full copy, its WAL included).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy.engine import make_url

from bot.vocabulary.errors import FieldError
from gateway.cli.arguments import Commands
from gateway.settings import Settings
from storage.database import normalise_url

MAGIC = b"BENKADI-BACKUP\x01"
CHUNK = 1024 * 1024
SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P = 15, 8, 1  # ~32 MiB and a fraction of a second per try
MIN_PASSPHRASE = 12
PASSPHRASE_ENV = "BENKADI_BACKUP_PASSPHRASE"
_HEADER = struct.Struct(">16s8sBBB")  # salt, nonce prefix, scrypt log2(n), r, p
_FRAME = struct.Struct(">BI")  # last chunk?, ciphertext length


class BackupError(FieldError):
    pass


# --- encryption ----------------------------------------------------------------------------
def _key(passphrase: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=2**log_n, r=r, p=p)
    return kdf.derive(passphrase.encode("utf-8"))


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">QB", index, last)


def encrypt(source: BinaryIO, target: BinaryIO, passphrase: str) -> None:
    salt, prefix = os.urandom(16), os.urandom(8)
    header = MAGIC + _HEADER.pack(salt, prefix, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
    aead = AESGCM(_key(passphrase, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P))
    target.write(header)
    index, chunk = 0, source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        last = not following
        nonce = prefix + struct.pack(">I", index)
        sealed = aead.encrypt(nonce, chunk, _aad(header, index, last))
        target.write(_FRAME.pack(last, len(sealed)) + sealed)
        if last:
            return
        index, chunk = index + 1, following


def decrypt(source: BinaryIO, target: BinaryIO, passphrase: str) -> None:
    magic = source.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupError("file", "is not a Benkadi backup")
    fields = source.read(_HEADER.size)
    if len(fields) != _HEADER.size:
        raise BackupError("file", "is cut short")
    salt, prefix, log_n, r, p = _HEADER.unpack(fields)
    if not (10 <= log_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
        raise BackupError("file", "has impossible key parameters")
    header = magic + fields
    aead = AESGCM(_key(passphrase, salt, log_n, r, p))
    index = 0
    while True:
        frame = source.read(_FRAME.size)
        if len(frame) != _FRAME.size:
            raise BackupError("file", "is cut short (its last part is missing)")
        last, size = _FRAME.unpack(frame)
        sealed = source.read(size)
        if len(sealed) != size or size > CHUNK + 16:
            raise BackupError("file", "is cut short")
        try:
            plain = aead.decrypt(
                prefix + struct.pack(">I", index), sealed, _aad(header, index, bool(last))
            )
        except InvalidTag:
            message = "wrong passphrase" if index == 0 else "is damaged or was altered"
            raise BackupError("passphrase" if index == 0 else "file", message) from None
        target.write(plain)
        if last:
            if source.read(1):
                raise BackupError("file", "has data after its end")
            return
        index += 1


# --- the database ----------------------------------------------------------------------------
def _sqlite_path(settings: Settings) -> Path | None:
    url = make_url(normalise_url(settings.database_url))
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("database", "an in-memory database cannot be backed up")
    return Path(url.database)


def _libpq_url(settings: Settings) -> str:
    """The URL for pg_dump/pg_restore/psql, without its password: a command line is visible
    to every user of the machine (`ps`); the password goes in their environment (_pg_env)."""
    url = make_url(normalise_url(settings.database_url)).set(drivername="postgresql")
    return url._replace(password=None).render_as_string(hide_password=False)


def _pg_env(settings: Settings) -> dict[str, str]:
    password = make_url(normalise_url(settings.database_url)).password
    return {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}


def _copy_sqlite(path: Path, target: Path) -> dict[str, Any]:
    if not path.exists():
        raise BackupError("database", f"no database at {path}")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # one step: one consistent snapshot, writers carry on meanwhile
        return _facts(copy)
    finally:
        copy.close()
        source.close()


def _facts(connection: sqlite3.Connection) -> dict[str, Any]:
    def one(query: str) -> Any:
        try:
            return connection.execute(query).fetchone()[0]
        except sqlite3.Error:
            return None

    return {
        "revision": one("SELECT version_num FROM alembic_version"),
        "members": one("SELECT count(*) FROM members"),
    }


def _pg(command: list[str], settings: Settings) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, env=_pg_env(settings)
        )
    except FileNotFoundError:
        raise BackupError(
            "database", f"{command[0]} is not installed (postgresql-client)"
        ) from None
    if done.returncode != 0:
        # Its message names the database and the problem, never a row's content.
        raise BackupError("database", f"{command[0]} failed: {done.stderr.strip()[:500]}")
    return done.stdout


IN_USE = "is in use (stop `benkadi serve` and `benkadi dispatch` first, then restore)"


def _refuse_if_sqlite_in_use(path: Path) -> None:
    """An exclusive lock the database's other users would have to let go of: every connection
    that has read a WAL database holds a shared lock on it for as long as it stays open, and
    the service keeps its connections open. Waits for nobody (timeout 0)."""
    if not path.exists():
        return
    probe = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0, isolation_level=None)
    try:
        probe.execute("PRAGMA locking_mode=EXCLUSIVE")
        probe.execute("BEGIN EXCLUSIVE")
        probe.execute("COMMIT")
    except sqlite3.OperationalError:
        raise BackupError("database", f"{path} {IN_USE}") from None
    finally:
        probe.close()


PG_OTHERS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
)


def _refuse_if_postgresql_in_use(settings: Settings) -> None:
    """Another session on the database (the service's pool) would see its tables dropped and
    made again under it."""
    command = ["psql", "-X", "-A", "-t", "-c", PG_OTHERS, _libpq_url(settings)]
    others = _pg(command, settings).strip()
    if others.isdigit() and int(others) > 0:
        raise BackupError("database", f"the database {IN_USE} ({others} other connections)")


def _keep_before_restore(path: Path) -> None:
    """A full copy of what is there now, what its WAL holds included (SQLite's backup API)."""
    kept = path.with_name(path.name + ".before-restore")
    kept.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    descriptor = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(descriptor)  # readable by its owner only, as the database itself
    copy = sqlite3.connect(kept)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


# --- backup and restore ----------------------------------------------------------------------
def _media_files(media_dir: Path) -> Iterator[Path]:
    if media_dir.is_dir():
        yield from (p for p in sorted(media_dir.rglob("*")) if p.is_file() and p.suffix != ".part")


def take(settings: Settings, target: Path, passphrase: str) -> dict[str, Any]:
    """Write the encrypted backup to `target`; returns its manifest."""
    sqlite_path = _sqlite_path(settings)
    media_dir = Path(settings.media_dir)
    with tempfile.TemporaryDirectory(prefix="benkadi-backup-") as work:
        folder = Path(work)
        manifest: dict[str, Any] = {
            "format": 1,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if sqlite_path is not None:
            database = folder / "database.sqlite"
            manifest |= {"kind": "sqlite", **_copy_sqlite(sqlite_path, database)}
        else:
            database = folder / "database.pgdump"
            _pg(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "-f",
                    str(database),
                    _libpq_url(settings),
                ],
                settings,
            )
            manifest |= {"kind": "postgresql"}
        photos = list(_media_files(media_dir))
        manifest["photos"] = len(photos)
        archive = folder / "backup.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            info = tarfile.TarInfo("manifest.json")
            data = json.dumps(manifest).encode()
            info.size = len(data)
            with tempfile.SpooledTemporaryFile() as buffer:
                buffer.write(data)
                buffer.seek(0)
                tar.addfile(info, buffer)
            tar.add(database, arcname=database.name)
            for photo in photos:
                tar.add(photo, arcname=f"media/{photo.relative_to(media_dir).as_posix()}")
        partial = target.with_name(target.name + ".part")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "wb") as out, archive.open("rb") as source:
            encrypt(source, out, passphrase)
        partial.replace(target)
    return manifest


def restore(settings: Settings, source: Path, passphrase: str) -> dict[str, Any]:
    """Put the backup's database (and photos) where the configuration points."""
    if not source.is_file():
        raise BackupError("file", f"no file {source}")
    sqlite_path = _sqlite_path(settings)
    if sqlite_path is not None:  # said before the passphrase is tried; checked again below
        _refuse_if_sqlite_in_use(sqlite_path)
    else:
        _refuse_if_postgresql_in_use(settings)
    with tempfile.TemporaryDirectory(prefix="benkadi-restore-") as work:
        folder = Path(work)
        archive = folder / "backup.tar.gz"
        with source.open("rb") as encrypted, archive.open("wb") as plain:
            decrypt(encrypted, plain, passphrase)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(folder / "x", filter="data")
        unpacked = folder / "x"
        manifest = json.loads((unpacked / "manifest.json").read_text())
        if manifest.get("kind") != ("sqlite" if sqlite_path else "postgresql"):
            raise BackupError(
                "file", f"holds a {manifest.get('kind')} database; the configuration is not one"
            )
        if sqlite_path is not None:
            sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            _refuse_if_sqlite_in_use(sqlite_path)
            if sqlite_path.exists():
                _keep_before_restore(sqlite_path)
            for suffix in ("-wal", "-shm"):
                sqlite_path.with_name(sqlite_path.name + suffix).unlink(missing_ok=True)
            staged = sqlite_path.with_name(sqlite_path.name + ".restoring")
            shutil.copyfile(unpacked / "database.sqlite", staged)
            staged.chmod(0o600)
            staged.replace(sqlite_path)
        else:
            _pg(
                ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 "-d", _libpq_url(settings), str(unpacked / "database.pgdump")],
                settings,
            )  # fmt: skip
        media = unpacked / "media"
        if media.is_dir():
            target = Path(settings.media_dir)
            for photo in (p for p in media.rglob("*") if p.is_file()):
                place = target / photo.relative_to(media)
                place.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(photo, place)
                place.chmod(0o600)  # as the fetcher writes them: its user's only
    return manifest


# --- the commands ----------------------------------------------------------------------------
def _passphrase(confirm: bool) -> str:
    given = os.environ.get(PASSPHRASE_ENV)
    if given is None:
        if not sys.stdin.isatty():
            raise BackupError("passphrase", f"set {PASSPHRASE_ENV} or run in a terminal")
        given = getpass.getpass("Backup passphrase: ")
        if confirm and getpass.getpass("Again: ") != given:
            raise BackupError("passphrase", "the two did not match")
    if confirm and len(given) < MIN_PASSPHRASE:
        raise BackupError("passphrase", f"must be at least {MIN_PASSPHRASE} characters")
    return given


def backup_command(args: argparse.Namespace, settings: Settings) -> int:
    manifest = take(settings, Path(args.file), _passphrase(confirm=True))
    print(
        f"backup written to {args.file}: {manifest['kind']} database"
        + (
            f" at revision {manifest['revision']}, {manifest['members']} members"
            if manifest.get("revision")
            else ""
        )
        + f", {manifest['photos']} photos. Keep the passphrase apart from the file."
    )
    return 0


def restore_command(args: argparse.Namespace, settings: Settings) -> int:
    manifest = restore(settings, Path(args.file), _passphrase(confirm=False))
    print(
        f"restored the {manifest['kind']} database of {manifest['created_at']} "
        f"and {manifest['photos']} photos; check it with `benkadi db current`"
    )
    return 0


def register(commands: Commands) -> None:
    """Add `backup` and `restore` to the `benkadi` parser."""
    command = commands.add_parser(
        "backup", help="the database and report photos into one encrypted FILE"
    )
    command.add_argument("file", metavar="FILE")
    command.set_defaults(offline=backup_command)
    command = commands.add_parser("restore", help="put a backup FILE back (stop the service first)")
    command.add_argument("file", metavar="FILE")
    command.set_defaults(offline=restore_command)
