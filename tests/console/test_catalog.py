"""The console's strings go through gettext (domain "console"): the template is in step with the
code and templates, so a translator sees every one of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from gateway.console.i18n import C_, label

ROOT = Path(__file__).resolve().parents[2]


def ids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


def test_console_template_is_in_step(tmp_path):
    fresh = tmp_path / "console.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel-console.cfg", "-k", "C_", "-o", str(fresh), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    extracted = ids(fresh)
    assert extracted == ids(ROOT / "locales" / "console.pot")
    assert "Identifiant, mot de passe ou jeton incorrect." in extracted  # Python (C_)
    assert "Se déconnecter" in extracted  # templates (_)


def test_console_strings_are_french_at_the_source():
    assert C_("Tableau de bord") == "Tableau de bord"
    assert label("sending") == "en cours d'envoi" and label("unknown") == "unknown"
