"""The recurring messages page (shipped off; switched on and off by the secretariat, audited; a
day that never fires comes back marked in French) and the poll editing API (revision check,
TOML export that imports back, preview, schedule, duplicate)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from broadcasts.polls import service as poll_service
from broadcasts.polls.definition_file import file_form
from storage.models import AuditEntry
from tests.console.test_console import account, csrf_of, get_page, sign_in
from tests.polls.conftest import capacity_poll


async def test_recurring_page_switches_the_reminder_on_and_off(console):
    await account(console, "awa", "secretariat")
    await account(console, "vi", "viewer")
    session, *_ = await sign_in(console, "Awa")
    viewer, *_ = await sign_in(console, "Vi")
    async with session, viewer:
        status, html, _ = await get_page(session, console.url + "/console/recurring")
        assert status == 200 and 'id="rapport-mensuel-state"' in html and "désactivé" in html
        assert "Chaque mois le 25 à 09:00" in html
        async with session.post(
            console.url + "/console/recurring/rapport-mensuel",
            data={"csrf": csrf_of(html), "verb": "enable"},
        ) as response:
            html = await response.text()
        assert "activé" in html and 'id="rapport-mensuel-disable"' in html
        async with session.post(
            console.url + "/console/recurring/rapport-mensuel",
            data={"csrf": csrf_of(html), "verb": "move", "day": "32", "time": "07:15"},
        ) as response:
            assert response.status == 400
            html = await response.text()
        assert 'id="error-rapport-mensuel-day"' in html and "ne partirait jamais" in html
        assert 'name="day" value="32"' in html and 'name="time" value="07:15"' in html  # kept
        _, html, _ = await get_page(viewer, console.url + "/console/recurring")
        assert 'id="rapport-mensuel-disable"' not in html  # a viewer reads only
    async with console.database.sessions() as s:
        changes = (
            (
                await s.execute(
                    select(AuditEntry.details).where(AuditEntry.action == "recurring.change")
                )
            )
            .scalars()
            .all()
        )
    assert [c.get("enabled") for c in changes] == [True]


async def test_poll_editing_over_the_api(console):
    headers = await console.bearer("secretariat")
    poll = replace(capacity_poll(), opens_at=datetime(2027, 1, 5, 9, tzinfo=UTC))
    base = console.url + "/api/v1/polls"
    async with console.http.post(base, json=file_form(poll), headers=headers) as response:
        assert response.status == 201
    async with console.http.get(f"{base}/{poll.slug}", headers=headers) as response:
        revision = (await response.json())["revision"]
    changed = file_form(poll) | {"title": {"fr": "Capacités 2027"}}
    url = f"{base}/{poll.slug}/definition?revision={revision}"
    async with console.http.put(url, json=changed, headers=headers) as response:
        assert response.status == 200 and (await response.json())["revision"] == revision + 1
    async with console.http.put(url, json=changed, headers=headers) as response:
        assert response.status == 409  # a save over a newer revision
    async with console.http.get(f"{base}/{poll.slug}/definition.toml", headers=headers) as r:
        toml_text = await r.text()
    headers_toml = headers | {"Content-Type": "application/toml"}
    async with console.http.post(
        base, data=toml_text.replace(poll.slug, "capacites-2028"), headers=headers_toml
    ) as response:
        assert response.status == 201
    copy = await poll_service.poll_row(console.database, "capacites-2028")
    original = await poll_service.poll_row(console.database, poll.slug)
    assert copy.definition | {"slug": ""} == original.definition | {"slug": ""}
    async with console.http.post(f"{base}/{poll.slug}/preview", headers=headers) as response:
        first = (await response.json())["questions"][0]
    assert first["languages"][0]["sms"].startswith("1/")
    async with console.http.post(f"{base}/{poll.slug}/schedule", headers=headers) as response:
        assert response.status == 200
    async with console.http.post(
        f"{base}/{poll.slug}/duplicate", json={"slug": "Pas Bon"}, headers=headers
    ) as response:
        assert response.status == 400
    async with console.http.post(
        f"{base}/{poll.slug}/duplicate", json={"slug": "capacites-2029"}, headers=headers
    ) as response:
        assert response.status == 201
    async with console.http.get(console.url + "/api/v1/recurring", headers=headers) as response:
        [reminder] = await response.json()
    assert reminder["key"] == "rapport-mensuel" and reminder["enabled"] is False
