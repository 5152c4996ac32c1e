"""The coordination's list of organisations: a CSV the secretariat imports (CLI or API), offered
at registration, with kinds a broadcast can target."""

from __future__ import annotations

import pytest

from bot.vocabulary.errors import FieldErrors
from gateway.settings import Settings
from storage import organisation_list
from storage.organisation_list import Entry, parse_csv
from tests import cli
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
    with pytest.raises(FieldErrors) as caught:
        parse_csv(text, "f.csv")
    [error] = caught.value.errors
    assert (error.place, error.field) == (where, field)


def test_every_bad_line_is_named_at_once():
    text = "nom,type\nAMSS,ong\n ,coalition\nKènèya,association\nX,club\n"
    with pytest.raises(FieldErrors) as caught:
        parse_csv(text, "f.csv")
    assert [str(error) for error in caught.value.errors] == [
        f"f.csv:2: type: unknown kind 'ong' (one of: {organisation_list.kinds_help()})",
        "f.csv:3: nom: is empty",
        f"f.csv:5: type: unknown kind 'club' (one of: {organisation_list.kinds_help()})",
    ]


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


async def test_imported_list_is_offered_at_registration(tmp_path, capsys):
    harness, runner = await start_harness(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        settings = Settings.from_env({"BENKADI_DATABASE_URL": harness.database.url})
        bad = tmp_path / "mauvaise.csv"
        bad.write_text("nom,type\nAMSS,association\nKènèya,ONG\n ,reseau\n", encoding="utf-8")
        code = await cli.run(settings, "organisations", "import", str(bad))
        err = capsys.readouterr().err.splitlines()
        assert code == 2 and len(err) == 2  # every bad line, one line each
        assert err[0].startswith(f"{bad}:3: type: unknown kind 'ONG'")
        assert err[1] == f"{bad}:4: nom: is empty"
        good = tmp_path / "liste.csv"
        good.write_text(LIST, encoding="utf-8")
        code = await cli.run(settings, "organisations", "import", str(good))
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
    assert status == 400 and body["field"] == "kind" and "organisations[1]" in body["error"]
    worse = {"organisations": [{"name": " "}, {"name": "AMSS"}, {"name": "X", "kind": "ong"}]}
    status, body, _ = await call(
        app_harness, "POST", "/organisations", tokens["secretariat"], json=worse
    )
    assert status == 400 and body["error"].startswith("2 errors; the first: organisations[0]")
    assert [(e["file"], e["field"]) for e in body["errors"]] == [
        ("organisations[0]", "name"),  # the JSON's keys
        ("organisations[2]", "kind"),
    ]
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
