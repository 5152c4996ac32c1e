"""A running app for the console and export tests: the simulator's fake providers (so every
channel is on), no dispatcher, and a small membership that carries CSV-injection fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.keys import DATABASE
from gateway.settings import Settings
from storage.models import Address, Member, Organisation
from storage.tokens import create_token
from tests.conftest import BACKENDS, database_url_for
from tests.harness import listening_socket

# Every dangerous first character of the OWASP guidance, in the places a member can type.
INJECTIONS = ['=HYPERLINK("http://x","clic")', "+SUM(1,2)", "-2+3", "@cmd", "\tx", "\rx", "\0x"]
AWA_PHONE, BINTOU_PHONE, AWA_CHAT = "+22376123456", "+22365432156", "987654321"
REGISTERED = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)


def injections(database) -> list[str]:
    """PostgreSQL text cannot hold NUL at all (storage.tabular's own tests cover it)."""
    if database.engine.dialect.name == "postgresql":
        return [text for text in INJECTIONS if "\0" not in text]
    return INJECTIONS


@dataclass
class Console:
    url: str
    app: web.Application
    http: aiohttp.ClientSession
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def database(self):
        return self.app[DATABASE]

    async def token(self, role: str) -> str:
        if role not in self.tokens:
            self.tokens[role] = await create_token(self.database, f"test {role}", role)
        return self.tokens[role]

    async def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(role)}"}


async def seed_people(database) -> dict[str, int]:
    """Awa (Kayes, Bambara, SMS + Telegram), Bintou (Sikasso, SMS opted out), and one member per
    injection fixture (name, cercle and organisation carry it)."""
    members, addresses, orgs = Member.__table__, Address.__table__, Organisation.__table__
    ids: dict[str, int] = {}
    async with database.transaction() as connection:
        ong = (
            await connection.execute(
                orgs.insert()
                .values(name="ONG Kènèya", name_key="ong keneya", kind="ong_nationale", listed=True)
                .returning(orgs.c.id)
            )
        ).scalar_one()
        evil_org = (
            await connection.execute(
                orgs.insert()
                .values(name="=cmd|' /C calc'!A0", name_key="cmd c calc a0", kind="association")
                .returning(orgs.c.id)
            )
        ).scalar_one()
        people = [
            ("awa", "Awa Traoré", ong, "kayes", "Kita", ["vbg", "sante"], "bm"),
            ("bintou", "Bintou Sɛgɔ Diarra", ong, "sikasso", "Koutiala", ["jeunesse"], "fr"),
        ] + [
            (f"evil{i}", text, evil_org, "segou", text, ["climat"], "fr")
            for i, text in enumerate(injections(database))
        ]
        for key, name, org, region, cercle, themes, language in people:
            ids[key] = (
                await connection.execute(
                    members.insert()
                    .values(
                        name=name,
                        organisation_id=org,
                        region=region,
                        cercle=cercle,
                        themes=themes,
                        language=language,
                        consent_at=REGISTERED,
                        registered_at=REGISTERED,
                        updated_at=REGISTERED,
                    )
                    .returning(members.c.id)
                )
            ).scalar_one()
        rows = [
            dict(channel="sms", address=AWA_PHONE, member_id=ids["awa"], opted_out_at=None),
            dict(channel="telegram", address=AWA_CHAT, member_id=ids["awa"], opted_out_at=None),
            dict(channel="sms", address=BINTOU_PHONE, member_id=ids["bintou"], opted_out_at=REGISTERED),
        ] + [
            dict(channel="sms", address=f"+2237000000{i}", member_id=ids[f"evil{i}"], opted_out_at=None)
            for i in range(len(injections(database)))
        ]  # fmt: skip
        await connection.execute(addresses.insert(), rows)
    ids["ong"], ids["evil_org"] = ong, evil_org
    return ids


@pytest.fixture(params=BACKENDS)
async def console(request, tmp_path) -> AsyncIterator[Console]:
    """The app on every configured backend (SQLite always, PostgreSQL when configured)."""
    async for url in database_url_for(request.param, tmp_path, migrated=True):
        async for running in _console(url, tmp_path):
            yield running


async def _console(url: str, tmp_path, **overrides) -> AsyncIterator[Console]:
    listening = listening_socket()
    port = listening.getsockname()[1]
    settings = Settings.from_env(
        {
            "BENKADI_DATABASE_URL": url,
            "BENKADI_PORT": str(port),
            "BENKADI_SECRET_KEY": "test-secret-key-0123456789abcdefghijklmnop",
            "BENKADI_MEDIA_DIR": str(tmp_path / "media"),  # report photos (console test)
        },
        migrate_on_start=True,
        simulator=True,
        dispatch="off",
        **overrides,
    )
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, listening).start()
    async with aiohttp.ClientSession() as http:
        yield Console(f"http://127.0.0.1:{port}", app, http)
    await runner.cleanup()
