"""The coordination's list of organisations: a CSV the secretariat imports (CLI or API), offered
at registration, with kinds a broadcast can target."""

from __future__ import annotations

import argparse

import pytest

from gateway.cli import organisations as cli_organisations
from gateway.settings import Settings
from storage import organisation_list
from storage.organisation_list import Entry, OrganisationFileError, parse_csv
from tests.gateway.test_api import app_harness, call, tokens  # noqa: F401 - fixtures
from tests.gateway.test_registration_e2e import converse_sms
from tests.harness import start_harness, stop_harness

LIST = "\ufeffnom;type\nONG Kènèya;ONG nationale\nRéseau des femmes de Mopti;reseau\n\nAMSS;\n"


def test_csv_with_bom_semicolons_labels_and_keys():
    assert parse_csv(LIST, "liste.csv") == [
        Entry("ONG Kènèya", "ong_nationale"),
        Entry("Réseau des femmes de Mopti", "reseau"),
        Entry("AMSS", None),
    ]


@pytest.mark.parametrize(
    ("text", "where", "field"),
    [
        ("nom,type\nAMSS,ong\n", "f.csv:2", "type"),  # not a kind
        ("nom,type\nAMSS,association\n ,coalition\n", "f.csv:3", "nom"),  # an empty name
        ("organisme,genre\nAMSS,association\n", "f.csv:1", "nom"),  # no name column
        ("nom\n" + "x" * 201 + "\n", "f.csv:2", "nom"),
    ],
)
def test_a_bad_line_is_named(text, where, field):
    with pytest.raises(OrganisationFileError) as caught:
        parse_csv(text, "f.csv")
    assert (caught.value.where, caught.value.field) == (where, field)


async def test_listing_keeps_one_organisation_per_spelling(database):
    async with database.transaction() as connection:
        await organisation_list.list_entries(connection, parse_csv(LIST, "l.csv"))
        await organisation_list.list_entries(connection, [Entry("ong keneya", None)])
        unlisted = await organisation_list.unlist_others(connection, [Entry("AMSS", None)])
        rows = await organisation_list.with_member_counts(connection)
    assert unlisted == 2
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"ong keneya", "Réseau des femmes de Mopti", "AMSS"}
    assert by_name["ong keneya"]["kind"] == "ong_nationale"  # a later line without kind keeps it
    assert [row["name"] for row in rows if row["listed"]] == ["AMSS"]
    assert {row["members"] for row in rows} == {0}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benkadi")
    cli_organisations.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


async def test_imported_list_is_offered_at_registration(tmp_path, capsys):
    harness, runner = await start_harness(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        settings = Settings.from_env({"BENKADI_DATABASE_URL": harness.database.url})
        bad = tmp_path / "mauvaise.csv"
        bad.write_text("nom,type\nAMSS,association\nKènèya,ONG\n", encoding="utf-8")
        code = await cli_organisations.run(_parse(["organisations", "import", str(bad)]), settings)
        assert code == 2 and f"{bad}:3: type: unknown kind 'ONG'" in capsys.readouterr().err
        good = tmp_path / "liste.csv"
        good.write_text(LIST, encoding="utf-8")
        code = await cli_organisations.run(_parse(["organisations", "import", str(good)]), settings)
        assert code == 0 and "3 organisations listed" in capsys.readouterr().out
        replies = await converse_sms(harness, "+22376000001", ["INSCRIPTION", "Awa"])
        assert "1 AMSS" in replies[-1] and "2 ONG Kènèya" in replies[-1]
        [region_question] = await converse_sms(harness, "+22376000001", ["2"])
        assert "1 District de Bamako" in region_question  # the choice was taken
    finally:
        await stop_harness(harness, runner)


async def test_api_lists_organisations_for_the_secretariat_only(app_harness, tokens):  # noqa: F811
    payload = {"organisations": [{"name": "AMSS", "kind": "association"}]}
    status, body, _ = await call(
        app_harness, "POST", "/organisations", tokens["viewer"], json=payload
    )
    assert status == 403
    status, body, _ = await call(app_harness, "POST", "/organisations", json=payload)
    assert status == 401
    bad = {"organisations": [{"name": "AMSS"}, {"name": "X", "kind": "ong"}]}
    status, body, _ = await call(
        app_harness, "POST", "/organisations", tokens["secretariat"], json=bad
    )
    assert status == 400 and body["field"] == "type" and "organisations[1]" in body["error"]
    async with app_harness.http.post(
        app_harness.url + "/api/v1/organisations?unlist=1",
        data=LIST.encode(),
        headers={"Authorization": f"Bearer {tokens['secretariat']}", "Content-Type": "text/csv"},
    ) as response:
        status, body = response.status, await response.json()
    assert status == 200 and body == {"listed": 3, "unlisted": 0}
    status, body, _ = await call(app_harness, "GET", "/organisations", tokens["viewer"])
    assert status == 200
    assert {(o["name"], o["kind"]) for o in body["organisations"] if o["listed"]} == {
        ("ONG Kènèya", "ong_nationale"),
        ("Réseau des femmes de Mopti", "reseau"),
        ("AMSS", None),
    }
