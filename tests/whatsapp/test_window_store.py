"""The window and the templates in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broadcasts.model import Audience
from storage import members as member_store
from storage import whatsapp as store
from storage.whatsapp import Template
from tests.factories import add_member

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_last_inbound_only_moves_forward(database):
    async with database.transaction() as connection:
        address = await member_store.address_for(connection, "whatsapp", "+22376000001")
        await member_store.record_last_inbound(connection, [(address.id, NOW)])
        await member_store.record_last_inbound(connection, [(address.id, NOW - timedelta(hours=1))])
        again = await member_store.address_for(connection, "whatsapp", "+22376000001")
    assert again.last_inbound_at == NOW


async def test_window_counts_per_language(database):
    async with database.transaction() as connection:
        for n, (language, hours) in enumerate([("fr", 1), ("fr", 25), ("bm", None), ("bm", 23)]):
            wrote = None if hours is None else NOW - timedelta(hours=hours)
            await add_member(connection, name=f"M{n}", region="kayes", now=NOW, language=language,
                             addresses=[("whatsapp", f"+2237600000{n}")], wrote_at=wrote)  # fmt: skip
        await add_member(connection, name="S", region="kayes", now=NOW,
                         addresses=[("sms", "+22376000009")], wrote_at=None)  # fmt: skip
        counts = await store.window_counts(connection, Audience(), ["whatsapp", "sms"], NOW)
        nexts = await store.outside_window_next(connection, Audience(), ["whatsapp", "sms"], NOW)
    assert counts == {"fr": (1, 1), "bm": (1, 1)}
    assert nexts == [("bm", None, 1), ("fr", None, 1)]


async def test_templates_replaced_and_chosen_by_name_then_language(database):
    found = [
        Template("HX1", "alerte", "fr", {"1": "x"}, "A {{1}}", "approved"),
        Template("HX2", "alerte", "en_US", {}, "B", "pending"),
        Template("HX3", "rappel", "fr", {}, "C", "approved"),
    ]
    async with database.transaction() as connection:
        await store.replace_templates(connection, found, NOW)
        await store.replace_templates(connection, found[:2], NOW)
        known = await store.load_templates(connection)
    assert sorted(t.sid for t in known) == ["HX1", "HX2"]
    assert store.template_for("alerte", "fr", known).sid == "HX1"
    assert store.template_for("alerte", "en", known) is None  # its own language, not approved
    assert store.template_for("alerte", "bm", known).sid == "HX1"  # none in bm: the named one
    assert store.template_for("rappel", "fr", known) is None
