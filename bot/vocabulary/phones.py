"""Phone numbers: E.164 with Mali (+223) as the default region, and masked for display."""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "ML"
# A number as providers write it into their error messages ("The 'To' number +22376123456 is
# not a valid phone number.", "whatsapp:+223…"): E.164, not inside a longer word or number.
NUMBER_IN_TEXT = re.compile(r"(?<![\w+])\+\d{8,15}\b")
NUMBER_HIDDEN = "+***"


def normalise_phone(text: str, region: str = DEFAULT_REGION) -> str | None:
    """ "76 12 34 56", "0022376123456" and "+223 76-12-34-56" all give "+22376123456"."""
    raw = text.strip()
    if raw.startswith("whatsapp:"):
        raw = raw[len("whatsapp:") :]
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """ "+22376123456" → "+223 76 •• •• 56": enough to recognise one's own number, no more."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "•" * max(len(e164) - 4, 0) + e164[-2:]
    national = str(number.national_number)
    if len(national) < 6:
        return f"+{number.country_code} " + "•" * (len(national) - 2) + national[-2:]
    middle = len(national) - 4
    hidden = " ".join(["••"] * (middle // 2) + (["•"] if middle % 2 else []))
    return f"+{number.country_code} {national[:2]} {hidden} {national[-2:]}"


def calling_code(e164: str) -> str | None:
    """ "+22376123456" → "223": the country a number belongs to, as its calling code."""
    try:
        return str(phonenumbers.parse(e164, None).country_code)
    except phonenumbers.NumberParseException:
        return None


def without_numbers(text: str) -> str:
    """The text with every phone number in it replaced by "+***": what a provider's error
    message may keep of the number once it is stored (the row names its recipient anyway, and
    the message outlives the row in a broadcast's counts)."""
    return NUMBER_IN_TEXT.sub(NUMBER_HIDDEN, text)
