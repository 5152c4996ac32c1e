"""Tolerant reading of what members type: keywords, numbered choices, yes/no."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# Bambara and Fulfulde letters have no decomposition; fold them to the spelling people also
# type (ɛ→e, ɲ→ny; Fulfulde's hooked ɓ ɗ ƴ → b d y). Accents and tildes (Songhay's õ, š) go below.
_LETTER_FOLDS = str.maketrans(
    {"ɛ": "e", "ɔ": "o", "ɲ": "ny", "ŋ": "ng", "œ": "oe", "æ": "ae", "ɓ": "b", "ɗ": "d", "ƴ": "y"}
)
_EDGE_PUNCTUATION = re.compile(r"^[\s\W_]+|[\s\W_]+$", re.UNICODE)
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case, no accents, Bambara letters folded, no edge punctuation, single spaces."""
    text = text.casefold().translate(_LETTER_FOLDS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _EDGE_PUNCTUATION.sub("", text)
    return _SPACES.sub(" ", text)


# Keywords per command, in French, Bambara, Fulfulde, Songhay and English (folded). Bambara
# choices are documented in the README: sɛbɛn "write (one's name)", dɛmɛ "help", kan "language",
# jɔ "stop", daminɛ "begin", jɔsi "wipe", siri "tie", kunnafoni "information", bila "leave it",
# baara "work" (an activity report), n ka kunnafoniw "my information" (what is
# held about me). Fulfulde (Maasina): winndito "write yourself in", ballal
# "help", daro "stop", fuɗɗo "begin", kabaaru "news", ɗemngal "language", momtu "erase", haɓɓu
# "tie", haaytu "give up", golle "work", naamnal "question". Songhay (Koyraboro Senni): hantum
# "write", gaa "help", fay "leave off", sintin "begin", alhabar "news", senni "language", tuusu
# "wipe", haw "tie", naŋ "let it be", goy "work", hãa "ask". None of them is a region's name or
# the start of one (Songhay's kay "stop" would be Kayes): tests/bot/test_text.py checks.
KEYWORDS: dict[str, frozenset[str]] = {
    "register": frozenset({"inscription", "inscrire", "join", "register", "seben", "winndito", "hantum"}),
    "help": frozenset({"aide", "help", "info", "deme", "?", "ballal", "gaa"}),
    "profile": frozenset({"profil", "profile", "kunnafoni", "kabaaru", "alhabar"}),
    "language": frozenset({"langue", "language", "lang", "kan", "demngal", "senni"}),
    "stop": frozenset(
        {"stop", "arret", "arreter", "stopall", "unsubscribe", "end", "quit", "jo", "dabila", "daro", "fay"}
    ),
    "start": frozenset({"start", "reprendre", "unstop", "damine", "fuddo", "sintin"}),
    "erase": frozenset({"oublier", "delete", "effacer", "josi", "momtu", "tuusu"}),
    "link": frozenset({"lier", "link", "siri", "habbu", "haw"}),
    "cancel": frozenset({"annuler", "cancel", "bila", "haaytu", "nang"}),
    "report": frozenset({"rapport", "report", "baara", "golle", "goy"}),
    "poll": frozenset({"sondage", "poll", "survey", "nyininkali", "naamnal", "haa"}),
    "my_data": frozenset(
        {"mes donnees", "donnees", "my data", "mydata", "n ka kunnafoniw", "kunnafoniw",
         "kabaaru am", "ay alhabarey"}
    ),
}  # fmt: skip
_COMMAND_BY_WORD = {word: command for command, words in KEYWORDS.items() for word in words}

# Yes, no and skip: French, English, Bambara (awɔ, ayi, a to), Fulfulde (eey, alaa, accu "leave
# it") and Songhay (ayyo, kalaa, bisa "pass").
YES = frozenset(
    {"oui", "yes", "o", "y", "awo", "owo", "ok", "d'accord", "daccord", "ayw", "eey", "ey", "eyyo", "ayyo", "oyyo"}
)  # fmt: skip
NO = frozenset({"non", "no", "n", "ayi", "ayi de", "alaa", "ala", "kalaa", "kala"})
SKIP = frozenset(
    {"passer", "skip", "aucun", "aucune", "none", "-", "0", "ti", "a to", "accu", "bisa"}
)


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
