"""SMS encoding facts: GSM-7 or UCS-2, segment counts, and GSM-friendly spelling."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Spellings that keep a message in GSM-7 without changing what it says. Bambara's letters go to
# the older spelling (ɛ→è, ɔ→ò, ɲ→ny, ŋ→ng) that readers of either know; GSM-7 has no È or Ò,
# so the capitals lose their accent (SƐBƐN → SEBEN, which the keywords accept too).
# Fulfulde's hooked letters go to the plain ones people type on a phone (ɓ→b, ɗ→d, ƴ→y: HAƁƁU →
# HABBU); Songhay's nasal vowels lose the tilde (hõo → hoo), š and ž become "sh" and "j" (the
# spelling of readers schooled in French: Žanwiye → Janwiye).
GSM_FRIENDLY = str.maketrans(
    {
        "ɛ": "è", "Ɛ": "E", "ɔ": "ò", "Ɔ": "O", "ɲ": "ny", "ŋ": "ng",
        "ɓ": "b", "Ɓ": "B", "ɗ": "d", "Ɗ": "D", "ƴ": "y", "Ƴ": "Y",
        "ã": "a", "Ã": "A", "õ": "o", "Õ": "O", "ẽ": "e", "ĩ": "i", "ũ": "u",
        "š": "sh", "ž": "j", "Ž": "J",
        "ê": "e", "â": "a", "î": "i", "ô": "o", "û": "u", "ç": "c", "ë": "e", "ï": "i",
        "È": "E", "À": "A", "Ù": "U", "Ê": "E", "Â": "A", "Î": "I", "Ô": "O", "Û": "U",
        "œ": "oe", "Œ": "OE", "«": '"', "»": '"', "’": "'", "‘": "'", "“": '"', "”": '"',
        "…": "...", "–": "-", "—": "-", "\u00a0": " ", "\u202f": " ",
    }
)  # fmt: skip


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


# The codec works character by character in Python; replies repeat the same few texts, so the
# answers are cached.
@functools.lru_cache(maxsize=4096)
def is_gsm7(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def sms_size(text: str) -> SmsSize:
    try:
        units = len(text.encode("gsm03.38"))  # extension characters take two septets
        single, part, encoding = GSM7_SINGLE, GSM7_PART, "GSM-7"
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = UCS2_SINGLE, UCS2_PART, "UCS-2"
    segments = 1 if units <= single else -(-units // part)
    return SmsSize(encoding, units, segments)


# A capital spelled with two letters is "NY" in a word in capitals (ƝININKALI → NYININKALI) and
# "Ny" at the start of a capitalised one (Ɲɛ → Nyè).
_TWO_LETTER_CAPITALS = {"Ɲ": "NY", "Ŋ": "NG", "Œ": "OE", "Š": "SH"}
_TWO_LETTER_CAPITAL = re.compile("[ƝŊŒŠ]")
# French guillemets carry inner spaces (« Capacités des OSC »); straight quotes do not.
_GUILLEMETS = re.compile(r"«\s*|\s*»")  # \s covers the no-break spaces too


def _capital(match: re.Match[str]) -> str:
    letter, text, at = match.group(0), match.string, match.start()
    after = text[at + 1 : at + 2]
    before = text[at - 1 : at] if at else ""
    if after.isalpha():
        capitals = after.isupper()
    else:  # the word's last letter: capitals if the letter before it is one
        capitals = before.isalpha() and before.isupper()
    pair = _TWO_LETTER_CAPITALS[letter]
    return pair if capitals else pair.capitalize()


def gsm_friendly(text: str) -> str:
    text = _GUILLEMETS.sub('"', text)
    text = _TWO_LETTER_CAPITAL.sub(_capital, text)
    return text.translate(GSM_FRIENDLY)


@functools.lru_cache(maxsize=4096)
def cheapest_sms_text(text: str) -> str:
    """The GSM-friendly spelling when it costs fewer segments, else the text as written."""
    friendly = gsm_friendly(text)
    if friendly != text and sms_size(friendly).segments < sms_size(text).segments:
        return friendly
    return text
