"""Access requests: everything held about one person (two channels, poll answers, a report),
by the CLI and by an admin in the console, and nothing of anyone else; audited."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from html import escape

import pytest
from sqlalchemy import select

from bot.vocabulary.errors import FieldError
from gateway.settings import Settings
from storage import access_export
from storage import reports as report_store
from storage.models import (
    Address,
    AuditEntry,
    Conversation,
    InboundMessage,
    OutboxMessage,
    Poll,
    PollResponse,
    PollSession,
)
from tests import cli
from tests.factories import add_member

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


async def _two_people(database) -> tuple[int, int]:
    async with database.transaction() as connection:
        awa = await add_member(
            connection, name="Awa Traoré", region="kayes", now=NOW, cercle="Kita",
            addresses=[("sms", "+22376111111"), ("telegram", "55501")],
        )  # fmt: skip
        other = await add_member(
            connection, name="Mariam Other", region="sikasso", now=NOW,
            addresses=[("sms", "+22376222222")],
        )  # fmt: skip
        address = {
            row.address: row.id
            for row in await connection.execute(
                select(access_export.addresses.c.address, access_export.addresses.c.id)
            )
        }
        inbound = InboundMessage.__table__
        for n, (who, text) in enumerate(
            [("+22376111111", "AWA-SMS"), ("55501", "AWA-TELEGRAM"), ("+22376222222", "OTHER-SMS")]
        ):
            await connection.execute(
                inbound.insert().values(
                    channel="telegram" if who == "55501" else "sms", provider_id=f"P{n}",
                    address_id=address[who], body=text, received_at=NOW,
                )
            )  # fmt: skip
        outbox = OutboxMessage.__table__
        for member_id, who, text in [
            (awa, "+22376111111", "REPLY-TO-AWA"),
            (other, "+22376222222", "REPLY-TO-OTHER"),
        ]:
            await connection.execute(
                outbox.insert().values(
                    address_id=address[who], member_id=member_id, channel="sms", recipient=who,
                    body=text, status="sent", created_at=NOW, next_attempt_at=NOW,
                )
            )  # fmt: skip
        await connection.execute(
            Conversation.__table__.insert().values(
                address_id=address["55501"], flow="report", step="description",
                data={"activity": "AWA-DRAFT"}, updated_at=NOW, expires_at=NOW,
            )
        )  # fmt: skip
        poll_id = await connection.scalar(
            Poll.__table__.insert()
            .values(slug="satisfaction", title="Satisfaction", definition={}, status="launched",
                    created_by="test", created_at=NOW)
            .returning(Poll.__table__.c.id)
        )  # fmt: skip
        for member_id, answer in [(awa, "AWA-ANSWER"), (other, "OTHER-ANSWER")]:
            session_id = await connection.scalar(
                PollSession.__table__.insert()
                .values(poll_id=poll_id, member_id=member_id, invited_at=NOW, current_at=NOW)
                .returning(PollSession.__table__.c.id)
            )
            await connection.execute(
                PollResponse.__table__.insert().values(
                    session_id=session_id, poll_id=poll_id, question="q1", position=1,
                    text=answer, channel="telegram", answered_at=NOW,
                )
            )  # fmt: skip
        for member_id, text in [(awa, "AWA-REPORT"), (other, "OTHER-REPORT")]:
            await report_store.insert_report(
                connection, member_id,
                {"activity": "formation", "date": date(2026, 11, 12).isoformat(),
                 "region": "kayes", "women": 5, "men": 1, "girls": 0, "boys": 0,
                 "description": text, "channel": "sms"},
                NOW,
            )  # fmt: skip
    return awa, other


def _check(held: dict, awa: int) -> None:
    text = json.dumps(held, ensure_ascii=False)
    for mine in (
        "Awa Traoré", "Kita", "+22376111111", "55501", "AWA-SMS", "AWA-TELEGRAM",
        "REPLY-TO-AWA", "AWA-DRAFT", "AWA-ANSWER", "AWA-REPORT", "satisfaction",
    ):  # fmt: skip
        assert mine in text, mine
    for theirs in ("Mariam", "+22376222222", "OTHER-"):
        assert theirs not in text, theirs
    assert held["member_id"] == awa
    assert {a["channel"] for a in held["addresses"]} == {"sms", "telegram"}
    assert held["consents"]["consent_at"] is not None


async def test_cli_export_by_phone_has_all_of_it_and_nothing_else(database, tmp_path, capsys):
    awa, _other = await _two_people(database)
    settings = Settings.from_env({"BENKADI_DATABASE_URL": database.url})
    base = tmp_path / "copie"
    assert await cli.run(settings, "privacy", "export", "76 11 11 11", "-o", str(base)) == 0
    held = json.loads((tmp_path / "copie.json").read_text())
    _check(held, awa)
    page = (tmp_path / "copie.html").read_text()
    assert "AWA-REPORT" in page and "OTHER-REPORT" not in page and "<script" not in page
    assert (tmp_path / "copie.json").stat().st_mode & 0o077 == 0
    async with database.sessions() as session:
        entry = (
            await session.execute(
                select(AuditEntry.__table__).where(
                    AuditEntry.__table__.c.action == access_export.EXPORT_ACTION
                )
            )
        ).one()
    assert entry.target == f"member:{awa}" and entry.details == {"via": "cli"}
    assert await cli.run(settings, "privacy", "export", "99999") == 2
    assert "benkadi: member: no member 99999" in capsys.readouterr().err


async def test_by_id_and_telegram_id(database):
    awa, other = await _two_people(database)
    assert await access_export.find_member(database, str(awa)) == awa
    assert await access_export.find_member(database, "55501") == awa
    assert await access_export.find_member(database, "+22376222222") == other
    _check(await access_export.collect(database, awa, "test", "test"), awa)


async def test_the_directory_fields_are_in_the_copy(database):
    """What the directory (issue 17) holds of a person is theirs to see too: sex, age band,
    role, e-mail, Telegram username, the organisation they are focal point of, and their
    invitation's history (imported, invited, reminded, refused)."""
    from storage.models import Organisation

    async with database.transaction() as connection:
        organisation_id = await connection.scalar(
            Organisation.__table__.insert()
            .values(name="AFEM Kita", name_key="afem kita", created_at=NOW)
            .returning(Organisation.__table__.c.id)
        )
        awa = await add_member(
            connection, name="Awa Traoré", region="kayes", now=NOW, consented=False,
            organisation_id=organisation_id, addresses=[("sms", "+22376111111")],
            sex="f", age_band="25-35", role="point focal", email="awa@example.org",
            telegram_username="awa_kita", consent_channel=None, imported_at=NOW,
            invited_at=NOW, reminded_at=NOW, refused_at=NOW,
        )  # fmt: skip
        await connection.execute(
            Organisation.__table__.update()
            .where(Organisation.__table__.c.id == organisation_id)
            .values(focal_member_id=awa)
        )
    held = await access_export.collect(database, awa, "test", "test")
    profile, consents = held["profile"], held["consents"]
    assert (profile["sex"], profile["age_band"], profile["role"]) == ("f", "25-35", "point focal")
    assert (profile["email"], profile["telegram_username"]) == ("awa@example.org", "awa_kita")
    assert profile["focal_point_of"] == ["AFEM Kita"]
    for key in ("imported_at", "invited_at", "reminded_at", "refused_at"):
        assert consents[key].startswith("2026-11-20"), key
    assert "consent_channel" in consents


