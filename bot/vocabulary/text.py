"""Tolerant reading of what members type: keywords, numbered choices, yes/no."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# Bambara letters have no decomposition; fold them to the older spelling people also type.
_LETTER_FOLDS = str.maketrans({"ɛ": "e", "ɔ": "o", "ɲ": "ny", "ŋ": "ng", "œ": "oe", "æ": "ae"})
_EDGE_PUNCTUATION = re.compile(r"^[\s\W_]+|[\s\W_]+$", re.UNICODE)
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case, no accents, Bambara letters folded, no edge punctuation, single spaces."""
    text = text.casefold().translate(_LETTER_FOLDS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _EDGE_PUNCTUATION.sub("", text)
    return _SPACES.sub(" ", text)


# Keywords per command, in French, Bambara and English (folded). Bambara choices are documented
# in the README: sɛbɛn "write (one's name)", dɛmɛ "help", kan "language", jɔ "stop",
# daminɛ "begin", jɔsi "wipe", siri "tie", kunnafoni "information", bila "leave it",
# baara "work" (an activity report), n ka kunnafoniw "my information" (what is held about me).
KEYWORDS: dict[str, frozenset[str]] = {
    "register": frozenset({"inscription", "inscrire", "join", "register", "seben"}),
    "help": frozenset({"aide", "help", "info", "deme", "?"}),
    "profile": frozenset({"profil", "profile", "kunnafoni"}),
    "language": frozenset({"langue", "language", "lang", "kan"}),
    "stop": frozenset(
        {"stop", "arret", "arreter", "stopall", "unsubscribe", "end", "quit", "jo", "dabila"}
    ),
    "start": frozenset({"start", "reprendre", "unstop", "damine"}),
    "erase": frozenset({"oublier", "delete", "effacer", "josi"}),
    "link": frozenset({"lier", "link", "siri"}),
    "cancel": frozenset({"annuler", "cancel", "bila"}),
    "report": frozenset({"rapport", "report", "baara"}),
    "poll": frozenset({"sondage", "poll", "survey", "nyininkali"}),
    "my_data": frozenset(
        {"mes donnees", "donnees", "my data", "mydata", "n ka kunnafoniw", "kunnafoniw"}
    ),
}
_COMMAND_BY_WORD = {word: command for command, words in KEYWORDS.items() for word in words}

YES = frozenset({"oui", "yes", "o", "y", "awo", "owo", "ok", "d'accord", "daccord", "ayw"})
NO = frozenset({"non", "no", "n", "ayi", "ayi de"})
SKIP = frozenset({"passer", "skip", "aucun", "aucune", "none", "-", "0", "ti", "a to"})


def keyword(text: str) -> str | None:
    """The command a message asks for, if it is one keyword ("Stop!", "ARRÊT", "/start")."""
    word = fold(text.lstrip("/"))
    if text.strip() == "?":
        return "help"
    return _COMMAND_BY_WORD.get(word)


def is_yes(text: str) -> bool:
    return fold(text) in YES


def is_no(text: str) -> bool:
    return fold(text) in NO


def match_choice(
    text: str, choices: Sequence[tuple[str, str]], aliases: dict[str, str] | None = None
) -> str | None:
    """The key of the choice meant by "2", "2.", "sikasso", "SIKASSO." or the key itself."""
    folded = fold(text)
    if not folded:
        return None
    if folded.isdigit():
        index = int(folded) - 1
        return choices[index][0] if 0 <= index < len(choices) else None
    keys = {key for key, _ in choices}
    if folded in keys:
        return folded
    if aliases and aliases.get(folded) in keys:
        return aliases[folded]
    for key, label in choices:
        if fold(label) == folded or fold(key) == folded:
            return key
    # A unique prefix of at least 3 letters ("sika", "tomb") is clear enough.
    if len(folded) >= 3:
        found = [key for key, label in choices if fold(label).startswith(folded)]
        if len(found) == 1:
            return found[0]
    return None


def match_many(
    text: str, choices: Sequence[tuple[str, str]], aliases: dict[str, str] | None = None
) -> list[str] | None:
    """Several choices: "1,3", "1 3", "1 et 3", "vbg jeunesse". None if any part fits nothing."""
    whole = match_choice(text, choices, aliases)
    if whole is not None:
        return [whole]
    parts = [part for part in re.split(r"[,;/+]|\s+|\bet\b|&", fold(text)) if part]
    if not parts:
        return None
    keys: list[str] = []
    for part in parts:
        key = match_choice(part, choices, aliases)
        if key is None:
            return None
        if key not in keys:
            keys.append(key)
    return keys
