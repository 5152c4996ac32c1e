"""The deployment's secret and the keys derived from it, for every process that needs one
(the web app, `benkadi dispatch`, the CLI): each derives the same key from the same secret.

BENKADI_SECRET_KEY when set (checked by Settings). Otherwise one is generated once and kept in the
data directory (beside the SQLite database), readable by its owner only, so the keys survive a
restart of the embedded single-machine setup without anyone configuring anything.

Keys derived: the console's known-browser marks (console/auth.Throttle) and the erasure
suppression list's HMAC (storage/suppression.py). The second outlives a change of the secret
badly: the list made under the old secret matches nothing under the new one (an import says
so), so keep BENKADI_SECRET_KEY, or the generated file, with the backups.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.settings import DEFAULT_DATABASE_PATH, Settings
from storage.database import normalise_url
from storage.suppression import SuppressionKey

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
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never world-readable
        except FileExistsError:  # another process made it just now
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


def deployment_secret(settings: Settings) -> str:
    return settings.secret_key or stored_secret(data_directory(settings))


def derived_key(settings: Settings, purpose: bytes) -> bytes:
    return hashlib.sha256(purpose + b"\0" + deployment_secret(settings).encode()).digest()


def erasure_key(settings: Settings) -> SuppressionKey:
    """The key of the erasure suppression list (storage/suppression.py)."""
    return SuppressionKey(derived_key(settings, b"benkadi-erasure-suppression"))
