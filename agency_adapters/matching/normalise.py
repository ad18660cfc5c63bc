"""Normalisation and validation of the identifiers a query or a record carries.

Every function here is pure and idempotent (applying it to its own output
changes nothing); the property tests hold it to that. Validation never
"repairs" an identifier: an NHS number that fails its modulus-11 check, or a
UPN that fails its check letter, is reported as invalid and not used.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

from stdnum.gb import nhs as _nhs
from stdnum.gb import upn as _upn

# Apostrophes join (O'Brien -> obrien); every other non-letter separates words
# (hyphens in double-barrelled names, full stops in initials, commas...).
_APOSTROPHES = dict.fromkeys(map(ord, "'\u2018\u2019`\u00b4"), None)
_NON_LETTER = re.compile(r"[^a-z]+")
# Letters that NFKD does not decompose into base + combining mark.
_SPECIAL_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe",
                                  "ı": "i", "þ": "th", "ð": "d"})
# Words in a name that carry no identity (titles and generational suffixes).
_NOISE_WORDS = frozenset({"mr", "mrs", "miss", "ms", "mx", "dr", "master",
                          "jr", "jnr", "snr", "sr"})

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@lru_cache(maxsize=65536)  # names repeat a lot: matching folds the same few thousand
def fold(text: str) -> str:
    """Case-, accent- and punctuation-free words ("Zoë O'Neil-Smith" -> "zoe oneil smith")."""
    text = text.casefold().translate(_APOSTROPHES)
    if not text.isascii():
        text = text.translate(_SPECIAL_LETTERS)
        text = "".join(c for c in unicodedata.normalize("NFKD", text)
                       if not unicodedata.combining(c))
    return _NON_LETTER.sub(" ", text).strip()


@lru_cache(maxsize=65536)
def name_tokens(text: str) -> tuple[str, ...]:
    """The words of a name, folded, no titles ("Mrs Anne-Marie O'Brien" -> anne, marie, obrien)."""
    return tuple(t for t in fold(text).split() if t not in _NOISE_WORDS)


def normalise_name(text: str) -> str:
    """A name as one canonical string of its words, joined by single spaces."""
    return " ".join(name_tokens(text))


@lru_cache(maxsize=65536)
def normalise_postcode(text: str) -> str | None:
    """A UK postcode as 'OUT IN' in capitals ("s118ya" -> "S11 8YA"), or None if not a postcode."""
    compact = re.sub(r"[^A-Za-z0-9]", "", text).upper()
    m = _POSTCODE.match(compact)
    if m is None:
        return None
    return f"{m.group(1)} {m.group(2)}"


def postcode_district(postcode: str) -> str | None:
    """The outward code (district) of a postcode ("S11 8YA" -> "S11")."""
    pc = normalise_postcode(postcode)
    return pc.split(" ")[0] if pc else None


def postcode_sector(postcode: str) -> str | None:
    """The sector of a postcode ("S11 8YA" -> "S11 8")."""
    pc = normalise_postcode(postcode)
    return pc[:-2] if pc else None


def normalise_nhs_number(text: str) -> str | None:
    """Ten NHS-number digits if `text` is a valid NHS number (spaces/dashes allowed), else None.

    The modulus-11 check is python-stdnum's (`stdnum.gb.nhs`), the one implementation here.
    """
    digits = re.sub(r"[\s-]", "", text)
    return digits if digits.isascii() and _nhs.is_valid(digits) else None


def format_nhs_number(digits: str) -> str:
    """An NHS number as people write it: '943 476 5919'."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def normalise_upn(text: str) -> str | None:
    """A Unique Pupil Number, canonical, if its check letter and LA code are valid, else None."""
    try:
        return str(_upn.validate(text))
    except Exception:  # stdnum raises its own ValidationError family; all mean "invalid"
        return None


@lru_cache(maxsize=65536)
def parse_dob(text: str | None) -> date | None:
    """A 'YYYY-MM-DD' date of birth, or None if absent or not a real date."""
    if not text:
        return None
    m = _DATE.match(text.strip())
    if m is None:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def swapped_dob(dob: date) -> date | None:
    """The date with day and month exchanged (a common keying error), or None if impossible/same."""
    if dob.day > 12 or dob.day == dob.month:
        return None
    return date(dob.year, dob.day, dob.month)


def normalise_sex(text: str) -> str:
    """'female', 'male' or 'unknown' (accepting F/M and common spellings)."""
    t = fold(text)
    if t in {"f", "female", "girl", "woman"}:
        return "female"
    if t in {"m", "male", "boy", "man"}:
        return "male"
    return "unknown"
