"""Campaign files on disk: a directory's campaigns, the valid ones and the errors of the others,
read again only when a file changes (so the secretariat edits a file and the scheduler uses it
within seconds, while a broken file is logged once and left out)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from bot.vocabulary.errors import NotFound
from broadcasts.campaigns.calendar import CampaignError, parse_campaign
from broadcasts.campaigns.model import Campaign

log = logging.getLogger(__name__)

CAMPAIGNS_DIR = Path(__file__).parent / "data"  # the calendars shipped with Benkadi
Signature = tuple[tuple[str, int, int], ...]  # (name, mtime in ns, size) of each file


class CampaignNotFound(NotFound):
    """No valid campaign file has this name."""


@dataclass(frozen=True)
class Calendar:
    """The campaigns of a directory that are valid, and the errors of those that are not."""

    directory: Path
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    errors: list[CampaignError] = field(default_factory=list)

    def get(self, name: str) -> Campaign:
        if name in self.campaigns:
            return self.campaigns[name]
        broken = [error for error in self.errors if Path(error.file).stem == name]
        if broken:
            raise CampaignNotFound(f"campaign {name!r} has an error: {broken[0]}")
        known = ", ".join(sorted(self.campaigns)) or "none"
        raise CampaignNotFound(f"no campaign {name!r} (known: {known})")


def load_file(path: Path, display: str | None = None) -> Campaign:
    """One campaign file, or CampaignError naming it (as `display`, else its path)."""
    name = display or str(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise CampaignError(name, None, "file", f"cannot read it: {reason}") from None
    return parse_campaign(text, name, stem=path.stem)


def campaign_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.toml"))


def load_directory(directory: Path) -> Calendar:
    campaigns, errors = {}, []
    for path in campaign_files(directory):
        try:
            campaign = load_file(path)
        except CampaignError as error:
            errors.append(error)
        else:
            campaigns[campaign.name] = campaign
    return Calendar(directory, campaigns, errors)


class CalendarSource:
    """A directory's campaigns, read again only when a file is added, removed or changed:
    the secretariat edits a file and the scheduler uses it within seconds; a broken file is
    logged once and left out (the others go on)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._signature: Signature | None = None
        self._calendar = Calendar(self.directory)

    def _stat(self) -> Signature:
        signature = []
        for path in campaign_files(self.directory):
            try:
                stat = path.stat()
            except OSError:
                continue
            signature.append((path.name, stat.st_mtime_ns, stat.st_size))
        return tuple(signature)

    @property
    def current(self) -> Calendar:
        """What the last load found."""
        return self._calendar

    def changed(self) -> bool:
        """Whether a file was added, removed or changed since the last load (cheap: stat)."""
        return self._stat() != self._signature

    def load(self) -> Calendar:
        signature = self._stat()
        if signature != self._signature:
            self._calendar = load_directory(self.directory)
            self._signature = signature
            for error in self._calendar.errors:
                log.error("campaign file left out: %s", error)
        return self._calendar


_sources: dict[Path, CalendarSource] = {}


def source_for(directory: Path) -> CalendarSource:
    """One shared, cached source per directory (for the API and the CLI)."""
    directory = Path(directory).resolve()
    if directory not in _sources:
        _sources[directory] = CalendarSource(directory)
    return _sources[directory]
