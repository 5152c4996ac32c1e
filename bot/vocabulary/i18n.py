"""Gettext catalogs from locales/, one locale per inbound message (a ContextVar).

French is the source language: a message missing from a catalog falls back to the French msgid.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
import re
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "benkadi"
LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
SOURCE_LANGUAGE = "fr"
LANGUAGES = ("fr", "bm", "ff", "ses", "en")
# The translator comment ("# " in a .po, kept by pybabel update) on an entry no native speaker has
# checked yet; a reviewer deletes it. Not gettext's fuzzy flag: the build drops fuzzy entries.
REVIEW_MARK = "REVIEW: not reviewed by a native speaker"

_current: ContextVar[str] = ContextVar("benkadi_locale", default=SOURCE_LANGUAGE)


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog; compiled from the .po in memory when no fresh .mo exists."""
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


# Texts edited in the console (storage/translations.py loads them): language → msgid → text.
# They override the shipped catalog at once, without a restart; replaced whole, never mutated.
_overrides: dict[str, dict[str, str]] = {}


def set_overrides(overrides: dict[str, dict[str, str]]) -> None:
    global _overrides
    _overrides = {language: dict(texts) for language, texts in overrides.items()}


def shipped(language: str, message: str) -> str:
    """The catalog's text, whatever the console changed (French for the source language)."""
    return translations(language).gettext(message)


def in_language(language: str, message: str) -> str:
    return _overrides.get(language, {}).get(message) or shipped(language, message)


PLACEHOLDER = re.compile(r"\{\w*\}")


def lost_placeholders(message: str, text: str) -> list[str]:
    """The {placeholders} of `message` that `text` lacks (or adds), in order: a translation
    that drops {name} would print the member's name as nothing."""
    source, translated = PLACEHOLDER.findall(message), PLACEHOLDER.findall(text)
    missing = [p for p in dict.fromkeys(source) if p not in translated]
    return missing + [p for p in dict.fromkeys(translated) if p not in source]


def current_language() -> str:
    return _current.get()


@contextlib.contextmanager
def use_locale(language: str | None) -> Iterator[str]:
    language = language if language in LANGUAGES else SOURCE_LANGUAGE
    token = _current.set(language)
    try:
        yield language
    finally:
        _current.reset(token)


def gettext_(message: str) -> str:
    return in_language(_current.get(), message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


_ = gettext_
