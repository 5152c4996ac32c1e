"""The dashboard's charts and cards by region, language, channel and month: counts of 1-4
people are shown "< 5" and drawn as no bar at all (a bar's length or printed value would give
the count away); with the members' total beside them, a lone "< 5" hides its neighbour ("x")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.console.test_console import get_page, sign_in
from tests.factories import add_member


def _charts(page: str) -> dict[str, str]:
    """Each chart's SVG by its title."""
    found = {}
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        title = re.search(r'<text[^>]*class="title[^"]*"[^>]*>([^<]*)</text>', svg)
        if title:
            found[title.group(1)] = svg
    return found


def _printed(svg: str) -> list[str]:
    """The values printed on the bars or dots."""
    return re.findall(r'<text[^>]*class="value[^"]*"[^>]*>([^<]*)</text>', svg)


async def test_dashboard_breakdowns_hide_counts_below_five(console):
    now = datetime.now(UTC)
    last_month = now.replace(day=1) - timedelta(days=2)
    people = [("kayes", "bm", "sms", now)] * 7 + [("mopti", "fr", "sms", now)] * 6
    people += [("gao", "fr", "telegram", now)] * 2 + [("kayes", "bm", "sms", last_month)]
    async with console.database.transaction() as connection:
        for n, (region, language, channel, when) in enumerate(people):
            address = f"+2237612{n:04d}" if channel == "sms" else str(900000 + n)
            await add_member(
                connection, name=f"M{n}", region=region, language=language, now=when,
                addresses=[(channel, address)],
            )  # fmt: skip
    session, *_ = await sign_in(console, "", "", token=await console.token("viewer"))
    async with session:
        status, page, _ = await get_page(session, console.url + "/console/")
    assert status == 200
    assert '<b id="total-members">16</b>' in page
    charts = _charts(page)
    regions = charts["Membres par région"]
    # Kayes 8 shown; Gao 2 hidden; Mopti 6 hidden too, or it would be 16 - 8 - 6 = 2.
    assert "Gao (&lt; 5)" in regions and "Mopti (x)" in regions
    assert _printed(regions) == ["8"]
    channels = charts["Membres par canal"]
    assert "Telegram (&lt; 5)" in channels and _printed(channels) == ["14"]
    assert "<b>&lt; 5</b>joignables par Telegram" in page and "<b>2</b>" not in page
    languages = charts["Membres par langue"]
    assert sorted(_printed(languages)) == ["8", "8"]  # nothing small: all shown
    months = charts["Inscriptions par mois"]
    assert f"{last_month:%Y-%m} (&lt; 5)" in months
    assert "1" not in _printed(months) and "15" in _printed(months)
