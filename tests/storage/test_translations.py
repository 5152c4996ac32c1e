"""Texts edited in the console: checked, audited, in effect without a restart (in this process
at once, in another at its next message), and .po files that round-trip exactly."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from bot.vocabulary import i18n
from bot.vocabulary.errors import FieldError, FieldErrors
from storage import audit
from storage import translations as store
from storage.models import Translation

NOT_UNDERSTOOD = "Je n'ai pas compris."
WELCOME = (
    "Bienvenue dans Benkadi, {name} ! Vous recevrez les messages de la coordination. "
    "AIDE pour l'aide."
)


async def test_a_saved_text_is_what_members_get_and_is_audited(database):
    shipped = i18n.in_language("ses", NOT_UNDERSTOOD)
    entry = await store.save(
        database, "ses", NOT_UNDERSTOOD, " Ay mana faham, kala. ", True, "console:aissata"
    )
    assert (entry.msgstr, entry.reviewed, entry.overridden) == ("Ay mana faham, kala.", True, True)
    assert i18n.in_language("ses", NOT_UNDERSTOOD) == "Ay mana faham, kala."
    with i18n.use_locale("ses"):
        assert i18n._(NOT_UNDERSTOOD) == "Ay mana faham, kala."
    assert i18n.in_language("ff", NOT_UNDERSTOOD) == "Mi faamaani."  # other languages as shipped
    [row] = [e for e in await store.entries(database, "ses") if e.msgid == NOT_UNDERSTOOD]
    assert row.reviewed and row.updated_by == "console:aissata"
    [logged] = await audit.entries(database, limit=1)
    assert (logged["action"], logged["target"]) == ("translation.save", "translation:ses")
    assert logged["details"]["before"] == {"msgstr": shipped, "reviewed": False, "shipped": True}
    assert logged["details"]["after"] == {"msgstr": "Ay mana faham, kala.", "reviewed": True}


async def test_a_text_saved_by_another_process_counts_from_the_next_message(database):
    await store.save(database, "ff", NOT_UNDERSTOOD, "Mi faamaani ɗum.", False, "console:a")
    async with database.transaction() as connection:  # another process saves a newer text
        await connection.execute(
            update(Translation.__table__).values(
                msgstr="Mi faamaani hay huunde.", updated_at=i18n_later()
            )
        )
    assert i18n.in_language("ff", NOT_UNDERSTOOD) == "Mi faamaani ɗum."
    await store.refresh(database)
    assert i18n.in_language("ff", NOT_UNDERSTOOD) == "Mi faamaani hay huunde."


def i18n_later():
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Kubayni Benkadi ra! GAA ka gaakasinay du.", "drops {name}: keep it as written"),
        ("Kubayni {nom}! GAA.", "drops {name}: keep it as written"),
        ("Kubayni {name} {phone}!", "adds {phone}, which the French has not"),
        ("   ", "must be some text"),
    ],
)
async def test_a_text_that_loses_a_placeholder_is_refused_naming_it(database, text, message):
    with pytest.raises(FieldError) as refused:
        await store.save(database, "ses", WELCOME, text, True, "console:a")
    assert refused.value.message == message and refused.value.field == "msgstr"
    assert await store.overrides(database, "ses") == {}


async def test_po_export_and_import_round_trip_exactly(database):
    shipped = store._po_path("ses").read_bytes()
    assert await store.export_po(database, "ses") == shipped  # nothing edited: the catalog
    await store.save(database, "ses", NOT_UNDERSTOOD, "Ay mana faham, kala.", True, "console:a")
    exported = await store.export_po(database, "ses")
    assert exported != shipped and "Ay mana faham, kala." in exported.decode()
    assert await store.import_po(database, "ses", exported, "console:a") == 0  # nothing new
    assert await store.export_po(database, "ses") == exported

    # Poedit's work: one text changed and reviewed (the REVIEW comment gone), one left as is.
    edited = exported.decode().replace('msgstr "Kod ši boori."', 'msgstr "Kod wo ši boori."')
    edited = edited.replace(
        '# REVIEW: not reviewed by a native speaker\nmsgid "Code incorrect."',
        'msgid "Code incorrect."',
    )
    assert await store.import_po(database, "ses", edited.encode(), "console:b") == 1
    assert i18n.in_language("ses", "Code incorrect.") == "Kod wo ši boori."
    again = await store.export_po(database, "ses")
    assert again == edited.encode()  # what went in comes out, byte for byte
    assert await store.import_po(database, "ses", again, "console:b") == 0


async def test_a_po_file_with_bad_entries_is_refused_whole_naming_each(database):
    exported = (await store.export_po(database, "ff")).decode()
    bad = exported.replace("Bismilla e Benkadi, {name}!", "Bismilla e Benkadi!", 1)
    bad = bad.replace('msgstr "Kod moƴƴaani."', 'msgstr "Kod moƴƴaani {code}."')
    bad = bad.replace('msgstr "Mi faamaani."', 'msgstr "Mi faamaani ɗum."')  # a good change
    with pytest.raises(FieldErrors) as refused:
        await store.import_po(database, "ff", bad.encode(), "console:a")
    messages = [error.message for error in refused.value.errors]
    assert len(messages) == 2
    assert any("Bienvenue dans Benkadi" in m and "drops {name}" in m for m in messages)
    assert any("'Code incorrect.'" in m and "adds {code}" in m for m in messages)
    assert all(error.line for error in refused.value.errors)
    assert await store.overrides(database, "ff") == {}  # nothing saved, the good change neither
    with pytest.raises(FieldError, match=r"not a \.po file"):
        await store.import_po(database, "ff", b'msgid "x\n', "console:a")
