"""The console as the secretariat met it (issue 15): a member's history with the bot's replies
and a word when it is cut, a readable audit log, French numbers and dates, labels for kinds,
whole numbers on chart axes, plurals, a phone-sized page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.console import charts, formats
from storage import audit
from storage.models import Address, OutboxMessage
from storage.outbox.rows import reply_row
from tests.console.conftest import AWA_PHONE, seed_people
from tests.console.test_console import account, get_page, sign_in

NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


@pytest.mark.unit
def test_numbers_and_dates_are_written_the_french_way():
    assert formats.percent(66.666) == "66,7\u00a0%" and formats.percent(100) == "100\u00a0%"
    assert formats.number(1234) == "1\u202f234" or formats.number(1234) == "1\u00a0234"
    assert formats.number(2.5) == "2,5" and formats.number(None) == "—"
    assert formats.when(NOW) == "1\u00a0déc.\u00a02026,\u00a012:30"  # one line: no-break spaces
    assert formats.when("2026-12-01T12:30:00+00:00") == formats.when(NOW)
    assert formats.day(NOW) == "1\u00a0déc.\u00a02026"


@pytest.mark.unit
def test_audit_details_read_as_french_without_escapes():
    shown = formats.details('{"file": "Capacit\\u00e9s.csv", "listed": 1, "role": "secretariat"}')
    assert shown == "fichier\u00a0: Capacités.csv ; listées\u00a0: 1 ; rôle\u00a0: secrétariat"
    assert formats.details({"filters": {"regions": ["kayes", "segou"]}, "masked": True}) == (
        "filtres\u00a0: (regions\u00a0: kayes, segou) ; numéros masqués\u00a0: oui"
    )
    assert formats.action("broadcast.send") == "diffusion envoyée"
    assert formats.action("something.new") == "something.new"


@pytest.mark.unit
def test_count_charts_have_whole_numbers_on_their_axis():
    for svg in (
        charts.bars("Membres par canal", [("sms", 1), ("telegram", 2)]),
        charts.bars("Membres par région", [("Kayes", 1)], horizontal=True),
        charts.line("Inscriptions par mois", [("2026-10", 0), ("2026-11", 3)]),
    ):
        labels = set(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
        assert not [label for label in labels if re.fullmatch(r"\d+[.,]\d+", label)], labels
        assert {"0", "1", "2"} <= labels


async def _history_rows(console, member_id: int, count: int) -> None:
    async with console.database.transaction() as connection:
        address_id = await connection.scalar(
            select(Address.__table__.c.id).where(Address.__table__.c.address == AWA_PHONE)
        )
        rows = [
            reply_row(
                address_id=address_id,
                member_id=None,
                channel="sms",
                recipient=AWA_PHONE,
                body=f"Réponse {n} d'avant l'inscription",
                choices=None,
                now=NOW - timedelta(days=30) + timedelta(minutes=n),
            )
            for n in range(count)
        ]
        await connection.execute(OutboxMessage.__table__.insert(), rows)


async def test_a_members_history_shows_the_bots_replies_and_says_when_it_is_cut(console):
    ids = await seed_people(console.database)
    await account(console, "awa", "secretariat")
    await _history_rows(console, ids["awa"], 3)
    session, *_ = await sign_in(console, "awa")
    async with session:
        status, html, _ = await get_page(session, f"{console.url}/console/members/{ids['awa']}")
        assert status == 200 and "Réponse 0 d&#39;avant l&#39;inscription" in html
        assert 'id="history-cut"' not in html
        await _history_rows(console, ids["awa"], 45)
        status, html, _ = await get_page(session, f"{console.url}/console/members/{ids['awa']}")
        assert 'id="history-cut"' in html and "Les 40 derniers messages" in html


async def test_the_audit_log_is_readable_french_on_one_line_a_date(console):
    await account(console, "admin", "admin")
    async with console.database.transaction() as connection:
        details = {"title": "Capacités des OSC", "recipients": 2}
        await audit.record(connection, "cli:awa", "broadcast.create", "broadcast:1", details)
    session, *_ = await sign_in(console, "admin")
    async with session:
        status, html, _ = await get_page(session, console.url + "/console/audit")
    assert status == 200 and "diffusion créée" in html
    assert "titre\u00a0: Capacités des OSC ; destinataires\u00a0: 2" in html
    assert "\\u00e9" not in html and "{&#34;" not in html
    assert re.search(
        '<td class="nowrap">\\d+\u00a0\\w+\\.?\u00a0\\d{4},\u00a0\\d\\d:\\d\\d</td>', html
    )


async def test_the_broadcast_preview_says_one_recipient_one_segment(console):
    await seed_people(console.database)
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "awa")
    async with session:
        _, html, _ = await get_page(session, console.url + "/console/broadcasts/new")
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        form = {
            "csrf": csrf,
            "text_fr": "Réunion jeudi.",
            "regions": "sikasso",
            "action": "preview",
        }
        async with session.post(console.url + "/console/broadcasts/new", data=form) as response:
            html = await response.text()
    sms = re.search(r"<p>SMS :(.*?)</p>", html, re.S)
    assert sms is not None, html
    found = re.search(r"(\d+) destinataires?, (\d+) segments?", sms.group(1))
    assert found is not None
    recipients, segments = int(found.group(1)), int(found.group(2))
    # French: 0 and 1 are singular.
    assert ("destinataires" in found.group(0)) == (recipients > 1)
    assert ("segments" in found.group(0)) == (segments > 1)
