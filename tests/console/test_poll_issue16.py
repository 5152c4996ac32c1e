"""Issue 16's other sentences about polls and recurring messages, each against the running
console and API: roles as today (a viewer reads and exports, only the secretariat edits and
sends), every change audited (who, what, which poll), edited until launch (then its page),
and each recurring occurrence an ordinary broadcast shown with its status, or skipped."""

from __future__ import annotations

from datetime import UTC, date, datetime

import aiohttp
from sqlalchemy import select

from broadcasts import recurring
from broadcasts.polls import service as poll_service
from broadcasts.polls.definition_file import to_toml
from broadcasts.polls.parse import parse_poll_json
from storage import members as member_store
from storage.models import AuditEntry
from tests.console.test_console import account, csrf_of, get_page, sign_in
from tests.console.test_poll_editor import NEW, post, three_questions
from tests.console.test_poll_errors import GOOD
from tests.factories import add_member, add_report

EDIT = "/console/polls/rapport-2027/edit"
ACT = "/console/polls/rapport-2027/act"


async def actions(console) -> list[tuple[str, str, str]]:
    async with console.database.sessions() as session:
        rows = await session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.target).order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


async def test_roles_as_today_and_every_change_audited(console):
    await account(console, "awa", "secretariat")
    await account(console, "vi", "viewer")
    awa, *_ = await sign_in(console, "Awa")
    viewer, *_ = await sign_in(console, "Vi")
    async with awa, viewer:
        _, html, _ = await get_page(awa, console.url + NEW)
        csrf = csrf_of(html)
        form = three_questions(csrf, opens="", closes="")
        assert (await post(awa, console.url + NEW, form))[0] == 302  # poll.create
        row = await poll_service.poll_row(console.database, "rapport-2027")
        edit = three_questions(csrf, revision=str(row.revision), opens="2027-01-05T09:00",
                               closes="2027-01-20T18:00")  # fmt: skip
        assert (await post(awa, console.url + EDIT, edit))[0] == 302  # poll.edit
        assert (await post(awa, console.url + ACT, {"csrf": csrf, "verb": "schedule"}))[0] == 302
        assert (await post(awa, console.url + ACT, {"csrf": csrf, "verb": "unschedule"}))[0] == 302
        status, _, _ = await get_page(awa, console.url + NEW + "?from=rapport-2027")
        assert status == 200
        copy = three_questions(csrf, slug="rapport-2028", opens="", closes="")
        assert (await post(awa, console.url + NEW, copy))[0] == 302  # a duplicate, saved
        data = aiohttp.FormData()
        data.add_field("csrf", csrf)
        toml_text = to_toml(parse_poll_json(GOOD | {"slug": "importe-2027"}))
        data.add_field("file", toml_text.encode(), filename="importe-2027.toml")
        async with awa.post(
            console.url + "/console/polls/import", data=data, allow_redirects=False
        ) as response:
            assert response.status == 302  # poll.create, from a file

        # A viewer reads the polls and their results, exports them, changes nothing.
        _, viewer_html, _ = await get_page(viewer, console.url + "/console/polls")
        assert 'href="/console/polls/rapport-2027"' in viewer_html
        assert "/edit" not in viewer_html
        for url in ("/console/polls/rapport-2027", "/console/polls/rapport-2027/export"):
            assert (await get_page(viewer, console.url + url))[0] == 200, url
        v_csrf = csrf_of(viewer_html)
        for url, form in (
            (NEW, three_questions(v_csrf, slug="pirate")),
            (EDIT, three_questions(v_csrf, revision="3", title_fr="Pirate")),
            (ACT, {"csrf": v_csrf, "verb": "launch"}),
            ("/console/recurring/rapport-mensuel", {"csrf": v_csrf, "verb": "enable"}),
        ):
            status, _, _ = await post(viewer, console.url + url, form)
            assert status == 403, url
        assert (await get_page(viewer, console.url + EDIT))[0] == 403
        headers = await console.bearer("viewer")
        async with console.http.post(
            console.url + "/api/v1/polls", json=GOOD, headers=headers
        ) as response:
            assert response.status == 403
        async with console.http.post(
            console.url + "/api/v1/recurring/rapport-mensuel", json={"enabled": True},
            headers=headers,
        ) as response:  # fmt: skip
            assert response.status == 403
        row = await poll_service.poll_row(console.database, "rapport-2027")
        assert row.status == "draft" and row.title == "Rapports 2027"

        # Launched: edited no more (the edit page leads to its page), closed early; audited.
        async with console.database.transaction() as connection:
            await connection.execute(
                poll_service.polls.update().values(opens_at=None, closes_at=None)
            )
        assert (await post(awa, console.url + ACT, {"csrf": csrf, "verb": "launch"}))[0] == 302
        async with awa.get(console.url + EDIT, allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"].endswith("/console/polls/rapport-2027")
        assert (await post(awa, console.url + ACT, {"csrf": csrf, "verb": "close"}))[0] == 302
        _, html, _ = await get_page(awa, console.url + "/console/polls/rapport-2027")
        assert 'id="poll-state">clos<' in html
        status, _, _ = await post(
            awa,
            console.url + "/console/recurring/rapport-mensuel",
            {"csrf": csrf, "verb": "enable"},
        )
        assert status == 302

    done = [(actor, action, target) for actor, action, target in await actions(console)]
    mine = [
        (action, target)
        for actor, action, target in done
        if actor == "console:awa" and action != "console.login"
    ]
    assert mine == [
        ("poll.create", "poll:rapport-2027"),
        ("poll.edit", "poll:rapport-2027"),
        ("poll.schedule", "poll:rapport-2027"),
        ("poll.unschedule", "poll:rapport-2027"),
        ("poll.create", "poll:rapport-2028"),
        ("poll.create", "poll:importe-2027"),
        ("broadcast.create", "broadcast:1"),  # the invitation: an ordinary broadcast
        ("broadcast.send", "broadcast:1"),
        ("poll.launch", "poll:rapport-2027"),
        ("poll.close", "poll:rapport-2027"),
        ("recurring.change", "recurring:rapport-mensuel"),
    ]
    assert [a for actor, a, _ in done if actor == "console:vi"] == ["console.login", "poll.export"]


async def test_each_recurring_occurrence_is_a_broadcast_with_its_status(console):
    await account(console, "awa", "secretariat")
    now = datetime(2027, 3, 1, tzinfo=UTC)
    async with console.database.transaction() as connection:
        org = await member_store.organisation_id_named(connection, "Wildaf Mali")
        await add_member(
            connection, name="Point focal", region="kayes", now=now, organisation_id=org,
            addresses=[("sms", "+22376000010")],
        )  # fmt: skip
        await add_report(
            connection, organisation="Wildaf Mali", region="kayes", activity="formation",
            day=date(2027, 4, 3), counts=(1, 0, 0, 0), now=now, member="Rapporteur",
        )  # fmt: skip
    await recurring.change(console.database, "rapport-mensuel", "test", now, enabled=True)
    march = datetime(2027, 3, 25, 9, 1, tzinfo=UTC)
    april = datetime(2027, 4, 25, 9, 1, tzinfo=UTC)
    [sent] = await recurring.run_due(console.database, march, enabled_channels=("sms",))
    assert await recurring.run_due(console.database, april, enabled_channels=("sms",)) == []
    [schedule] = await recurring.overview(console.database, april)
    by_month = {o["occurs_at"][:7]: o for o in schedule["occurrences"]}
    assert by_month["2027-03"]["broadcast_id"] == sent
    assert by_month["2027-03"]["status"] == "sending"  # queued, as any broadcast being sent
    assert by_month["2027-04"]["skipped"] and by_month["2027-04"]["status"] is None
    session, *_ = await sign_in(console, "Awa")
    async with session:
        _, html, _ = await get_page(session, console.url + "/console/recurring")
        assert f'href="/console/broadcasts/{sent}"' in html
        assert 'id="occurrence-2-status">en cours d&#39;envoi<' in html
        assert "sauté : personne n'était concerné" in html


async def test_the_audience_has_a_broadcasts_filters(console):
    """Sex, age band and registration date too, as a broadcast's form has them; kept on edit."""
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "Awa")
    async with session:
        _, html, _ = await get_page(session, console.url + NEW)
        for name in ("regions", "themes", "languages", "organisation_kinds", "channels",
                     "sexes", "age_bands"):  # fmt: skip
            assert f'name="{name}"' in html, name
        form = three_questions(
            csrf_of(html), sexes="f", age_bands="15-24", registered_since="2026-01-01"
        )
        assert (await post(session, console.url + NEW, form))[0] == 302
        row = await poll_service.poll_row(console.database, "rapport-2027")
        audience = row.definition["audience"]
        assert audience["sexes"] == ["f"] and audience["age_bands"] == ["15-24"]
        assert audience["registered_since"] == "2026-01-01" and audience["regions"] == ["kayes"]
        _, html, _ = await get_page(session, console.url + EDIT)
        assert 'name="sexes" value="f" checked' in html
        assert 'id="registered_since" name="registered_since" value="2026-01-01"' in html
        bad = three_questions(csrf_of(html), revision=str(row.revision), registered_since="x")
        status, html, _ = await post(session, console.url + EDIT, bad)
        assert status == 400 and 'id="error-registered_since"' in html
