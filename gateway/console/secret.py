"""The key that signs the marks a browser keeps once it has signed in to the console.

Derived from the deployment's secret (gateway/secret.py: BENKADI_SECRET_KEY, else a file
generated once in the data directory). (Sessions themselves are kept in the database since
0010: see console/sessions.py.)
"""

from __future__ import annotations

from gateway.secret import KEY_FILE, data_directory, derived_key, stored_secret
from gateway.settings import Settings

__all__ = ["KEY_FILE", "data_directory", "known_browser_key", "stored_secret"]


def known_browser_key(settings: Settings) -> bytes:
    """The key of the marks a browser keeps once it has signed in (console/auth.Throttle)."""
    return derived_key(settings, b"benkadi-console-known-browser")
