"""How far each language is translated, and how much of it a native speaker has reviewed: the
gettext catalogs (members' `benkadi`, the console's `console`) and the texts of the campaign and
poll files. What `benkadi i18n status` prints and README's language section states.

An entry counts as translated when the build ships it (some text, not fuzzy), and as awaiting
review when it carries the `# REVIEW` translator comment (catalogs) or its language is in its
file's `[review] pending` list (campaigns, polls). French is the source: complete, and reviewed
unless a file lists it as pending.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from bot.vocabulary.i18n import LANGUAGES, LOCALES_DIR, REVIEW_MARK, SOURCE_LANGUAGE
from broadcasts.campaigns.files import load_directory
from broadcasts.campaigns.model import Campaign
from broadcasts.file_parser import FileError
from broadcasts.polls.model import Poll
from broadcasts.polls.parse import POLLS_DIR, load_poll_file, shipped_polls

CATALOG_DOMAINS = ("benkadi", "console")
DOMAINS = (*CATALOG_DOMAINS, "campaigns", "polls")


@dataclass(frozen=True)
class Coverage:
    language: str
    domain: str
    total: int
    translated: int
    awaiting_review: int

    @property
    def reviewed(self) -> int:
        return self.translated - self.awaiting_review

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "reviewed": self.reviewed}


def catalog_coverage(domain: str, locales: Path = LOCALES_DIR) -> list[Coverage]:
    """Each language's share of the domain's template (locales/<domain>.pot)."""
    with (locales / f"{domain}.pot").open("rb") as handle:
        ids = {message.id for message in read_po(handle) if message.id}
    rows = []
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            rows.append(Coverage(language, domain, len(ids), len(ids), 0))
            continue
        translated = awaiting = 0
        po = locales / language / "LC_MESSAGES" / f"{domain}.po"
        if po.exists():
            with po.open("rb") as handle:
                for message in read_po(handle, locale=language):
                    if message.id not in ids or message.fuzzy or not _has_text(message.string):
                        continue
                    translated += 1
                    awaiting += REVIEW_MARK in message.user_comments
        rows.append(Coverage(language, domain, len(ids), translated, awaiting))
    return rows


def _has_text(string: str | tuple[str, ...] | list[str] | None) -> bool:
    strings = [string] if isinstance(string, str) else list(string or ())
    return bool(strings) and all(text.strip() for text in strings)


def texts_coverage(
    domain: str, files: Iterable[tuple[Iterable[dict[str, str]], frozenset[str]]]
) -> list[Coverage]:
    """Each language's share of the texts (language → text tables) of some files, with each
    file's languages pending review."""
    total = 0
    translated = dict.fromkeys(LANGUAGES, 0)
    awaiting = dict.fromkeys(LANGUAGES, 0)
    for tables, pending in files:
        for table in tables:
            total += 1
            for language in LANGUAGES:
                if table.get(language, "").strip():
                    translated[language] += 1
                    awaiting[language] += language in pending
    return [
        Coverage(language, domain, total, translated[language], awaiting[language])
        for language in LANGUAGES
    ]


def campaign_texts(campaign: Campaign) -> Iterator[dict[str, str]]:
    for message in campaign.messages:
        yield from message.texts


def poll_texts(poll: Poll) -> Iterator[dict[str, str]]:
    yield poll.title
    yield poll.invitation
    if poll.reminder:
        yield poll.reminder
    for question in poll.questions:
        yield question.texts
        yield from (option.texts for option in question.options if option.texts)


def status(
    campaigns_directory: Path, polls_directory: Path = POLLS_DIR, locales: Path = LOCALES_DIR
) -> list[Coverage]:
    """Every domain of every language, language by language (LANGUAGES order). Campaign and
    poll files with errors are left out (`benkadi campaigns validate` names them)."""
    calendar = load_directory(campaigns_directory)
    polls = []
    for path in shipped_polls(polls_directory):
        try:
            polls.append(load_poll_file(path))
        except FileError:
            continue
    rows = [row for domain in CATALOG_DOMAINS for row in catalog_coverage(domain, locales)]
    rows += texts_coverage(
        "campaigns",
        [(list(campaign_texts(c)), c.review_pending) for c in calendar.campaigns.values()],
    )
    rows += texts_coverage("polls", [(list(poll_texts(p)), p.review_pending) for p in polls])
    return sorted(rows, key=lambda row: (LANGUAGES.index(row.language), DOMAINS.index(row.domain)))
