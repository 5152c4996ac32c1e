"""A campaign-year edited in the database: its theme, a message moved (the scheduler, on a
test clock, sends it on the new day once and never on the old one), a message added (approved
like the others, then sent) and removed; bad input refused on its field with nothing saved; a
save over someone else's refused; the campaign exported to its file and loaded back the same."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.vocabulary.errors import FieldErrors
from broadcasts.campaigns import approval, schedule, year_editor
from broadcasts.campaigns import edits as pure
from broadcasts.campaigns import service as campaign_service
from broadcasts.campaigns.calendar import parse_campaign
from broadcasts.campaigns.export import to_toml
from broadcasts.campaigns.files import CAMPAIGNS_DIR, load_directory
from broadcasts.campaigns.model import YearEdits
from broadcasts.campaigns.runner import CampaignRunner
from storage.campaign_edits import CampaignYearChanged
from storage.models import AuditEntry, Broadcast
from tests.campaigns.conftest import ALL_CHANNELS, QUIET, at, made

YEAR = 2027
EDITOR_NOW = datetime(2027, 1, 10, 12, tzinfo=UTC)  # when the secretariat edits (a test clock)
LONG = "Un texte bien trop long pour deux SMS, répété encore et encore. " * 6


def _essai(campaigns_dir):
    return load_directory(campaigns_dir)


async def _open_year(database, cal, name="essai"):
    await campaign_service.set_enabled(database, cal, name, YEAR, True, "awa")
    state = await approval.year_state(database, name, YEAR)
    await approval.approve(database, cal, name, YEAR, "console:awa", EDITOR_NOW, state["revision"])


async def _texts_of(database, broadcast_id):
    async with database.sessions() as session:
        return await session.scalar(select(Broadcast.texts).where(Broadcast.id == broadcast_id))


async def _audit(database, prefix="campaign."):
    async with database.sessions() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.target, AuditEntry.details)
            .where(AuditEntry.action.like(f"{prefix}%"))
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


async def test_a_moved_message_goes_out_on_its_new_day_once_never_on_the_old(
    database, membership, campaigns_dir
):
    cal = _essai(campaigns_dir)
    # A runner that read the calendar before the move and looks again only much later: the
    # check made when a message is due still keeps it from going out on its old day.
    stale = CampaignRunner(database, campaigns_dir, quiet_hours=QUIET, file_check=10**9)
    assert [s.day for s in schedule.schedule(cal.get("essai"), YEAR) if s.key == "jour"] == [
        date(YEAR, 3, 8)
    ]
    await stale.run_due(at(YEAR, 1, 10, 9), ALL_CHANNELS)  # reads the year as it is
    await _open_year(database, cal)
    moved = await year_editor.move(
        database, cal, "essai", YEAR, "jour", "2027-03-12", "console:awa", EDITOR_NOW
    )
    assert moved["was"] == "2027-03-08" and moved["day"] == "2027-03-12"
    fresh = CampaignRunner(database, campaigns_dir, quiet_hours=QUIET, file_check=0)
    for runner in (stale, fresh):
        assert await runner.run_due(at(YEAR, 3, 8, 9, 5), ALL_CHANNELS) == []  # the old day
    assert [m[:3] for m in await made(database)] == []
    [broadcast_id] = await fresh.run_due(at(YEAR, 3, 12, 9, 5), ALL_CHANNELS)
    assert await fresh.run_due(at(YEAR, 3, 12, 9, 30), ALL_CHANNELS) == []
    assert await stale.run_due(at(YEAR, 3, 12, 10), ALL_CHANNELS) == []  # once, whoever asks
    assert [m[:3] for m in await made(database)] == [("essai", "jour", YEAR)]
    assert (await _texts_of(database, broadcast_id))["fr"] == "Bonne journée du 8 mars !"
    with pytest.raises(year_editor.MessageMade):  # sent: it stays where it went out
        await year_editor.move(
            database, cal, "essai", YEAR, "jour", "2027-04-01", "console:awa", EDITOR_NOW
        )
    [(_action, target, details)] = [a for a in await _audit(database) if a[0] == "campaign.move"]
    assert target == f"campaign:essai:{YEAR}"
    assert details == {"message": "jour", "from": "2027-03-08", "to": "2027-03-12"}


@pytest.mark.parametrize(
    "day, kind",
    [
        ("2028-03-12", "day_year"),  # another year
        ("2027-02-29", "day"),  # no such day
        ("2027-01-05", "day_past"),  # before the editor's today
        ("12/03/2027", "day"),
    ],
)
async def test_a_move_to_a_day_that_will_not_do_is_refused_and_nothing_saved(
    database, campaigns_dir, day, kind
):
    cal = _essai(campaigns_dir)
    with pytest.raises(pure.YearFieldError) as refused:
        await year_editor.move(database, cal, "essai", YEAR, "jour", day, "awa", EDITOR_NOW)
    assert refused.value.field == "day" and refused.value.kind == kind
    state = await approval.year_state(database, "essai", YEAR)
    assert state["revision"] == 0 and await _audit(database) == []


async def test_an_added_message_is_approved_like_the_others_then_sent(
    database, membership, campaigns_dir
):
    cal = _essai(campaigns_dir)
    await _open_year(database, cal)
    payload = {
        "key": "marche", "title": "Marche de Bamako", "day": "2027-03-09",
        "send_time": "07:30", "audience": {"regions": ["bamako"]},
        "texts": {"fr": "Marche ce matin à 9 h, place de l'Indépendance {venez} !", "bm": ""},
    }  # fmt: skip
    added = await year_editor.add(database, cal, "essai", YEAR, payload, "console:binta",
                                  EDITOR_NOW)  # fmt: skip
    assert added["message"] == "marche" and added["approved"] is False
    shown = await campaign_service.show(
        database, cal, "essai", YEAR, enabled_channels=ALL_CHANNELS, quiet_hours=None,
        now=EDITOR_NOW,
    )  # fmt: skip
    marche = next(m for m in shown["messages"] if m["message"] == "marche")
    assert marche["added"] and marche["local_time"] == "2027-03-09 07:30"
    assert marche["audience"]["filters"]["regions"] == ["bamako"]
    runner = CampaignRunner(database, campaigns_dir, quiet_hours=None, file_check=0)
    due = at(YEAR, 3, 9, 7, 35)
    assert await runner.run_due(due, ALL_CHANNELS) == []  # the addition withdrew the approval
    state = await approval.year_state(database, "essai", YEAR)
    await approval.approve(database, cal, "essai", YEAR, "console:awa", EDITOR_NOW,
                           state["revision"])  # fmt: skip
    made_ids = await runner.run_due(due, ALL_CHANNELS)
    assert [m[:3] for m in await made(database)] == [("essai", "marche", YEAR)]
    [broadcast_id] = made_ids
    assert (await _texts_of(database, broadcast_id)) == {
        "fr": "Marche ce matin à 9 h, place de l'Indépendance {venez} !"
    }
    with pytest.raises(year_editor.MessageMade):
        await year_editor.remove(database, cal, "essai", YEAR, "marche", "awa", EDITOR_NOW)
    actions = [a[0] for a in await _audit(database)]
    assert actions.count("campaign.add") == 1 and "campaign.remove" not in actions


async def test_an_added_message_not_sent_can_be_removed(database, campaigns_dir):
    cal = _essai(campaigns_dir)
    payload = {"key": "radio", "day": "2027-05-02", "texts": {"fr": "Émission ce soir."}}
    await year_editor.add(database, cal, "essai", YEAR, payload, "awa", EDITOR_NOW)
    with pytest.raises(pure.YearFieldError) as refused:  # a file's message is not removed
        await year_editor.remove(database, cal, "essai", YEAR, "jour", "awa", EDITOR_NOW)
    assert refused.value.kind == "not_added"
    await year_editor.remove(database, cal, "essai", YEAR, "radio", "awa", EDITOR_NOW)
    edited = await year_editor.load_year(database, cal, "essai", YEAR)
    assert "radio" not in {slot.key for slot in schedule.schedule(edited, YEAR)}
    assert [a[0] for a in await _audit(database)] == ["campaign.add", "campaign.remove"]


async def test_a_message_to_add_is_refused_on_every_bad_field_and_nothing_saved(
    database, campaigns_dir
):
    cal = _essai(campaigns_dir)
    payload = {
        "key": "jour", "day": "2026-12-31", "send_time": "25:00",
        "audience": {"regions": ["atlantide"]}, "texts": {"fr": "", "bm": LONG},
    }  # fmt: skip
    with pytest.raises(FieldErrors) as refused:
        await year_editor.add(database, cal, "essai", YEAR, payload, "awa", EDITOR_NOW)
    kinds = {e.field: e.kind for e in refused.value.errors}  # type: ignore[attr-defined]
    assert kinds == {
        "key": "key_taken", "day": "day_year", "send_time": "send_time",
        "audience.regions": "audience", "texts.bm": "too_long", "texts.fr": "french",
    }  # fmt: skip
    assert await _audit(database) == []
    edited = await year_editor.load_year(database, cal, "essai", YEAR)
    assert edited.edits_of(YEAR).added == ()


async def test_the_theme_of_the_year_is_edited_and_withdraws_the_approval(
    database, membership, campaigns_dir
):
    cal = _essai(campaigns_dir)
    await _open_year(database, cal)
    theme = {"fr": "Les femmes bâtissent la paix", "bm": "", "en": "Women build peace"}
    saved = await year_editor.set_theme(database, cal, "essai", YEAR, theme, "awa", EDITOR_NOW)
    assert saved["theme"] == {"fr": "Les femmes bâtissent la paix", "en": "Women build peace"}
    assert (await approval.year_state(database, "essai", YEAR))["approved_by"] is None
    shown = await campaign_service.show(
        database, cal, "essai", YEAR, enabled_channels=ALL_CHANNELS, quiet_hours=None,
        now=EDITOR_NOW,
    )  # fmt: skip
    assert shown["theme"] == saved["theme"]
    rappel = next(m for m in shown["messages"] if m["message"] == "rappel")
    assert rappel["texts"]["fr"]["text"] == (
        "Le 8 mars approche.\nThème 2027 : Les femmes bâtissent la paix"
    )
    for bad, field, kind in (
        ({"bm": "Barokun"}, "theme.fr", "french_theme"),
        ({"fr": "Deux\nlignes"}, "theme.fr", "theme_line"),
        ({"fr": "Ж" * 110}, "theme.fr", "theme_too_long"),  # UCS-2: 3 SMS
    ):
        with pytest.raises(FieldErrors) as refused:
            await year_editor.set_theme(database, cal, "essai", YEAR, bad, "awa", EDITOR_NOW)
        first = refused.value.errors[0]
        assert (first.field, first.kind) == (field, kind)  # type: ignore[attr-defined]
    edited = await year_editor.load_year(database, cal, "essai", YEAR)
    assert edited.year_theme(YEAR) == saved["theme"]  # the refused ones changed nothing
    assert [a[0] for a in await _audit(database)].count("campaign.theme") == 1


async def test_a_save_over_someone_elses_is_refused_nothing_saved(database, campaigns_dir):
    cal = _essai(campaigns_dir)
    opened = (await approval.year_state(database, "essai", YEAR))["revision"]  # both open it
    await approval.edit_texts(
        database, cal, "essai", "jour", YEAR, {"fr": "Texte d'Awa."}, "awa", EDITOR_NOW, opened
    )
    for change in (
        approval.edit_texts(database, cal, "essai", "jour", YEAR, {"fr": "Texte de Binta."},
                            "binta", EDITOR_NOW, opened),
        year_editor.move(database, cal, "essai", YEAR, "jour", "2027-03-10", "binta",
                         EDITOR_NOW, opened),
        year_editor.set_theme(database, cal, "essai", YEAR, {"fr": "Thème"}, "binta",
                              EDITOR_NOW, opened),
        approval.approve(database, cal, "essai", YEAR, "binta", EDITOR_NOW, opened),
    ):  # fmt: skip
        with pytest.raises(CampaignYearChanged):
            await change
    edited = await year_editor.load_year(database, cal, "essai", YEAR)
    assert edited.edits_of(YEAR).texts == {"jour": {"fr": "Texte d'Awa."}}
    assert edited.edits_of(YEAR).moved == {} and edited.year_theme(YEAR) is None
    assert (await approval.year_state(database, "essai", YEAR))["approved_by"] is None
    assert [a[0] for a in await _audit(database)] == ["campaign.texts"]


async def test_the_exported_file_loads_back_to_the_year_as_edited(database, campaigns_dir):
    cal = _essai(campaigns_dir)
    await year_editor.set_theme(database, cal, "essai", YEAR, {"fr": "Paix"}, "awa", EDITOR_NOW)
    await year_editor.move(database, cal, "essai", YEAR, "semaine-02", "2027-04-02", "awa",
                           EDITOR_NOW)  # fmt: skip
    await year_editor.move(database, cal, "essai", YEAR, "rappel", "2027-02-27", "awa",
                           EDITOR_NOW)  # fmt: skip
    await approval.edit_texts(database, cal, "essai", "jour", YEAR,
                              {"fr": "Le 8 mars, {{ensemble}} !"}, "awa", EDITOR_NOW)  # fmt: skip
    await year_editor.add(database, cal, "essai", YEAR,
                          {"key": "bilan", "day": "2027-03-20", "send_time": "18:00",
                           "audience": {"languages": ["bm"]},
                           "texts": {"fr": "Bilan du mois.", "bm": "Kalo jate."}},
                          "awa", EDITOR_NOW)  # fmt: skip
    edited = await year_editor.load_year(database, cal, "essai", YEAR)
    text = to_toml(edited, YEAR)
    loaded = parse_campaign(text, "essai.toml", stem="essai")
    assert _year_of(loaded, YEAR) == _year_of(edited, YEAR)
    assert len(_year_of(loaded, YEAR)) == 6  # rappel, jour, the 3 days of semaine, bilan
    assert loaded.themes[2026] == cal.get("essai").themes[2026]  # other years' themes kept
    assert loaded.themes[YEAR] == {"fr": "Paix"}


def _year_of(campaign, year):
    return [
        (o.key, o.slot.day, o.send_at, o.texts, o.title, o.slot.message.audience)
        for o in schedule.occurrences(campaign, year)
    ]


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(load_directory(CAMPAIGNS_DIR).campaigns))
def test_every_shipped_campaign_round_trips_plain_and_edited(name):
    campaign = load_directory(CAMPAIGNS_DIR).get(name)
    slots = schedule.schedule(campaign, YEAR)
    extra = pure.added_message(
        "ajout", date(YEAR, 6, 1),
        {"title": "Ajout", "send_time": "11:30", "audience": {"regions": ["kayes"]},
         "texts": {"fr": "Un texte {entre accolades}", "bm": "Bm"}},
    )  # fmt: skip
    edits = YearEdits(
        theme={"fr": "Thème édité", "bm": "Barokun"},
        moved={slots[-1].key: date(YEAR, 7, 14)},
        added=(extra,),
        texts={slots[0].key: {"fr": "Texte réécrit pour l'année"}},
    )
    for variant in (campaign, pure.with_year(campaign, YEAR, edits)):
        loaded = parse_campaign(to_toml(variant, YEAR), f"{name}.toml", stem=name)
        assert _year_of(loaded, YEAR) == _year_of(variant, YEAR)
        if variant is campaign:  # untouched: every year as the shipped file's
            assert _year_of(loaded, YEAR + 1) == _year_of(campaign, YEAR + 1)
