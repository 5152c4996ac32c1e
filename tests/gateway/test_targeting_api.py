"""The targeting table of tests/broadcasts/test_targeting.py, driven the way the secretariat
drives it: the HTTP API against the running app (preview, create, send) and the CLI (preview)."""

from __future__ import annotations

import json
from collections import Counter

from tests import cli
from tests.broadcasts.conftest import ALL_CHANNELS, outbox_rows, seed_membership
from tests.broadcasts.test_targeting import CASES
from tests.gateway.test_api import app_harness, call, tokens  # noqa: F401 - fixtures

API_CASES = [case for case in CASES if case.enabled == ALL_CHANNELS]  # the app runs all three


def _cli_flags(audience: dict) -> list[str]:
    flags = []
    for key, option in (
        ("regions", "--region"),
        ("themes", "--theme"),
        ("languages", "--language"),
        ("organisation_kinds", "--organisation-kind"),
        ("organisations", "--organisation"),
        ("channels", "--channel"),
        ("sexes", "--sex"),
        ("age_bands", "--age-band"),
    ):
        flags += [f"{option}={value}" for value in audience[key]]
    if audience["registered_since"]:
        flags.append(f"--since={audience['registered_since']}")
    return flags


async def test_each_audience_through_the_api_and_the_cli(app_harness, tokens, capsys):  # noqa: F811
    await seed_membership(app_harness.database)
    wrong = []
    for case in API_CASES:
        audience = case.audience.to_json()
        draft = {"texts": {"fr": "Bonjour"}, "audience": audience}
        status, preview, _ = await call(
            app_harness, "POST", "/broadcasts/preview", tokens["secretariat"], json=draft
        )
        assert status == 200, preview
        status, created, _ = await call(
            app_harness, "POST", "/broadcasts", tokens["secretariat"], json=draft
        )
        assert status == 201, created
        status, sent, _ = await call(
            app_harness, "POST", f"/broadcasts/{created['id']}/send", tokens["secretariat"]
        )
        assert status == 200, sent
        rows = await outbox_rows(app_harness.database, created["id"])
        argv = ["broadcasts", "preview", "--json", "--text=fr=Bonjour", *_cli_flags(audience)]
        code = await cli.run(app_harness.settings, *argv)
        cli_preview = json.loads(capsys.readouterr().out)
        observed = {
            "reached": {row.name: row.channel for row in rows},
            "api preview by channel": {
                k: v for k, v in preview["reached"]["by_channel"].items() if v
            },
            "api preview excluded": {
                k: v for k, v in preview["excluded"]["by_reason"].items() if v
            },
            "cli": (code, cli_preview["recipients"]),
        }
        expected = {
            "reached": case.reached,
            "api preview by channel": dict(Counter(case.reached.values())),
            "api preview excluded": dict(Counter(case.excluded.values())),
            "cli": (0, len(case.reached)),
        }
        if observed != expected:
            wrong.append((case.label, observed, expected))
    assert len(API_CASES) >= 10
    assert not wrong, "\n".join(
        f"{label}:\n  got  {got}\n  want {want}" for label, got, want in wrong
    )
