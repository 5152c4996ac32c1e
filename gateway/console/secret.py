"""The key that signs the marks a browser keeps once it has signed in to the console.

BENKADI_SECRET_KEY when set (checked by Settings). Otherwise one is generated once and kept in the
data directory (beside the SQLite database), readable by its owner only, so the marks survive a
restart of the embedded single-machine setup without anyone configuring anything. (Sessions
themselves are kept in the database since 0010: see console/sessions.py.)
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.settings import DEFAULT_DATABASE_PATH, Settings
from storage.database import normalise_url

KEY_FILE = "console-secret-key"


def data_directory(settings: Settings) -> Path:
    url = make_url(normalise_url(settings.database_url))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent
    return DEFAULT_DATABASE_PATH.parent.resolve()


def stored_secret(folder: Path) -> str:
    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never world-readable
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


def known_browser_key(settings: Settings) -> bytes:
    """The key of the marks a browser keeps once it has signed in (console/auth.Throttle)."""
    secret = settings.secret_key or stored_secret(data_directory(settings))
    return hashlib.sha256(b"benkadi-console-known-browser\0" + secret.encode()).digest()
