"""Member-facing texts edited in the console: each overrides the shipped catalog's entry for its
language, takes effect without a restart (every process reloads them when they change: see
`refresh`), is audited with what it replaced, and goes in and out as a .po file (Poedit,
Weblate) that round-trips exactly.

The shipped catalogs (locales/<lang>/LC_MESSAGES/benkadi.po) stay what the build ships; an
override saved here wins over them, reviewed or not. A .po export is the shipped catalog with
the overrides written in, the `# REVIEW` comment kept on what no native speaker has reviewed.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po, write_po
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary import i18n
from bot.vocabulary.errors import FieldError, FieldErrors, NotFound
from bot.vocabulary.i18n import LANGUAGES, LOCALES_DIR, REVIEW_MARK, SOURCE_LANGUAGE
from storage import audit
from storage.database import Database
from storage.models import Translation
from storage.types import utcnow

translations = Translation.__table__
TRANSLATED = tuple(language for language in LANGUAGES if language != SOURCE_LANGUAGE)
MAX_TEXT = 1600  # what Twilio takes


@dataclass(frozen=True)
class Entry:
    """One member-facing text in one language, as members get it now."""

    msgid: str  # the French source
    msgstr: str
    reviewed: bool
    overridden: bool  # saved in the console (else: the shipped catalog's)
    updated_by: str | None = None
    updated_at: datetime | None = None
    shipped: str = ""  # the shipped catalog's text, which a console text overrides


def _po_path(language: str, locales: Path = LOCALES_DIR) -> Path:
    return locales / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def shipped_catalog(language: str, locales: Path = LOCALES_DIR) -> Catalog:
    """The shipped .po, read afresh: the caller may change it (export_po)."""
    with _po_path(language, locales).open("rb") as handle:
        return read_po(handle, locale=language)


# The shipped files change only with a deployment: read again when their mtime moves, not on
# every page (the dashboard counts every language's texts on each view).
_read: dict[tuple[Path, str | None], tuple[int, Any]] = {}


def _cached(path: Path, locale: str | None, read: Callable[[Catalog], Any]) -> Any:
    stamp = path.stat().st_mtime_ns
    hit = _read.get((path, locale))
    if hit is None or hit[0] != stamp:
        with path.open("rb") as handle:
            hit = (stamp, read(read_po(handle, locale=locale)))
        _read[(path, locale)] = hit
    return hit[1]


def _shipped_texts(language: str, locales: Path) -> dict[str, tuple[str, bool]]:
    """msgid → (its shipped text, "" when fuzzy or missing; reviewed) — read-only, cached."""

    def texts(catalog: Catalog) -> dict[str, tuple[str, bool]]:
        found = {}
        for message in catalog:
            if isinstance(message.id, str) and message.id:
                text = message.string if not message.fuzzy else ""
                text = text if isinstance(text, str) else ""
                found[message.id] = (text, bool(text) and REVIEW_MARK not in message.user_comments)
        return found

    return _cached(_po_path(language, locales), language, texts)


def template_ids(locales: Path = LOCALES_DIR) -> list[str]:
    def ids(catalog: Catalog) -> tuple[str, ...]:
        return tuple(sorted(m.id for m in catalog if isinstance(m.id, str) and m.id))

    return list(_cached(locales / f"{i18n.DOMAIN}.pot", None, ids))


def anchor(msgid: str) -> str:
    """A short, stable name for a text (its row in the console page, a link to it)."""
    return hashlib.sha1(msgid.encode()).hexdigest()[:12]


def check_language(language: str) -> str:
    if language not in TRANSLATED:
        raise NotFound(f"no translated language {language!r} (known: {', '.join(TRANSLATED)})")
    return language


def check_text(msgid: str, msgstr: str, known: set[str] | list[str]) -> str:
    """The text, stripped, or FieldError: unknown msgid, empty, too long, a placeholder lost."""
    if msgid not in known:
        raise FieldError("msgid", f"not a member-facing text of Benkadi: {msgid[:60]!r}")
    text = (msgstr or "").strip()
    if not text:
        raise FieldError("msgstr", "must be some text")
    if len(text) > MAX_TEXT:
        raise FieldError("msgstr", f"must be at most {MAX_TEXT} characters")
    changed = i18n.lost_placeholders(msgid, text)
    if changed:
        missing = [p for p in changed if p in msgid]
        if missing:
            raise FieldError("msgstr", f"drops {', '.join(missing)}: keep it as written")
        raise FieldError("msgstr", f"adds {', '.join(changed)}, which the French has not")
    return text


async def overrides(database: Database, language: str | None = None) -> dict[str, dict[str, Any]]:
    """msgid → row, for one language (or key (language, msgid) rows for all when None)."""
    query = select(translations)
    if language is not None:
        query = query.where(translations.c.language == language)
    async with database.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return {
        row["msgid"] if language else f"{row['language']}\0{row['msgid']}": dict(row)
        for row in rows
    }


async def entries(database: Database, language: str, locales: Path = LOCALES_DIR) -> list[Entry]:
    """Every member-facing text of `language`, in msgid order, as members get it now."""
    check_language(language)
    shipped = _shipped_texts(language, locales)
    saved = await overrides(database, language)
    result = []
    for msgid in template_ids(locales):
        text, reviewed = shipped.get(msgid, ("", False))
        if msgid in saved:
            row = saved[msgid]
            result.append(
                Entry(
                    msgid,
                    row["msgstr"],
                    row["reviewed"],
                    True,
                    row["updated_by"],
                    row["updated_at"],
                    text,
                )
            )
            continue
        result.append(Entry(msgid, text, reviewed, False))
    return result


async def save(
    database: Database, language: str, msgid: str, msgstr: str, reviewed: bool, actor: str,
    locales: Path = LOCALES_DIR,
) -> Entry:  # fmt: skip
    """Save one text (checked: FieldError names what is wrong), audited with what it replaced;
    members get it from the next message on."""
    check_language(language)
    text = check_text(msgid, msgstr, template_ids(locales))
    async with database.transaction() as connection:
        saved = await _save(connection, language, msgid, text, reviewed, actor, locales)
    await refresh(database, force=True)
    return saved


async def _save(
    connection: AsyncConnection, language: str, msgid: str, text: str, reviewed: bool,
    actor: str, locales: Path,
) -> Entry:  # fmt: skip
    row = (
        (
            await connection.execute(
                select(translations).where(
                    translations.c.language == language, translations.c.msgid == msgid
                )
            )
        )
        .mappings()
        .first()
    )
    if row is not None:
        before = {"msgstr": row["msgstr"], "reviewed": row["reviewed"]}
    else:
        message = shipped_catalog(language, locales).get(msgid)
        before = {
            "msgstr": message.string if message else "",
            "reviewed": bool(message and REVIEW_MARK not in message.user_comments),
            "shipped": True,
        }
    now = utcnow()
    values = {"msgstr": text, "reviewed": reviewed, "updated_by": actor, "updated_at": now}
    if row is None:
        await connection.execute(
            translations.insert().values(language=language, msgid=msgid, **values)
        )
    else:
        await connection.execute(
            translations.update().where(translations.c.id == row["id"]).values(**values)
        )
    await audit.record(
        connection, actor, "translation.save", f"translation:{language}",
        {"msgid": msgid, "before": before, "after": {"msgstr": text, "reviewed": reviewed}},
    )  # fmt: skip
    return Entry(msgid, text, reviewed, True, actor, now)


# --- .po files -------------------------------------------------------------------------------
def _write(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, sort_output=True, no_location=True)  # as pybabel update writes them
    return out.getvalue()


async def export_po(database: Database, language: str, locales: Path = LOCALES_DIR) -> bytes:
    """The language's catalog as members get it now: the shipped .po with the console's texts
    written in; what no native speaker has reviewed keeps the `# REVIEW` comment."""
    check_language(language)
    catalog = shipped_catalog(language, locales)
    for entry in await entries(database, language, locales):
        message = catalog.get(entry.msgid)
        if message is None:
            message = catalog.add(entry.msgid, entry.msgstr)
        if not entry.overridden:
            continue
        message.string = entry.msgstr
        message.flags.discard("fuzzy")
        comments = [c for c in message.user_comments if c != REVIEW_MARK]
        message.user_comments = comments if entry.reviewed else [*comments, REVIEW_MARK]
    return _write(catalog)


async def import_po(
    database: Database, language: str, data: bytes, actor: str, locales: Path = LOCALES_DIR
) -> int:
    """Every entry of a .po file (from Poedit, Weblate, or an export) that differs from what
    members get now, saved as the console saves one (reviewed: no `# REVIEW` comment). A file
    with any bad entry is refused whole, every bad entry named (FieldErrors). Fuzzy and empty
    entries are left out, as the build leaves them out. Returns how many texts changed."""
    check_language(language)
    try:
        catalog = read_po(io.BytesIO(data), locale=language, abort_invalid=True)
    except (PoFileError, ValueError, UnicodeDecodeError) as error:
        raise FieldError("file", f"not a .po file: {error}") from None
    if not any(message.id for message in catalog):
        raise FieldError("file", "not a .po file: no msgid in it")
    known = template_ids(locales)
    now = {entry.msgid: entry for entry in await entries(database, language, locales)}
    changes: list[tuple[str, str, bool]] = []
    errors: list[FieldError] = []
    for message in catalog:
        msgid = message.id
        if not isinstance(msgid, str) or not msgid or message.fuzzy:
            continue
        if not isinstance(message.string, str):
            continue
        if not message.string.strip():
            continue
        try:
            text = check_text(msgid, message.string, known)
        except FieldError as error:
            errors.append(
                FieldError(
                    error.field or "msgstr",
                    f"{msgid[:50]!r}: {error.message}",
                    source="file",
                    line=message.lineno or None,
                )
            )
            continue
        reviewed = REVIEW_MARK not in message.user_comments
        current = now[msgid]
        if (current.msgstr, current.reviewed) != (text, reviewed):
            changes.append((msgid, text, reviewed))
    if errors:
        raise FieldErrors(errors)
    if changes:
        async with database.transaction() as connection:
            for msgid, text, reviewed in changes:
                await _save(connection, language, msgid, text, reviewed, actor, locales)
            await audit.record(
                connection,
                actor,
                "translation.import",
                f"translation:{language}",
                {"changed": len(changes)},
            )
        await refresh(database, force=True)
    return len(changes)


# --- what members get ------------------------------------------------------------------------
_seen: tuple[str, int, datetime | None] | None = None  # the database and its state last loaded


def forget() -> None:
    """The next `refresh` loads the overrides whatever it saw before (tests)."""
    global _seen
    _seen = None


async def refresh(database: Database, *, force: bool = False) -> None:
    """Load the overrides into the catalogs when they changed since the last look (one small
    query: how many and the latest change), so a text saved by another process counts from
    this process's next message."""
    global _seen
    async with database.sessions() as session:
        count, latest = (
            await session.execute(select(func.count(), func.max(translations.c.updated_at)))
        ).one()
    seen = (str(database.url), int(count), latest)
    if not force and seen == _seen:
        return
    loaded: dict[str, dict[str, str]] = {}
    async with database.sessions() as session:
        rows = await session.execute(
            select(translations.c.language, translations.c.msgid, translations.c.msgstr)
        )
        for language, msgid, msgstr in rows:
            loaded.setdefault(language, {})[msgid] = msgstr
    i18n.set_overrides(loaded)
    _seen = seen
