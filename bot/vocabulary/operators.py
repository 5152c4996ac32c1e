"""Mali's mobile operators, told from the number.

phonenumbers' carrier data (9.0.x) was checked against today's Malian ranges (DOMAIN.md): 7x,
82–85 and 90–94 are Orange Mali; 6x, 89 and 95–99 Sotelma (Moov Africa Malitel); 50–52 Atel
(Telecel). Number portability is absent in Mali, so the prefix gives the operator. The carrier
names it uses are mapped here to ours; a number it does not know has no operator (routed to any
SIM).
"""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import carrier

OPERATORS = ("orange", "moov", "telecel")  # what a SIM's operator may be
# phonenumbers' English carrier names → ours.
CARRIER_NAMES = {
    "Orange": "orange",
    "Sotelma": "moov",
    "Malitel": "moov",
    "Moov": "moov",
    "Atel": "telecel",
    "Telecel": "telecel",
}


@functools.lru_cache(maxsize=65536)
def operator_of(number: str) -> str | None:
    """ "+22376123456" → "orange"; None for a number of another country or an unknown range."""
    try:
        parsed = phonenumbers.parse(number, "ML")
    except phonenumbers.NumberParseException:
        return None
    if parsed.country_code != 223:
        return None
    return CARRIER_NAMES.get(carrier.name_for_number(parsed, "en"))
