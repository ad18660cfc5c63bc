"""The data-quality error model: how an identifier drifts between systems.

Shared by agency projection (`project`) and the matching evaluation set, so
the matcher is measured against the errors the demo data actually has.
Every function takes an injected `random.Random` and is deterministic for it.
"""

from __future__ import annotations

import random
from datetime import date

from agency_adapters.matching.nicknames import short_forms
from agency_adapters.matching.normalise import fold

# Neighbouring keys on a UK QWERTY keyboard, for substitution typos.
_NEIGHBOURS = {
    "a": "qsz", "b": "vgn", "c": "xdv", "d": "sfe", "e": "wrd", "f": "dgr", "g": "fht", "h": "gjy",
    "i": "uok", "j": "hku", "k": "jli", "l": "kop", "m": "nj", "n": "bmh", "o": "ipl", "p": "ol",
    "q": "wa", "r": "etf", "s": "adw", "t": "ryg", "u": "yij", "v": "cbf", "w": "qes", "x": "zcs",
    "y": "tuh", "z": "xa",
}


def nickname(rng: random.Random, given: str) -> str | None:
    """A short form or nickname of `given` ("William" -> "Bill"), or None if it has none."""
    forms = [f for f in short_forms(fold(given)) if len(f) > 1]
    if not forms:
        return None
    return rng.choice(forms).capitalize()


def typo(rng: random.Random, text: str) -> str:
    """`text` with one keying error: a neighbouring key, a dropped, doubled or transposed letter."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(letters) < 3:
        return text
    i = rng.choice(letters[1:])  # first letters are rarely mistyped
    kind = rng.choice(("substitute", "drop", "double", "transpose"))
    ch = text[i]
    if kind == "substitute":
        repl = rng.choice(_NEIGHBOURS.get(ch.lower(), "e"))
        return text[:i] + (repl.upper() if ch.isupper() else repl) + text[i + 1:]
    if kind == "drop":
        return text[:i] + text[i + 1:]
    if kind == "double":
        return text[:i] + ch + text[i:]
    j = i + 1 if i + 1 < len(text) and text[i + 1].isalpha() else i - 1
    a, b = sorted((i, j))
    return text[:a] + text[b] + text[a] + text[b + 1:]


def swap_day_month(d: date) -> date | None:
    """`d` with day and month exchanged, or None if that is not another valid date."""
    if d.day > 12 or d.day == d.month:
        return None
    return date(d.year, d.day, d.month)


def slip_dob(rng: random.Random, d: date) -> date:
    """`d` with one keying slip: the day off by one digit, or the year off by one."""
    for _ in range(10):
        kind = rng.choice(("day", "year"))
        try:
            if kind == "day":
                day = d.day + rng.choice((-10, -1, 1, 10))
                return date(d.year, d.month, day)
            return date(d.year + rng.choice((-1, 1)), d.month, d.day)
        except ValueError:
            continue
    return d


def drop_barrel(rng: random.Random, family: str) -> str:
    """One half of a double-barrelled surname ("Hill-Smith" -> "Smith"), else `family`."""
    parts = [p for p in family.replace(" ", "-").split("-") if p]
    return rng.choice(parts) if len(parts) > 1 else family


def format_dob(d: date | None) -> str | None:
    """ISO date or None."""
    return d.isoformat() if d else None
