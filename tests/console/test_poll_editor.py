"""The console's poll editor: a poll built in the form, checked in French field by field (nothing
saved half-way), previewed as SMS and Telegram, saved, edited over a stale revision (refused),
exported and imported, duplicated, scheduled and opened once by the scheduler, closed early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from broadcasts.polls import editing
from broadcasts.polls import service as poll_service
from storage.models import AuditEntry, PollSession
from storage.models import Poll as PollRow
from tests.console.conftest import seed_people
from tests.console.test_console import account, csrf_of, get_page, sign_in

NEW = "/console/polls/new"


def three_questions(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf": csrf, "slug": "rapport-2027", "title_fr": "Rapports 2027",
        "title_bm": "Rapɔrɔw 2027",
        "invitation_fr": "Benkadi : trois questions sur vos rapports. Envoyez SONDAGE.",
        "opens": "2027-01-05T09:00", "closes": "2027-01-20T18:00", "sms_gsm_safe": "on",
        "regions": "kayes", "questions": "4",
        "q0_key": "rapport", "q0_kind": "yes_no", "q0_text_fr": "Avez-vous envoyé un rapport ?",
        "q0_text_bm": "Aw ye rapɔrɔ ci wa ?",
        "q1_key": "combien", "q1_kind": "number", "q1_text_fr": "Combien d'activités ?",
        "q1_min": "0", "q1_max": "50", "q1_if": "rapport", "q1_if_in": "yes",
        "q2_key": "canal", "q2_kind": "single", "q2_text_fr": "Par quel moyen ?",
        "q2_options": "3", "q2_o0_key": "sms", "q2_o0_text_fr": "SMS",
        "q2_o1_key": "papier", "q2_o1_text_fr": "Papier", "q2_o1_text_bm": "Papiye",
        "action": "save",
    }  # fmt: skip
    return form | changes


async def post(session, url: str, form: dict[str, str]):
    async with session.post(url, data=form, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers.get("Location", "")


async def polls_count(console) -> int:
    async with console.database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(PollRow))


async def test_bad_poll_comes_back_marked_in_french_and_nothing_is_saved(console):
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "Awa")
    async with session:
        _, html, _ = await get_page(session, console.url + NEW)
        bad = three_questions(
            csrf_of(html),
            q0_text_fr="",  # a question without French
            q2_o1_key="", q2_o1_text_fr="", q2_o1_text_bm="",  # one choice only
            q1_if="canal",  # a condition on a later question
            closes="2027-01-01T09:00",  # before the opening
            invitation_fr="Très long texte à envoyer " * 20,  # over 2 SMS
        )  # fmt: skip
        status, html, _ = await post(session, console.url + NEW, bad)
        assert status == 400
        assert 'id="error-q0_text_fr"' in html and "français est obligatoire" in html
        assert 'id="error-q2_options"' in html and "au moins deux choix" in html
        assert 'id="error-q1_if"' in html and "question précédente" in html
        assert 'id="error-closes"' in html and "après l&#39;ouverture" in html
        assert 'id="error-invitation_fr"' in html and "SMS (au plus 2)" in html
        assert 'value="Avez-vous' not in html and "Combien d&#39;activités ?" in html  # kept
        assert await polls_count(console) == 0


async def test_build_preview_save_edit_conflict_export_import_duplicate(console):
    await account(console, "awa", "secretariat")
    await account(console, "binta", "secretariat")
    session, *_ = await sign_in(console, "Awa")
    other, *_ = await sign_in(console, "Binta")
    async with session, other:
        _, html, _ = await get_page(session, console.url + NEW)
        form = three_questions(csrf_of(html), action="preview")
        status, html, _ = await post(session, console.url + NEW, form)
        assert status == 200 and 'id="preview"' in html
        assert "1/3 Avez-vous envoyé un rapport ?" in html
        assert "[Oui]" in html and "(texte français)" in html  # ff falls back to French
        assert "1/3 Aw ye rapɔrɔ ci wa ?" in html or "1/3 Aw ye rapòrò ci wa ?" in html
        assert "Posée seulement si la question 1 (rapport) a reçu : Oui." in html
        with_bm = form | {"q2_text_bm": "Fɛɛrɛ jumɛn ?"}  # a choice left without Bambara
        status, html, _ = await post(session, console.url + NEW, with_bm)
        assert status == 200 and "(choix en français : sms)" in html
        assert await polls_count(console) == 0  # a preview saves nothing
        status, _, location = await post(session, console.url + NEW, form | {"action": "save"})
        assert status == 302 and location.endswith("/polls/rapport-2027/edit?saved=1")
        row = await poll_service.poll_row(console.database, "rapport-2027")
        definition = row.definition
        assert [q["key"] for q in definition["questions"]] == ["rapport", "combien", "canal"]
        assert definition["questions"][1]["ask_if"] == {
            "question": "rapport", "in": ["yes"], "at_least": None,
        }  # fmt: skip
        assert definition["audience"]["regions"] == ["kayes"]
        assert row.opens_at == datetime(2027, 1, 5, 9, 0, tzinfo=UTC)

        # Two people open the saved poll; the second save is refused, nothing lost.
        _, mine, _ = await get_page(session, console.url + "/console/polls/rapport-2027/edit")
        _, theirs, _ = await get_page(other, console.url + "/console/polls/rapport-2027/edit")
        assert 'name="revision" value="1"' in mine and 'value="Papier"' in mine
        edit = three_questions(csrf_of(mine), revision="1", title_fr="Rapports annuels 2027")
        status, _, _ = await post(session, console.url + "/console/polls/rapport-2027/edit", edit)
        assert status == 302
        late = three_questions(csrf_of(theirs), revision="1", title_fr="Autre titre")
        status, html, _ = await post(other, console.url + "/console/polls/rapport-2027/edit", late)
        assert status == 409 and "modifié entre-temps" in html and 'value="Autre titre"' in html
        row = await poll_service.poll_row(console.database, "rapport-2027")
        assert row.title == "Rapports annuels 2027" and row.revision == 2

        # Export, and the export imported under another name is the same poll.
        async with session.get(
            console.url + "/console/polls/rapport-2027/definition.toml"
        ) as response:
            toml_text = await response.text()
        assert 'slug = "rapport-2027"' in toml_text
        _, html, _ = await get_page(session, console.url + NEW)
        import aiohttp

        data = aiohttp.FormData()
        data.add_field("csrf", csrf_of(html))
        data.add_field(
            "file", toml_text.replace("rapport-2027", "rapport-2028").encode(),
            filename="r.toml", content_type="application/toml",
        )  # fmt: skip
        async with session.post(
            console.url + "/console/polls/import", data=data, allow_redirects=False
        ) as response:
            assert response.status == 302
        copy = await poll_service.poll_row(console.database, "rapport-2028")
        assert copy.definition | {"slug": "x"} == row.definition | {"slug": "x"}

        # Duplicate: the old poll's questions, no identifier and no dates.
        _, html, _ = await get_page(session, console.url + NEW + "?from=rapport-2027")
        assert 'value="Papier"' in html and 'name="slug" value=""' in html

    async with console.database.sessions() as s:
        actions = (await s.execute(select(AuditEntry.action, AuditEntry.actor))).all()
    assert ("poll.create", "console:awa") in actions or any(a == "poll.create" for a, _ in actions)
    assert any(a == "poll.edit" for a, _ in actions)


async def test_scheduled_poll_opens_once_on_its_date_and_closes_early(console):
    ids = await seed_people(console.database)
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "Awa")
    async with session:
        _, html, _ = await get_page(session, console.url + NEW)
        form = three_questions(csrf_of(html), regions="kayes")
        await post(session, console.url + NEW, form)
        _, html, _ = await get_page(session, console.url + "/console/polls/rapport-2027/edit")
        status, _, _ = await post(
            session, console.url + "/console/polls/rapport-2027/act",
            {"csrf": csrf_of(html), "verb": "schedule"},
        )  # fmt: skip
        assert status == 302
        opens = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
        channels = ("sms", "telegram")
        before = await editing.open_due(
            console.database, opens - timedelta(minutes=1), enabled_channels=channels
        )
        assert before == []
        first = await editing.open_due(console.database, opens, enabled_channels=channels)
        again = await editing.open_due(
            console.database, opens + timedelta(minutes=1), enabled_channels=channels
        )  # a restarted scheduler
        assert len(first) == 1 and again == []
        row = await poll_service.poll_row(console.database, "rapport-2027")
        assert row.status == "launched" and row.launched_at == opens
        async with console.database.sessions() as s:
            invited = (await s.execute(select(PollSession.member_id))).scalars().all()
        assert invited == [ids["awa"]]  # Kayes only, Awa
        _, html, _ = await get_page(session, console.url + "/console/polls/rapport-2027")
        assert 'id="close-button"' in html
        status, _, _ = await post(
            session, console.url + "/console/polls/rapport-2027/act",
            {"csrf": csrf_of(html), "verb": "close"},
        )  # fmt: skip
        assert status == 302
        assert (await poll_service.poll_row(console.database, "rapport-2027")).closes_at is not None


@pytest.mark.parametrize("typed", ["3", "au moins 3", "Au moins 3", ">= 3"])
async def test_a_condition_on_a_number_reads_au_moins(console, typed):
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "Awa")
    async with session:
        _, html, _ = await get_page(session, console.url + NEW)
        form = three_questions(csrf_of(html), q2_if="combien", q2_if_in=typed)
        status, _, _ = await post(session, console.url + NEW, form)
        assert status == 302
    row = await poll_service.poll_row(console.database, "rapport-2027")
    assert row.definition["questions"][2]["ask_if"]["at_least"] == 3
