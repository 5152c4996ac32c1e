"""Reading a directory file (the CSO repertoire): XLSX or CSV, one row per person, into plain
entries and the problems of each line — every one at once, with its line and column.

Pure apart from reading the bytes given: no database. What a row becomes (created, merged
into a member, refused) is decided by storage/directory.py.

Columns are recognised by their folded header ("Téléphone 2", "TEL", "Nom et prénom"…);
several phone columns, and several numbers in one cell ("76 12 34 56 / 66 12 34 56"), are
read; any Malian notation of a number is accepted (bot.vocabulary.phones).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.vocabulary.errors import FieldError, FieldErrors
from bot.vocabulary.phones import normalise_phone
from bot.vocabulary.reference import (
    AGE_BANDS,
    LANGUAGE_ALIASES,
    LANGUAGE_NAMES,
    REGION_ALIASES,
    REGIONS,
    SEX_ALIASES,
    THEME_ALIASES,
    THEMES,
)
from bot.vocabulary.text import fold, match_choice
from storage.organisation_list import kind_key, kinds_help

MAX_ROWS = 200_000
MAX_CELL = 500

# Folded header → field. Several columns may give phones.
HEADERS: dict[str, str] = {
    **dict.fromkeys(
        ("nom", "name", "nom complet", "nom et prenom", "nom et prenoms", "prenom et nom",
         "prenoms et nom", "full name", "personne", "contact"), "name"),
    **dict.fromkeys(
        ("telephone", "telephones", "tel", "phone", "phones", "numero", "numeros",
         "numero de telephone", "telephone 1", "telephone 2", "telephone 3", "tel 1", "tel 2",
         "phone 1", "phone 2", "mobile", "portable", "cellulaire", "whatsapp"), "phones"),
    **dict.fromkeys(("telegram", "telegram username", "compte telegram", "username"), "telegram"),
    **dict.fromkeys(
        ("organisation", "organization", "structure", "osc", "association", "ong",
         "nom de l'organisation", "nom de la structure"), "organisation"),
    **dict.fromkeys(
        ("type", "kind", "type d'organisation", "type de structure", "categorie",
         "type organisation"), "kind"),
    **dict.fromkeys(("region", "region administrative"), "region"),
    **dict.fromkeys(("cercle", "commune", "cercle/commune", "cercle commune", "localite",
                     "ville"), "cercle"),
    **dict.fromkeys(("themes", "theme", "domaines", "domaines d'intervention", "thematiques",
                     "thematique"), "themes"),
    **dict.fromkeys(("langue", "language", "langue preferee"), "language"),
    **dict.fromkeys(("sexe", "sex", "genre"), "sex"),
    **dict.fromkeys(("age", "tranche d'age", "age band", "tranche age"), "age_band"),
    **dict.fromkeys(("role", "fonction", "poste", "titre", "responsabilite"), "role"),
    **dict.fromkeys(("email", "e-mail", "courriel", "mail", "adresse email"), "email"),
}  # fmt: skip
_SPLIT_PHONES = re.compile(r"[/;,|\n]|\bet\b|\bou\b")
_SPLIT_LIST = re.compile(r"[,;/|\n]|\bet\b")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_AGE_BAND_FORMS = {
    fold(form): key
    for key, _label in AGE_BANDS
    for form in (key, key.replace("-", "–"), key.replace("-", " a "), key.replace("-", " - "))
} | {"36 et plus": "36+", "36 ans et plus": "36+", "plus de 35": "36+", "+36": "36+"}
SEX_FORMS = {**SEX_ALIASES, "f": "f", "m": "m", "feminin": "f", "masculin": "m"}
UNSAID = frozenset({"nd", "n/d", "-", "?", "non precise", "ne sait pas", "prefere ne pas dire"})


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str
    refused: bool  # the row is left out (else: imported, without that value)
    fate: str | None = None  # else than those two: "not_invited" (imported, no invitation)

    def as_json(self) -> dict[str, Any]:
        found = {
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "refused": self.refused,
        }
        return found | ({"fate": self.fate} if self.fate else {})


@dataclass
class Entry:
    """One person of the file, cleaned. `line` is the file's line (the header is line 1)."""

    line: int
    name: str
    phones: list[str] = field(default_factory=list)  # E.164
    telegram: str | None = None  # lower case, no @
    organisation: str | None = None
    kind: str | None = None
    region: str | None = None
    cercle: str | None = None
    themes: list[str] = field(default_factory=list)
    language: str | None = None
    sex: str | None = None
    age_band: str | None = None
    role: str | None = None
    email: str | None = None


