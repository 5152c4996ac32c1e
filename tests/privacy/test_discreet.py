"""Discreet wording: on a shared phone, no reply names Benkadi or the work on violence."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.model import Inbound, Received
from bot.service import ConversationService
from bot.vocabulary.i18n import use_locale
from bot.vocabulary.text import KEYWORDS
from bot.vocabulary.wording import Wording, wording_for
from gateway.settings import Settings, SettingsError
from storage.models import OutboxMessage
from tests.factories import TEST_ERASURE_KEY

REVEALING_WORDS = ("benkadi", "vbg", "violence", "survivant", "sexuel", "gbv")


async def _bodies(database, lines, wording) -> list[str]:
    service = ConversationService(database, erasure_key=TEST_ERASURE_KEY, wording=wording)
    for number, line in enumerate(lines):
        await service.handle(Received("sms", "+22376123456", f"SM{number}", Inbound("sms", line)))
    async with database.sessions() as session:
        rows = await session.scalars(select(OutboxMessage.body).order_by(OutboxMessage.id))
        return list(rows)


# Register (French, themes VBG + participation; consent, confirm), then AIDE, PROFIL, and a
# report of support to survivors up to its reminder not to write a survivor's name.
REGISTER = ["INSCRIPTION", "Awa", "AMSS", "4", "0", "1 2", "1", "1", "1", "1", "1"]
LINES = [*REGISTER, "AIDE", "PROFIL", "ANNULER", "RAPPORT", "4", "1", "1", "0", "3 0 1 0"]


async def test_discreet_replies_name_neither_benkadi_nor_the_work(database):
    bodies = await _bodies(database, [*LINES, "MES DONNEES"], wording_for(True, None))
    text = "\n".join(bodies).lower()
    for word in REVEALING_WORDS:
        assert word not in text, word
    assert "info" in text and "protection" in text


async def test_plain_replies_are_unchanged(database):
    bodies = await _bodies(database, LINES, Wording())
    text = "\n".join(bodies)
    assert "Benkadi" in text and "Violences (VBG)" in text
    assert "Bienvenue" in text and "Accompagnement/référencement de survivantes" in text
    assert "Rappel : n'écrivez jamais le nom d'une survivante." in text  # the flow got there


@pytest.mark.unit
def test_in_every_language_and_keywords_are_neutral():
    wording = wording_for(True, "Kibaru")
    for language in ("fr", "bm", "ff", "ses", "en"):
        with use_locale(language):
            from bot.vocabulary.i18n import _

            label = _("Violences (VBG)")
            assert wording.apply(f"Benkadi : {label}") == f"Kibaru : {_('Protection')}"
            reminder = _("Rappel : n'écrivez jamais le nom d'une survivante.")
            neutral = _("Rappel : n'écrivez jamais le nom d'un ou d'une bénéficiaire.")
            assert neutral != reminder and wording.apply(reminder) == neutral
    for words in KEYWORDS.values():
        for word in words:
            assert not any(bad in word for bad in REVEALING_WORDS), word


@pytest.mark.unit
def test_settings():
    settings = Settings.from_env({"BENKADI_DISCREET": "on"})
    assert settings.wording == Wording(True, "Info")
    assert Settings.from_env({}).wording == Wording(False, "Benkadi")
    with pytest.raises(SettingsError, match="BENKADI_BOT_NAME"):
        Settings.from_env({"BENKADI_BOT_NAME": "<script>"})
