"""What campaign files and poll files check alike: errors that name the file, the line and the
field, and the readers of the fields both kinds have (a name that is the file's, some text,
texts per language, an audience, true/false). Pure.

A reader raises its parser's own FileError subclass (CampaignError, PollError), so each kind
of file keeps its error class while the checks, and their wording, exist once.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bot.vocabulary.errors import FieldError
from bot.vocabulary.i18n import LANGUAGES
from broadcasts.model import (
    TWILIO_BODY_LIMIT,
    Audience,
    DraftError,
    WhatsAppPlan,
    parse_audience,
    parse_whatsapp,
)
from broadcasts.toml_lines import Path_, field_name, key_lines, line_of

NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # a campaign's name, a poll's slug
MAX_NAME = 60
REVIEW_KEYS = ("pending",)
TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)$")


class FileError(FieldError):
    """A data file (or the API's JSON of one) is wrong: where (file, line), which field, what."""

    def __init__(self, file: str, line: int | None, field_name: str, message: str) -> None:
        super().__init__(field_name, message, source=file, line=line or None)

    @property
    def file(self) -> str:
        return self.source or ""

    def to_json(self) -> dict[str, Any]:
        """As a file's validation lists it (`benkadi campaigns validate --json`, the API's
        campaign list): where first, then what."""
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


def placeholders_of(template: str) -> list[str]:
    """The {names} of a str.format template; ValueError when its braces do not pair."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


@dataclass
class FileParser:
    file: str  # how errors name the file ("body" for the API's JSON)
    lines: dict[Path_, int] = field(default_factory=dict)
    error: ClassVar[type[FileError]] = FileError

    def fail(self, path: Path_, message: str) -> FileError:
        return self.error(self.file, line_of(self.lines, path), field_name(path), message)

    def load(self, text: str) -> dict[str, Any]:
        """The file's data, with the line of everything in it; a syntax error names its line."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            message = str(error)
            match = TOML_POSITION.search(message)
            line = int(match[1]) if match else None
            message = message[: match.start()].strip() if match else message
            raise self.error(self.file, line, "toml", message) from None
        self.lines = key_lines(text)
        return data

    def unknown_keys(self, data: Mapping[str, Any], known: Iterable[str], path: Path_) -> None:
        for key in data:
            if key not in known:
                raise self.fail((*path, key), f"unknown key (known: {', '.join(known)})")

    def text(self, data: Mapping[str, Any], key: str, path: Path_, *, required: bool) -> str:
        value = data.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail((*path, key), "must be some text")
        return value.strip()

    def flag(self, data: Mapping[str, Any], key: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail((key,), "must be true or false")
        return value

    def name(self, data: Mapping[str, Any], key: str, stem: str | None, example: str) -> str:
        """The file's own name (a campaign's name, a poll's slug): `stem`.toml holds it."""
        value = data.get(key)
        if not isinstance(value, str) or not NAME.match(value) or len(value) > MAX_NAME:
            raise self.fail(
                (key,),
                f"must be lower-case letters, digits and dashes (at most {MAX_NAME}), "
                f'e.g. "{example}"',
            )
        if stem is not None and value != stem:
            raise self.fail((key,), f"must be the file's name: {stem}.toml holds {value!r}")
        return value

    def review(self, value: Any) -> frozenset[str]:
        """The languages whose texts in this file no native speaker has reviewed yet: a
        `[review]` table, `pending = ["ff", "ses"]`. A reviewer removes their language."""
        if value is None:
            return frozenset()
        if not isinstance(value, Mapping):
            raise self.fail(("review",), 'must be a table: [review] pending = ["ff", "ses"]')
        self.unknown_keys(value, REVIEW_KEYS, ("review",))
        pending = value.get("pending", [])
        if not isinstance(pending, list) or not all(isinstance(code, str) for code in pending):
            raise self.fail(
                ("review", "pending"), 'must be a list of languages, e.g. ["ff", "ses"]'
            )
        for code in pending:
            if code not in LANGUAGES:
                raise self.fail(
                    ("review", "pending"),
                    f"{code!r}: unknown language (known: {', '.join(LANGUAGES)})",
                )
        return frozenset(pending)

    def audience(self, value: Any, path: Path_, default: Audience) -> Audience:
        if value is None:
            return default
        if not isinstance(value, Mapping):
            raise self.fail(path, "must be a table of filters, like a broadcast's audience")
        try:
            return parse_audience(value, known_organisations=None)
        except DraftError as error:
            inner = tuple((error.field or "").split(".")[1:])  # "audience.regions" → regions
            raise self.fail((*path, *inner), error.message) from None

    def whatsapp(self, value: Any, path: Path_) -> WhatsAppPlan | None:
        """[whatsapp]: templates per language, variables, outside_window, as a broadcast's."""
        if value is None:
            return None
        try:
            return parse_whatsapp(value)
        except DraftError as error:
            inner = tuple((error.field or "").split(".")[1:])  # "whatsapp.templates.bm"
            raise self.fail((*path, *inner), error.message) from None

    def language_texts(
        self,
        value: Any,
        path: Path_,
        *,
        plain: bool = True,
        one_line: bool = False,
        placeholders: Collection[str] | None = None,
        french: bool = True,
    ) -> dict[str, str]:
        """Language → text: each language known, each text some text (on one line when
        `one_line`), at most what Twilio takes, with only the `placeholders` given (None: braces
        are plain text); French required when `french`. `plain` accepts one text, as French."""
        if plain and isinstance(value, str):
            value, paths = {"fr": value}, {"fr": path}  # the field is the text itself
        elif isinstance(value, Mapping):
            paths = {language: (*path, language) for language in value}
        else:
            shape = '{ fr = "…", bm = "…" }'
            raise self.fail(path, f"must be text, or {shape}" if plain else f"must be {shape}")
        texts: dict[str, str] = {}
        for language, text in value.items():
            where = paths[language]
            if language not in LANGUAGES:
                raise self.fail(where, f"unknown language (known: {', '.join(LANGUAGES)})")
            if not isinstance(text, str) or not text.strip():
                raise self.fail(where, "must be some text")
            text = text.strip()
            if one_line and "\n" in text:
                raise self.fail(where, "must be on one line")
            if len(text) > TWILIO_BODY_LIMIT:
                raise self.fail(where, f"is longer than {TWILIO_BODY_LIMIT} characters")
            if placeholders is not None:
                self.check_placeholders(text, where, placeholders)
            texts[language] = text
        if french and "fr" not in texts:
            raise self.fail(
                path,
                "a French text (fr) is required: members without a text in their language get it",
            )
        return texts

    def check_placeholders(self, text: str, where: Path_, allowed: Collection[str]) -> None:
        try:
            names = placeholders_of(text)
        except ValueError as error:
            raise self.fail(where, f"{error} (write {{{{ and }}}} for braces)") from None
        for name in names:
            if name not in allowed:
                known = ", ".join("{" + p + "}" for p in allowed)
                raise self.fail(where, f"unknown placeholder {{{name}}} (known: {known})")
