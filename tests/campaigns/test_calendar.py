"""The campaign file format, pure: parsing, errors with file:line:field, dates, texts."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, time, timedelta

import pytest

from bot.vocabulary.i18n import LANGUAGES
from bot.vocabulary.sms_text import cheapest_sms_text, sms_size
from broadcasts.campaigns import schedule
from broadcasts.campaigns.calendar import CampaignError, parse_campaign
from broadcasts.campaigns.files import CAMPAIGNS_DIR
from broadcasts.campaigns.texts import render
from broadcasts.quiet_hours import parse_quiet_hours
from broadcasts.toml_lines import field_name, key_lines
from tests.campaigns.conftest import SHIPPED, SMALL, at

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)


def parse(text: str):
    return parse_campaign(text, "essai.toml", stem="essai")


def error_of(text: str) -> CampaignError:
    with pytest.raises(CampaignError) as caught:
        parse(text)
    return caught.value


# --- the shipped calendar --------------------------------------------------------------------
def test_the_shipped_campaigns_are_valid(shipped):
    assert sorted(shipped.campaigns) == sorted(SHIPPED)


def dates(campaign, year: int) -> list[tuple[str, date, time]]:
    return [(slot.key, slot.day, slot.send_at.time()) for slot in schedule.schedule(campaign, year)]


@pytest.mark.parametrize("year", [2026, 2027, 2028])
def test_the_shipped_campaigns_fall_on_their_days(shipped, year):
    nine, ten = time(9), time(10)
    sixteen = [
        (f"jour-{n:02d}", date(year, 11, 25) + timedelta(days=n - 1), nine) for n in range(1, 17)
    ]
    assert sixteen[0][1] == date(year, 11, 25) and sixteen[-1][1] == date(year, 12, 10)
    expected = {
        "16-jours": sixteen,
        "8-mars": [("rappel", date(year, 3, 1), ten), ("jour", date(year, 3, 8), nine)],
        "fille": [("jour", date(year, 10, 11), nine)],
        "resolution-1325": [("anniversaire", date(year, 10, 31), nine)],
        "femme-africaine": [("jour", date(year, 7, 31), nine)],
        "violence-sexuelle-conflits": [("jour", date(year, 6, 19), nine)],
    }
    assert {name: dates(c, year) for name, c in shipped.campaigns.items()} == expected


def test_every_shipped_text_fits_in_two_sms_with_a_theme_or_without(shipped):
    """Every language everywhere; each text, as SMS sends it, 1 or 2 SMS, also with a long
    theme (60 characters in every language); Bambara in the standard spelling."""
    theme = "Tous unis pour mettre fin aux violences faites aux femmes !!"
    assert len(theme) == 60
    for campaign in shipped.campaigns.values():
        themed = dataclasses.replace(campaign, themes={2026: dict.fromkeys(LANGUAGES, theme)})
        for variant in (campaign, themed):
            for item in schedule.occurrences(variant, 2026):
                assert set(item.texts) == set(LANGUAGES), (campaign.name, item.key)
                templates = item.slot.message.template(item.slot.number)
                for language, text in item.texts.items():
                    size = sms_size(cheapest_sms_text(text))
                    assert size.segments <= 2, (campaign.name, item.key, language, size)
                    assert "{" not in text and "}" not in text
                    if "{theme}" in templates[language]:
                        assert (theme in text) == (variant is themed)
                assert not set("èò") & set(item.texts["bm"]), (campaign.name, item.key)


def test_the_activity_report_keyword_is_in_the_texts(shipped):
    texts = [
        item.texts
        for campaign in shipped.campaigns.values()
        for item in schedule.occurrences(campaign, 2026)
    ]
    asking = [t for t in texts if "RAPPORT" in t["fr"]]
    assert len(asking) >= 6
    assert all("RAPPORT" in t["bm"] and "REPORT" in t["en"] for t in asking)
    assert all("GOLLE" in t["ff"] and "GOY" in t["ses"] for t in asking)


def test_every_text_no_native_speaker_has_read_is_awaiting_review(shipped):
    """Bambara, Fulfulde and Songhay were written without a native speaker: the [review]
    table says so, and the status counts them as awaiting review."""
    for campaign in shipped.campaigns.values():
        assert campaign.review_pending == {"bm", "ff", "ses"}, campaign.name


def test_the_review_table_is_checked():
    base = 'name = "essai"\ntitle = "Essai"\n'
    message = '[[messages]]\nkey = "jour"\ndate = "03-08"\ntexts = { fr = "Bonjour" }\n'
    assert parse(base + '[review]\npending = ["ff"]\n' + message).review_pending == {"ff"}
    assert parse(base + message).review_pending == frozenset()
    error = error_of(base + '[review]\npending = ["ff", "wo"]\n' + message)
    assert str(error).startswith("essai.toml:4: review.pending: 'wo': unknown language")
    error = error_of(base + '[review]\nawaiting = ["ff"]\n' + message)
    assert "review.awaiting: unknown key (known: pending)" in str(error)
    error = error_of(base + '[review]\npending = "ff"\n' + message)
    assert "review.pending: must be a list of languages" in str(error)


# --- texts -----------------------------------------------------------------------------------
def test_a_line_with_the_theme_is_left_out_without_one():
    template = "Le 8 mars approche.\nThème {year} : {theme}\nEnvoyez RAPPORT."
    assert render(template, theme="Égalité", year=2026) == (
        "Le 8 mars approche.\nThème 2026 : Égalité\nEnvoyez RAPPORT."
    )
    assert render(template, theme=None, year=2026) == "Le 8 mars approche.\nEnvoyez RAPPORT."
    assert render("{{theme}} {day}/{days}", theme=None, year=2026, day=2, days=3) == "{theme} 2/3"


def test_the_small_campaign():
    campaign = parse(SMALL)
    items = schedule.occurrences(campaign, 2026)
    assert [(i.key, i.slot.day, i.send_at.hour) for i in items] == [
        ("rappel", date(2026, 3, 1), 10),
        ("jour", date(2026, 3, 8), 9),
        ("semaine-01", date(2026, 3, 9), 9),
        ("semaine-02", date(2026, 3, 10), 9),
        ("semaine-03", date(2026, 3, 11), 9),
    ]
    assert items[0].texts == {
        "fr": "Le 8 mars approche.\nThème 2026 : Investir dans les femmes",
        "bm": "Marisikalo tile 8 surunyara.",
        "en": "8 March is coming.",
    }
    assert items[3].texts == {"fr": "Jour 2 sur 3 après le 8 mars."}
    assert items[3].title == "Campagne d'essai 2026 — semaine 2/3"
    no_theme = schedule.occurrences(campaign, 2027)[0]
    assert no_theme.texts["fr"] == "Le 8 mars approche."
    draft = items[0].draft()
    assert (draft.send_at, draft.text_for("ses")) == (at(2026, 3, 1, 10), items[0].texts["fr"])


def test_offsets_and_ranges_may_cross_the_new_year():
    text = SMALL.replace('date = "03-08"\nsend', 'date = "01-03"\nsend').replace(
        '{ first = "03-09", last = "03-11" }', '{ first = "12-30", last = "01-02" }'
    )
    campaign = parse(text.replace('date = "03-08"\ntexts', 'date = "01-03"\ntexts'))
    days = [slot.day for slot in schedule.schedule(campaign, 2026)]
    assert days == [
        date(2025, 12, 27),  # 7 days before 3 January 2026: still the 2026 campaign
        date(2026, 1, 3),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2027, 1, 2),
    ]


def test_due_from_the_send_time_to_the_end_of_the_day():
    campaign = parse(SMALL)

    def due(moment):
        return [slot.key for slot in schedule.due_slots([campaign], moment)]

    assert due(at(2026, 3, 8, 8, 59, 59)) == []
    assert due(at(2026, 3, 8, 9)) == ["jour"]
    assert due(at(2026, 3, 8, 23, 59, 59)) == ["jour"]
    assert due(at(2026, 3, 9, 0)) == []  # a message not sent on its day is not sent
    assert due(at(2026, 3, 1, 10, 30)) == ["rappel"]


def test_placeholders_and_keys():
    assert field_name(("messages", 2, "days", 0, "bm")) == "messages[3].days[1].bm"
    with pytest.raises(CampaignError, match=re.escape("unknown placeholder {day}")):
        parse(SMALL.replace("Le 8 mars approche.", "Le 8 mars, jour {day}."))


# --- errors name the file, the line and the field --------------------------------------------
BROKEN = {
    "toml syntax": ('send_time = "10:00"', 'send_time = "10:00', 12, "toml"),
    "unknown language": ('en = "8 March is coming."', 'xx = "8 March"', 18, "messages[1].texts.xx"),
    "no french": (
        'texts = { fr = "Bonne journée du 8 mars !", bm',
        'texts = { en = "Happy 8 March!", bm',
        23,
        "messages[2].texts",
    ),
    "bad day": ('date = "03-08"\ntexts', 'date = "02-30"\ntexts', 22, "messages[2].date"),
    "29 February": ('date = "03-08"\ntexts', 'date = "02-29"\ntexts', 22, "messages[2].date"),
    "range with 29 February": (
        '"03-09", last = "03-11"',
        '"02-20", last = "03-11"',
        27,
        "messages[3].range",
    ),
    "range's last day": ('last = "03-11"', 'last = "13-11"', 27, "messages[3].range.last"),
    "offset without a date": ('date = "03-08"\nsend_time', "send_time", 10, "messages[1].offset"),
    "unknown key": ('key = "semaine"', 'key = "semaine"\ncolour = "red"', 27, "messages[3].colour"),
    "two rules": ('key = "jour"', 'key = "jour"\noffset = 1', 20, "messages[2]"),
    "theme language": ('bm = "Ka nafolo', 'xx = "Ka nafolo', 7, "years.2026.theme.xx"),
    "year": ("[years.2026]", "[years.1999]", 6, "years.1999"),
    "send time": ('send_time = "09:00"', 'send_time = "9h"', 4, "send_time"),
    "audience": (
        'send_time = "09:00"',
        'send_time = "09:00"\n[audience]\nregions = ["paris"]',
        6,
        "audience.regions",
    ),
    "name": ('name = "essai"', 'name = "autre"', 1, "name"),
    "placeholder": ("Jour {day} sur", "Jour {jour} sur", 28, "messages[3].texts.fr"),
    "duplicate key": ('key = "jour"', 'key = "rappel"', 21, "messages[2].key"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_a_broken_file_is_rejected_with_file_line_and_field(case):
    old, new, line, field = BROKEN[case]
    assert old in SMALL
    text = SMALL.replace(old, new, 1)
    error = error_of(text)
    assert (error.file, error.line, error.field) == ("essai.toml", line, field), str(error)
    assert str(error).startswith(f"essai.toml:{line}: {field}: ")


def test_a_text_too_long_is_named_at_its_line_with_its_size():
    long_bm = "Musow ka don ɲɛnajɛ bɛna kɛ Bamako. " * 9  # ɲ ɛ: UCS-2 as written
    text = SMALL.replace('bm = "Marisikalo tile 8 surunyara."', f'bm = "{long_bm}"')
    error = error_of(text)
    assert (error.line, error.field) == (17, "messages[1].texts.bm")
    assert "at most 2 SMS" in error.message
    fits = SMALL.replace('bm = "Marisikalo tile 8 surunyara."', f'bm = "{long_bm[:200]}"')
    assert sms_size(long_bm[:200]).segments == 3  # as written: UCS-2
    parse(fits)  # but 2 SMS in the GSM-friendly spelling, which is what SMS sends


def test_the_theme_counts_in_the_size():
    long_theme = "x" * 290
    error = error_of(SMALL.replace('fr = "Investir dans les femmes"', f'fr = "{long_theme}"'))
    assert (error.line, error.field) == (14, "messages[1].texts.fr")
    assert "with the 2026 theme" in error.message


def test_a_range_needs_one_text_per_day_at_the_days_line():
    text = """\
