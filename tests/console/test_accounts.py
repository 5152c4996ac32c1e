"""Console accounts from the CLI (argon2 hashes, audited), and the session key's setting."""

from __future__ import annotations

import asyncio
import io
import stat

import pytest
from sqlalchemy import select

from gateway.cli import main as cli
from gateway.console.secret import KEY_FILE, known_browser_key
from gateway.settings import Settings, SettingsError
from storage import accounts, audit
from storage.database import Database
from storage.migrate import upgrade
from storage.models import ConsoleAccount


@pytest.fixture
def database_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'accounts.db'}"

    async def prepare():
        database = Database(url)
        await upgrade(database.engine)
        await database.dispose()

    asyncio.run(prepare())
    monkeypatch.setenv("BENKADI_DATABASE_URL", url)
    return url


def run_cli(monkeypatch, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(argv)


def stored(url: str, call):
    async def go():
        database = Database(url)
        try:
            return await call(database)
        finally:
            await database.dispose()

    return asyncio.run(go())


def test_accounts_cli(database_url, monkeypatch, capsys):
    argv = ["accounts", "add", "Awa", "--name", "Awa Traoré", "--role", "secretariat"]
    assert run_cli(monkeypatch, [*argv, "--password-stdin"], "court\n") == 2
    assert "password: must be 10-200 characters" in capsys.readouterr().err
    assert run_cli(monkeypatch, [*argv, "--password-stdin"], "un mot de passe long\n") == 0
    assert run_cli(monkeypatch, [*argv, "--password-stdin"], "un mot de passe long\n") == 2
    assert "username: is already taken" in capsys.readouterr().err

    async def check(database):
        async with database.sessions() as session:
            row = (await session.execute(select(ConsoleAccount.__table__))).one()
        assert row.username == "awa" and row.password_hash.startswith("$argon2id$")
        assert await accounts.verify(database, "AWA", "un mot de passe long")
        assert await accounts.verify(database, "awa", "un autre") is None
        assert await accounts.verify(database, "personne", "un mot de passe long") is None
        return [entry["action"] for entry in await audit.entries(database)]

    assert stored(database_url, check) == ["account.create"]
    assert (
        run_cli(
            monkeypatch, ["accounts", "passwd", "awa", "--password-stdin"], "nouveau mot de passe\n"
        )
        == 0
    )
    assert stored(database_url, lambda db: accounts.verify(db, "awa", "nouveau mot de passe"))
    capsys.readouterr()
    assert run_cli(monkeypatch, ["accounts", "list"]) == 0
    out = capsys.readouterr().out
    assert "awa" in out and "secretariat" in out and "argon2" not in out


def test_secret_key_setting(tmp_path):
    with pytest.raises(SettingsError, match="BENKADI_SECRET_KEY"):
        Settings.from_env({"BENKADI_SECRET_KEY": "short"})
    configured = Settings.from_env({"BENKADI_SECRET_KEY": "x" * 40})
    assert configured.secret_key == "x" * 40
    # Unset: generated once, kept beside the SQLite database, owner-only, the same next time.
    embedded = Settings.from_env({"BENKADI_DATABASE_URL": f"sqlite:///{tmp_path}/var/b.db"})
    first = known_browser_key(embedded)
    path = tmp_path / "var" / KEY_FILE
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert known_browser_key(embedded) == first != known_browser_key(configured)


@pytest.mark.unit
def test_console_passwords_are_hashed_at_argon2id_default_cost():
    """The tests hash at the lowest cost (tests/conftest.py); the service at argon2id's own."""
    from argon2 import Type

    from tests.conftest import PRODUCTION_HASHER

    assert PRODUCTION_HASHER.type is Type.ID
    assert (PRODUCTION_HASHER.time_cost, PRODUCTION_HASHER.memory_cost) == (3, 65536)
    assert PRODUCTION_HASHER.parallelism == 4