async def test_the_copy_is_headed_in_the_members_language(database, tmp_path):
    """The copy handed to a member who speaks Bambara is headed in Bambara (the catalogs), not
    French; `--language fr` gives the secretariat a French one of the same data."""
    from bot.vocabulary.i18n import in_language
    from gateway.exports import access

    awa, _other = await _two_people(database)
    async with database.transaction() as connection:
        await connection.execute(
            access_export.members.update()
            .where(access_export.members.c.id == awa)
            .values(language="bm")
        )
    settings = Settings.from_env({"BENKADI_DATABASE_URL": database.url})
    assert await cli.run(settings, "privacy", "export", str(awa), "-o", str(tmp_path / "bm")) == 0
    page = (tmp_path / "bm.html").read_text()
    assert "<html lang='bm'>" in page
    for _key, french in access.SECTIONS:
        bambara = in_language("bm", french)
        assert bambara != french and f"<h2>{escape(bambara)}</h2>" in page, french
        assert f"<h2>{escape(french)}</h2>" not in page
    assert escape(in_language("bm", "Rien.")) in page  # the empty section (no audit entry)
    assert "Données détenues" not in page and "Copie établie" not in page
    assert "AWA-REPORT" in page  # the data itself as it is
    code = await cli.run(
        settings, "privacy", "export", str(awa), "-o", str(tmp_path / "fr"), "--language", "fr"
    )
    french_page = (tmp_path / "fr.html").read_text()
    assert code == 0 and "<html lang='fr'>" in french_page
    assert "<h2>Vos réponses aux sondages</h2>" in french_page and "Copie établie" in french_page
    english = access.as_html({"member_id": 1, "profile": {"language": "en"}}, "2026-12-01")
    assert (
        "<h2>Your poll answers</h2>" in english and "Data Benkadi holds about member 1" in english
    )


async def test_words_that_fit_two_people_choose_nobody(database):
    awa, other = await _two_people(database)
    async with database.transaction() as connection:  # a Telegram id that is the other's id
        await connection.execute(
            Address.__table__.update()
            .where(Address.__table__.c.address == "55501")
            .values(address=str(other))
        )
    with pytest.raises(
        FieldError, match=rf"fits 2 members; say which: id:{other}, telegram:{other}"
    ):
        await access_export.find_member(database, str(other))
    assert await access_export.find_member(database, f"id:{other}") == other
    assert await access_export.find_member(database, f"telegram:{other}") == awa
    with pytest.raises(access_export.MemberNotFound):
        await access_export.find_member(database, "id:+22376111111")