@dataclass
class ParsedFile:
    entries: list[Entry]
    problems: list[Problem]
    rows: int  # data rows read (blank ones aside)
    encoding: str | None = None  # CSV: what it was read as


# --- reading the cells --------------------------------------------------------------------
def decode_text(raw: bytes, filename: str) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else Windows-1252, else Latin-1: what French Excel and
    older tools write. UTF-16 (NUL bytes) is refused, saying how to save the file."""
    if b"\x00" in raw[:4096]:
        message = 'cannot read it as text: in Excel, save it as "CSV UTF-8" or as XLSX'
        raise FieldErrors([FieldError("file", message, source=filename)])
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes anything")  # pragma: no cover


def csv_rows(text: str) -> Iterator[list[Any]]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    yield from csv.reader(io.StringIO(text), delimiter=delimiter)


def xlsx_rows(raw: bytes, filename: str) -> Iterator[tuple[Any, ...]]:
    """The first sheet's rows, streamed (openpyxl's read-only mode: memory stays small)."""
    import openpyxl  # imported here: only imports need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as error:  # zipfile.BadZipFile, KeyError, InvalidFileException…
        message = f"not a readable XLSX file ({type(error).__name__})"
        raise FieldErrors([FieldError("file", message, source=filename)]) from None
    try:
        sheet = workbook.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def is_xlsx(raw: bytes) -> bool:
    return raw[:4] == b"PK\x03\x04"  # a ZIP archive: XLSX (CSV never starts so)


def cell_text(value: Any) -> str:
    """A cell as text: Excel keeps 76123456 as a number (or 22376123456.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())[:MAX_CELL]


# --- one field at a time ------------------------------------------------------------------
# The readers of repeated values (regions, kinds, themes…) are cached: a directory of 50,000
# people has a few hundred distinct ones, and folding them is most of the reading's time.
_kind_of = functools.lru_cache(maxsize=4096)(kind_key)


def phones_of(text: str) -> tuple[list[str], list[str]]:
    """(the E.164 numbers, the parts that are not numbers) of one cell."""
    good, bad = [], []
    for part in _SPLIT_PHONES.split(text):
        part = part.strip()
        if not part:
            continue
        number = normalise_phone(part)
        if number is None:
            bad.append(part)
        elif number not in good:
            good.append(number)
    return good, bad


@functools.lru_cache(maxsize=4096)
def region_of(text: str) -> str | None:
    if not text or fold(text).isdigit():
        return None
    return match_choice(text, REGIONS, REGION_ALIASES)


@functools.lru_cache(maxsize=4096)
def language_of(text: str) -> str | None:
    if fold(text).isdigit():
        return None
    return match_choice(text, LANGUAGE_NAMES, LANGUAGE_ALIASES)


@functools.lru_cache(maxsize=4096)
def sex_of(text: str) -> str | None:
    return SEX_FORMS.get(fold(text))


@functools.lru_cache(maxsize=4096)
def age_band_of(text: str) -> str | None:
    folded = fold(text).replace(" ans", "")
    if folded.isdigit():
        age = int(folded)
        if 15 <= age <= 120:
            return "15-24" if age <= 24 else "25-35" if age <= 35 else "36+"
        return None
    return _AGE_BAND_FORMS.get(folded) or _AGE_BAND_FORMS.get(fold(text))


