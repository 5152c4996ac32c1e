"""The processing register follows the configuration: processors and countries, retention,
discreet mode; docs/processing-register.md is it for a Telegram + Twilio deployment."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from gateway.exports import register
from gateway.settings import Settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = {
    "TELEGRAM_BOT_TOKEN": "123456:ABC-def",
    "TELEGRAM_WEBHOOK_SECRET": "secret",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "f" * 32,
    "TWILIO_FROM": "+22320000000",
    "BENKADI_PUBLIC_URL": "https://benkadi.example.org",
}
DAY = date(2026, 12, 1)


def test_processors_and_countries_follow_the_channels():
    text = register.as_markdown(register.sections(Settings.from_env(DEPLOYED), DAY))
    assert "Twilio Inc." in text and "États-Unis" in text and "Telegram (Telegram FZ-LLC)" in text
    bare = register.as_markdown(register.sections(Settings.from_env({}), DAY))
    assert "Twilio Inc." not in bare and "aucun canal configuré" in bare
    assert "HTTPS (BENKADI_PUBLIC_URL)" in bare and "Accès public en HTTPS" in text
    assert "pas un avis juridique" in bare


def test_android_phones_on_the_network_or_through_a_cloud_server():
    phones = [
        ("bureau", "http://192.168.1.20:8080"),
        ("terrain", "https://api.sms-gate.app/3rdparty/v1"),
    ]
    text = register.as_markdown(register.sections(Settings.from_env({}), DAY, phones))
    assert "Téléphone « bureau »" in text and "Mali (opérateur de la SIM)" in text
    assert "Serveur api.sms-gate.app" in text and "aucun canal configuré" not in text


def test_retention_discreet_mode_and_phone_cloud_are_the_configured_ones():
    settings = Settings.from_env(
        {"BENKADI_RETENTION": "messages=30, deliveries=forever", "BENKADI_DISCREET": "on",
         "BENKADI_PHONE_CLOUD": "Google Drive (Google LLC)", "BENKADI_CONTROLLER": "Coordination X"}
    )  # fmt: skip
    text = register.as_markdown(register.sections(settings, DAY))
    assert "| 30 jours |" in text and "sans limite (configuration)" in text
    assert "Mode discret activé" in text and "Google Drive (Google LLC)" in text
    assert text.count("Coordination X") == 1
    page = register.as_html(register.sections(settings, DAY))
    assert page.startswith("<!doctype html>") and "<script" not in page


def test_the_documented_register_is_in_step():
    generated = register.as_markdown(register.sections(Settings.from_env(DEPLOYED), DAY))
    documented = (ROOT / "docs" / "processing-register.md").read_text("utf-8")
    undated = re.compile(r"Registre établi le \d{4}-\d\d-\d\d")
    body = documented.split("\n", 4)[-1]  # after the note on how it was made
    assert undated.sub("", body) == undated.sub("", generated)
