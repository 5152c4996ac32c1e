"""`benkadi i18n status`: translated, reviewed and awaiting review per language and domain, from
the catalogs' REVIEW comments and the files' [review] tables; README's table says the same."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bot.vocabulary.i18n import LANGUAGES, REVIEW_MARK
from broadcasts.campaigns.files import CAMPAIGNS_DIR
from broadcasts.coverage import DOMAINS, catalog_coverage, status
from gateway.cli.i18n import markdown_table
from gateway.settings import Settings
from tests import cli

pytestmark = pytest.mark.unit  # files only: the fast layer (pytest -m unit)

ROOT = Path(__file__).resolve().parents[2]


def readme_table() -> list[list[str]]:
    """The rows of the status table in README's "Languages" section."""
    section = ROOT.joinpath("README.md").read_text("utf-8").split("\n## Languages\n")[1]
    section = section.split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    header = "| language | domain | total | translated | reviewed | awaiting review |"
    assert lines and lines[0] == header, "README's Languages section lost its status table"
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def test_the_readme_states_the_status():
    rows = [row.to_json() for row in status(CAMPAIGNS_DIR)]
    fresh = markdown_table(rows)
    table = [[cell.strip() for cell in line.strip("|").split("|")] for line in fresh[2:]]
    assert readme_table() == table, (
        "README's Languages table is out of date; `benkadi i18n status --markdown` prints:\n"
        + "\n".join(fresh)
    )


def test_the_shipped_figures():
    rows = {(row.language, row.domain): row for row in status(CAMPAIGNS_DIR)}
    assert set(rows) == {(language, domain) for language in LANGUAGES for domain in DOMAINS}
    for language in LANGUAGES:
        for domain in ("benkadi", "campaigns", "polls"):  # every member-facing text, everywhere
            row = rows[language, domain]
            assert row.translated == row.total > 0, (language, domain)
            awaiting = row.total if language in ("bm", "ff", "ses") else 0
            assert (row.awaiting_review, row.reviewed) == (awaiting, row.total - awaiting)


def entry(msgid: str, msgstr: str, *flags: str) -> str:
    comments = "".join(f"# {flag}\n" for flag in flags if flag != "fuzzy")
    fuzzy = "#, fuzzy\n" if "fuzzy" in flags else ""
    return f'{comments}{fuzzy}msgid "{msgid}"\nmsgstr "{msgstr}"\n\n'


def test_a_catalog_counts_what_ships_and_what_awaits_review(tmp_path):
    template = "".join(entry(word, "") for word in ("Un", "Deux", "Trois", "Quatre", "Cinq"))
    (tmp_path / "benkadi.pot").write_text(template, "utf-8")
    folder = tmp_path / "ses" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    folder.joinpath("benkadi.po").write_text(
        entry("Un", "Afo", REVIEW_MARK)  # translated, awaiting review
        + entry("Deux", "Hinka")  # translated and reviewed (the comment removed)
        + entry("Trois", "Hinza", "fuzzy")  # the build drops it: not translated
        + entry("Quatre", "", REVIEW_MARK)  # empty: not translated
        + entry("Ancien", "Zeeni", REVIEW_MARK),  # no longer in the template
        "utf-8",
    )
    rows = {row.language: row for row in catalog_coverage("benkadi", tmp_path)}
    assert (rows["ses"].total, rows["ses"].translated, rows["ses"].reviewed) == (5, 2, 1)
    assert rows["ses"].awaiting_review == 1
    assert (rows["fr"].translated, rows["fr"].reviewed) == (5, 5)  # the source
    assert rows["ff"].translated == 0  # no catalog at all


async def test_the_command_counts_a_campaign_directory(tmp_path, capsys):
    for name in ("8-mars.toml", "fille.toml"):
        shutil.copy(CAMPAIGNS_DIR / name, tmp_path / name)
    text = (tmp_path / "fille.toml").read_text("utf-8")
    (tmp_path / "fille.toml").write_text(
        re.sub(
            r"\nses = \"\"\".*?\"\"\"", "", text.replace('"bm", "ff", "ses"', '"bm"'), flags=re.S
        ),
        "utf-8",
    )  # Songhay text gone; Fulfulde reviewed
    settings = Settings.from_env({"BENKADI_CAMPAIGNS_DIR": str(tmp_path)})
    code = await cli.run(
        settings, "i18n", "status", "--json", "--language", "ff", "--language", "ses"
    )
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    campaigns = {row["language"]: row for row in rows if row["domain"] == "campaigns"}
    assert set(campaigns) == {"ff", "ses"}
    assert campaigns["ff"] == {
        "language": "ff", "domain": "campaigns", "total": 3, "translated": 3,
        "awaiting_review": 2, "reviewed": 1,
    }  # fmt: skip
    assert (campaigns["ses"]["translated"], campaigns["ses"]["awaiting_review"]) == (2, 2)


async def test_the_table(capsys):
    settings = Settings.from_env({})
    assert await cli.run(settings, "i18n", "status", "--language", "ses") == 0
    lines = capsys.readouterr().out.splitlines()  # not a terminal: plain padded lines
    assert [line.split()[:2] for line in lines] == [["ses", domain] for domain in DOMAINS]
    ses = next(row for row in status(CAMPAIGNS_DIR) if row.language == "ses")
    assert ses.domain == "benkadi" and ses.total > 140
    assert lines[0].split()[2:] == [str(ses.total), str(ses.total), "0", str(ses.total)]