name = "essai"
title = "Essai"

[[messages]]
key = "jour"
range = { first = "11-25", last = "11-27" }

[[messages.days]]
fr = "Un"

[[messages.days]]
fr = "Deux"

[[messages]]
key = "autre"
date = "01-01"
texts = { fr = "Bonne année" }
"""
    error = error_of(text)
    assert (error.line, error.field) == (8, "messages[1].days")
    assert "has 2 days of texts; the range 11-25 to 11-27 has 3" in error.message
    fixed = text.replace('fr = "Deux"', 'fr = "Deux"\n\n[[messages.days]]\nbm = "Saba"')
    error = error_of(fixed)
    assert (error.line, error.field) == (14, "messages[1].days[3]")
    assert "French text (fr) is required" in error.message


def test_lines_of_keys_tables_arrays_and_inline_tables():
    text = '''\
# a comment with [[messages]] and key = "x"
name = "essai"  # a comment
"title" = 'Essai'
description = """
[[messages]]
key = "not a key: inside a string"
"""
[audience]
regions = [
    "bamako",
    "kayes",
]
[[messages]]
key = "a"
texts.fr = """Texte \\""" encore"""
[[messages]]
key = "b"
range = { first = "11-25", last = "11-26" }
[[messages.days]]
fr = "un"
[[messages.days]]
fr = "deux"
'''
    lines = key_lines(text)
    assert lines[("name",)] == 2
    assert lines[("title",)] == 3
    assert lines[("description",)] == 4
    assert lines[("audience",)] == 8
    assert lines[("audience", "regions", 1)] == 11
    assert lines[("messages", 0)] == 13
    assert lines[("messages", 0, "texts", "fr")] == 15
    assert lines[("messages", 1, "key")] == 17
    assert lines[("messages", 1, "range", "last")] == 18
    assert lines[("messages", 1, "days", 1, "fr")] == 22
    assert ("messages", 2) not in lines


# --- quiet hours -----------------------------------------------------------------------------
def test_quiet_hours_across_midnight():
    quiet = parse_quiet_hours("21:00-08:00")
    assert str(quiet) == "21:00-08:00"
    assert quiet.hold_until(at(2026, 11, 25, 20, 59)) is None
    assert quiet.hold_until(at(2026, 11, 25, 21, 0)) == at(2026, 11, 26, 8)
    assert quiet.hold_until(at(2026, 11, 26, 3, 0)) == at(2026, 11, 26, 8)
    assert quiet.hold_until(at(2026, 11, 26, 8, 0)) is None


def test_quiet_hours_within_a_day_and_off():
    quiet = parse_quiet_hours("12:00-14:00")
    assert quiet.hold_until(at(2026, 1, 1, 13)) == at(2026, 1, 1, 14)
    assert quiet.hold_until(at(2026, 1, 1, 21)) is None
    assert parse_quiet_hours("off") is None and parse_quiet_hours("") is None
    for wrong in ("21h-8h", "21:00", "08:00-08:00", "25:00-08:00"):
        with pytest.raises(ValueError):
            parse_quiet_hours(wrong)


def test_quiet_hours_and_the_campaigns_directory_are_settings(tmp_path):
    from gateway.settings import Settings, SettingsError, settings_env

    default = Settings.from_env({})
    assert str(default.quiet_hours) == "21:00-08:00"
    assert default.campaigns_directory == CAMPAIGNS_DIR
    chosen = Settings.from_env(
        {"BENKADI_SMS_QUIET_HOURS": "off", "BENKADI_CAMPAIGNS_DIR": str(tmp_path)}
    )
    assert chosen.quiet_hours is None and chosen.campaigns_directory == tmp_path
    env = settings_env(chosen)  # what a child `benkadi dispatch` (and its scheduler) gets
    assert (env["BENKADI_SMS_QUIET_HOURS"], env["BENKADI_CAMPAIGNS_DIR"]) == ("off", str(tmp_path))
    with pytest.raises(SettingsError, match="BENKADI_SMS_QUIET_HOURS"):
        Settings.from_env({"BENKADI_SMS_QUIET_HOURS": "22h-7h"})
