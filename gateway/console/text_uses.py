"""Where each member-facing text is used: the source files that ask for it, read once from the
code with the extraction rules of babel.cfg (the Traductions page's context for a translator)."""

from __future__ import annotations

import functools
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from bot.vocabulary.i18n import LOCALES_DIR

ROOT = LOCALES_DIR.parent


@functools.cache
def uses(root: Path = ROOT) -> dict[str, tuple[str, ...]]:
    """msgid → the files (bot/flows/registration.py, …) that use it; empty without the sources."""
    config = root / "babel.cfg"
    if not config.is_file():
        return {}
    with config.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(config))
    found: dict[str, set[str]] = {}
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(root), method_map, options_map, keywords=keywords
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, set()).add(filename.replace("\\", "/"))
    return {msgid: tuple(sorted(files)) for msgid, files in found.items()}
