"""Polls through the HTTP API (roles, errors naming line and field, results, chart, export)
and the `benkadi polls` CLI on the same database."""

from __future__ import annotations

import csv
import io
import json

import openpyxl

from gateway.settings import Settings
from storage import audit
from tests import cli
from tests.gateway.test_api import app_harness, call, tokens  # noqa: F401 - fixtures
from tests.polls.conftest import CAPACITY, add_member
from tests.polls.test_poll_e2e import sms_say

AWA = "+22376123456"


def capacity_text() -> str:
    """The shipped file without its dates, so the test does not depend on today."""
    lines = CAPACITY.read_text("utf-8").splitlines()
    return "\n".join(line for line in lines if not line.startswith(("opens", "closes")))


async def raw(h, method: str, path: str, token: str, **kwargs) -> tuple[int, bytes, dict]:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    async with h.http.request(method, h.url + "/api/v1" + path, headers=headers, **kwargs) as r:
        return r.status, await r.read(), dict(r.headers)


async def post_toml(h, token: str, text: str) -> tuple[int, dict]:
    status, data, _ = await raw(
        h, "POST", "/polls", token, data=text.encode(), headers={"Content-Type": "text/plain"}
    )
    return status, json.loads(data)


async def test_polls_over_the_api_and_the_cli(app_harness, tokens, tmp_path, capsys):  # noqa: F811
    h = app_harness
    await add_member(
        h.database, "Awa", channel="sms", address=AWA, language="fr", region="kayes",
        organisation="ONG Kènèya", kind="ong_nationale",
    )  # fmt: skip
    bad = capacity_text().replace('kind = "number"', 'kind = "nombre"', 1)
    status, body = await post_toml(h, tokens["secretariat"], bad)
    assert status == 400 and body["field"] == "questions[4].kind" and body["line"] > 30
    status, body = await post_toml(h, tokens["viewer"], bad)
    assert status == 403
    status, body = await post_toml(h, tokens["secretariat"], capacity_text())
    assert status == 201 and body["slug"] == "capacites-osc" and body["questions"] == 12
    status, body, _ = await call(h, "POST", "/polls/capacites-osc/launch", tokens["secretariat"])
    assert status == 200 and body["invited"] == 1
    status, body, _ = await call(h, "POST", "/polls/capacites-osc/launch", tokens["secretariat"])
    assert status == 409
    status, body, _ = await call(h, "GET", "/polls/nothing/results", tokens["viewer"])
    assert status == 404

    await h.sms_replies(AWA, 1)
    await sms_say(h, AWA, "oui", expect=2)
    await sms_say(h, AWA, "1")
    await sms_say(h, AWA, "2")
    status, body, _ = await call(h, "GET", "/polls/capacites-osc/results", tokens["viewer"])
    assert status == 200 and body["rates"]["started"] == 1
    first = body["questions"][0]
    # One person answered: their answer does not leave the console (as on the chart).
    assert first["answered"] == "< 5"
    assert [(o["key"], o["count"], o["percent"]) for o in first["options"]] == [
        ("yes", "< 5", None),
        ("no", "< 5", None),
    ]
    status, svg, headers = await raw(h, "GET", "/polls/capacites-osc/charts/recepisse.svg",
                                     tokens["viewer"])  # fmt: skip
    assert status == 200 and headers["Content-Type"] == "image/svg+xml" and b"<svg" in svg
    assert b"Votre organisation" in svg
    status, _, _ = await raw(h, "GET", "/polls/capacites-osc/charts/salaries.svg", tokens["viewer"])
    assert status == 404  # a number question has no options to chart
    status, data, headers = await raw(
        h, "GET", "/polls/capacites-osc/export?format=csv&layout=wide", tokens["viewer"]
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][rows[0].index("recepisse")] == "Oui"
    assert rows[1][rows[0].index("plan-strategique")] == "Non"
    status, body, _ = await call(
        h, "GET", "/polls/capacites-osc/export?format=pdf", tokens["viewer"]
    )
    assert status == 400 and body["field"] == "format"
    entries = await audit.entries(h.database)
    assert {"poll.save", "poll.launch", "poll.export"} <= {e["action"] for e in entries}

    # The CLI on the same database.
    settings = Settings.from_env({"BENKADI_DATABASE_URL": h.settings.database_url})

    async def benkadi(*argv: str) -> tuple[int, str, str]:
        code = await cli.run(settings, *argv)
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = await benkadi("polls", "results", "capacites-osc")
    assert code == 0 and "started 1 (100.0 %)" in out and "Oui" in out
    chart = tmp_path / "q.svg"
    code, _, _ = await benkadi("polls", "chart", "capacites-osc", "recepisse", "-o", str(chart))
    assert code == 0 and chart.read_bytes().startswith(b"<?xml")
    book_path = tmp_path / "long.xlsx"
    code, out, _ = await benkadi(
        "polls", "export", "capacites-osc", "--format", "xlsx", "-o", str(book_path)
    )
    assert code == 0
    sheet = openpyxl.load_workbook(book_path, read_only=True).worksheets[0]
    values = [row for row in sheet.iter_rows(values_only=True)]
    answer = values[0].index("answer")
    assert [row[answer] for row in values[1:]] == ["Oui", "Non"]
    bad_file = tmp_path / "capacites-osc.toml"
    bad_file.write_text(bad, "utf-8")
    code, _, err = await benkadi("polls", "validate", str(bad_file))
    assert code == 1 and f"{bad_file}:" in err and "questions[4].kind" in err
    code, _, err = await benkadi("polls", "close", "capacites-osc")
    code, _, err = await benkadi("polls", "close", "capacites-osc")
    assert code == 2 and "closed already" in err