@functools.lru_cache(maxsize=4096)
def themes_of(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    keys, unknown = [], []
    whole = THEME_ALIASES.get(fold(text)) or (
        match_choice(text, THEMES, THEME_ALIASES) if not fold(text).isdigit() else None
    )
    parts = [text] if whole else [part for part in _SPLIT_LIST.split(text) if part.strip()]
    for part in parts:
        key = THEME_ALIASES.get(fold(part))  # "1325" is an alias, not a choice's number
        if key is None and not fold(part).isdigit():
            key = match_choice(part, THEMES, THEME_ALIASES)
        if key is None:
            unknown.append(part.strip())
        elif key not in keys:
            keys.append(key)
    return tuple(keys), tuple(unknown)


def telegram_of(text: str) -> str | None:
    name = text.strip().removeprefix("https://t.me/").removeprefix("t.me/").lstrip("@")
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{4,31}", name):
        return name.lower()
    return None


# --- the whole file -----------------------------------------------------------------------
def parse_rows(rows: Iterator[Any], filename: str) -> ParsedFile:
    header_row = next(rows, None)
    if header_row is None:
        raise FieldErrors([FieldError("file", "is empty", source=filename)])
    columns: list[str | None] = []
    problems: list[Problem] = []
    for cell in header_row:
        folded = fold(cell_text(cell))
        key = HEADERS.get(folded) or HEADERS.get(folded.replace("(s)", "").strip())
        if key is None and folded.startswith(("telephone", "tel ", "numero")):
            key = "phones"
        columns.append(key)
        if key is None and folded:
            message = f"unknown column {cell_text(cell)!r}: left out"
            problems.append(Problem(1, "header", message, refused=False))
    if "name" not in columns:
        raise FieldErrors([FieldError("nom", "no name column (nom) in the header", line=1,
                                      source=filename)])  # fmt: skip
    if "phones" not in columns and "telegram" not in columns:
        message = "no phone (téléphone) or Telegram column in the header"
        raise FieldErrors([FieldError("telephone", message, line=1, source=filename)])
    entries: list[Entry] = []
    count = 0
    for line, row in enumerate(rows, start=2):
        cells: dict[str, list[str]] = {}
        for key, value in zip(columns, row, strict=False):
            text = cell_text(value)
            if key is not None and text:
                cells.setdefault(key, []).append(text)
        if not cells and not any(cell_text(value) for value in row):
            continue  # a blank line
        count += 1
        if count > MAX_ROWS:
            message = f"more than {MAX_ROWS} rows: split the file"
            raise FieldErrors([FieldError("file", message, source=filename, line=line)])
        entry, found = parse_entry(line, cells)
        problems += found
        if entry is not None:
            entries.append(entry)
    return ParsedFile(entries, problems, count)


def parse_entry(line: int, cells: dict[str, list[str]]) -> tuple[Entry | None, list[Problem]]:
    """One row's entry (None if it is refused) and its problems."""
    problems: list[Problem] = []

    def note(field_: str, message: str, refused: bool = False) -> None:
        problems.append(Problem(line, field_, message, refused))

    def one(key: str) -> str:
        return " ".join(cells.get(key, []))

    name = one("name")
    if len(name) < 2 or fold(name).isdigit():
        note("nom", "missing" if not name else f"not a name: {name!r}", refused=True)
    phones: list[str] = []
    for text in cells.get("phones", []):
        good, bad = phones_of(text)
        phones += [number for number in good if number not in phones]
        for part in bad:
            note("telephone", f"not a phone number: {part!r}")
    telegram = None
    if one("telegram"):
        telegram = telegram_of(one("telegram"))
        if telegram is None:
            note("telegram", f"not a Telegram username: {one('telegram')!r}")
    if not phones and telegram is None:
        note("telephone", "no usable phone number or Telegram username", refused=True)
    region = None
    if not one("region"):
        note("region", "missing: imported without a region")
    else:
        region = region_of(one("region"))
        if region is None:
            note("region", f"unknown region {one('region')!r}: imported without one")
    kind = None
    if one("kind"):
        kind = _kind_of(one("kind"))
        if kind is None:
            note("type", f"unknown kind {one('kind')!r} (one of: {kinds_help()}): left empty")
    themes: list[str] = []
    for text in cells.get("themes", []):
        keys, unknown = themes_of(text)
        themes += [key for key in keys if key not in themes]
        for part in unknown:
            note("themes", f"unknown theme {part!r}: left out")
    language = None
    if one("language"):
        language = language_of(one("language"))
        if language is None:
            note("langue", f"unknown language {one('language')!r}: French is used")
    sex = None
    if one("sex") and fold(one("sex")) not in UNSAID:
        sex = sex_of(one("sex"))
        if sex is None:
            note("sexe", f"not F or M: {one('sex')!r}: left empty")
    age_band = None
    if one("age_band") and fold(one("age_band")) not in UNSAID:
        age_band = age_band_of(one("age_band"))
        if age_band is None:
            note("age", f"not an age or a band (15-24, 25-35, 36+): {one('age_band')!r}")
    email = one("email") or None
    if email and not _EMAIL.match(email):
        note("email", f"not an e-mail address: {email!r}: left out")
        email = None
    if any(problem.refused for problem in problems):
        return None, problems
    entry = Entry(
        line=line,
        name=name[:200],
        phones=phones,
        telegram=telegram,
        organisation=one("organisation")[:200] or None,
        kind=kind,
        region=region,
        cercle=one("cercle")[:200] or None,
        themes=themes,
        language=language,
        sex=sex,
        age_band=age_band,
        role=one("role")[:60] or None,
        email=email,
    )
    return entry, problems


def read_directory(raw: bytes, filename: str) -> ParsedFile:
    """An XLSX or CSV file's entries and problems (FieldErrors only if it cannot be read)."""
    if is_xlsx(raw):
        return parse_rows(iter(xlsx_rows(raw, filename)), filename)
    text, encoding = decode_text(raw, filename)
    parsed = parse_rows(csv_rows(text), filename)
    parsed.encoding = encoding
    return parsed
