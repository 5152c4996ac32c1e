"""The console's access-request copy: admins only, everything of the one member, audited."""

from __future__ import annotations

import json

from storage import access_export, audit
from tests.console.conftest import AWA_CHAT, AWA_PHONE, BINTOU_PHONE, console, seed_people
from tests.console.test_console import account, get_page, sign_in

__all__ = ["console"]  # the fixture, used by name


async def test_an_admin_downloads_the_copy_a_secretariat_may_not(console):
    ids = await seed_people(console.database)
    await account(console, "admin1", "admin")
    await account(console, "secr1", "secretariat")
    admin, status, _, _ = await sign_in(console, "admin1")
    secretariat, _, _, _ = await sign_in(console, "secr1")
    try:
        base = f"{console.url}/console/members/{ids['awa']}"
        _, page, _ = await get_page(admin, base)
        assert "/data.html" in page
        _, page, _ = await get_page(secretariat, base)
        assert "/data.html" not in page
        status, body, _ = await get_page(admin, base + "/data.json")
        assert status == 200
        held = json.loads(body)
        assert {a["address"] for a in held["addresses"]} == {AWA_PHONE, AWA_CHAT}
        assert BINTOU_PHONE not in body and "Bintou" not in body
        status, body, _ = await get_page(admin, base + "/data.html")
        assert status == 200 and "Awa Traoré" in body
        status, body, _ = await get_page(secretariat, base + "/data.json")
        assert status == 403
        status, _, _ = await get_page(admin, f"{console.url}/console/members/99999/data.json")
        assert status == 404
    finally:
        await admin.close()
        await secretariat.close()
    entries = [
        e
        for e in await audit.entries(console.database)
        if e["action"] == access_export.EXPORT_ACTION
    ]
    assert len(entries) == 2 and all(e["target"] == f"member:{ids['awa']}" for e in entries)
    assert entries[0]["details"] == {"via": "console"} and entries[0]["actor"].endswith("admin1")
