"""FEBRL-style corruption of one field, for the trap set (bench/traps.py).

Written from FEBRL's published corruption model (Christen, "Probabilistic data generation
for deduplication and data linkage", 2005): keying typos (insert, delete, substitute with a
neighbouring key, transpose), OCR confusions, phonetic variants, swapped fields, missing
values; plus the errors a UK referral adds (day and month swapped, one wrong DOB digit, one
wrong NHS digit that still passes the check, a moved address). Each function returns the
corrupted value, or None when the error cannot apply to this value (the caller tries
another), so every label in TRUTH.csv names an error the query really carries.
"""

from __future__ import annotations

import random
from datetime import date

from stdnum.gb import nhs

_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_KEYBOARD):
    for _c, _k in enumerate(_row):
        near = [_row[i] for i in (_c - 1, _c + 1) if 0 <= i < len(_row)]
        for _dr in (-1, 1):
            if 0 <= _r + _dr < len(_KEYBOARD):
                other = _KEYBOARD[_r + _dr]
                near += [other[i] for i in (_c - 1, _c, _c + 1) if 0 <= i < len(other)]
        _NEIGHBOURS[_k] = "".join(near)

#: Characters a scanner misreads (both ways where it happens both ways).
OCR = (("o", "0"), ("0", "o"), ("l", "1"), ("i", "l"), ("l", "i"), ("s", "5"), ("rn", "m"),
       ("m", "rn"), ("cl", "d"), ("d", "cl"), ("e", "c"), ("g", "q"), ("u", "v"), ("h", "b"),
       ("b", "6"), ("z", "2"), ("nn", "m"), ("vv", "w"), ("w", "vv"))
#: Spellings that sound alike.
PHONETIC = (("ph", "f"), ("f", "ph"), ("ck", "k"), ("k", "ck"), ("ie", "y"), ("y", "ie"),
            ("son", "sen"), ("sen", "son"), ("ai", "ay"), ("ay", "ai"), ("ee", "ea"),
            ("ea", "ee"), ("c", "k"), ("z", "s"), ("s", "z"), ("ll", "l"), ("tt", "t"),
            ("nn", "n"), ("mm", "m"), ("th", "t"), ("ou", "ow"), ("v", "ph"), ("x", "cks"),
            ("ey", "ie"), ("er", "a"), ("ine", "een"), ("een", "ine"), ("ph", "v"))


def _match_case(new: str, old: str) -> str:
    return new.capitalize() if old[:1].isupper() and old[1:].islower() else new


def keying_typo(rng: random.Random, value: str) -> str | None:
    """One keying error in a name: insert, delete, neighbouring key, or swap two letters."""
    if len(value) < 3:
        return None
    low = value.lower()
    for _ in range(10):
        i = rng.randrange(1, len(low))  # the first letter is rarely mistyped
        op = rng.choice(("insert", "delete", "substitute", "transpose"))
        ch = low[i]
        if op == "insert":
            out = low[:i] + rng.choice(_NEIGHBOURS.get(ch, "e") or "e") + low[i:]
        elif op == "delete":
            out = low[:i] + low[i + 1:]
        elif op == "substitute":
            near = _NEIGHBOURS.get(ch)
            if not near:
                continue
            out = low[:i] + rng.choice(near) + low[i + 1:]
        else:
            if i + 1 >= len(low) or low[i] == low[i + 1]:
                continue
            out = low[:i] + low[i + 1] + low[i] + low[i + 2:]
        if out != low:
            return _match_case(out, value)
    return None


def _replace_one(rng: random.Random, value: str,
                 table: tuple[tuple[str, str], ...]) -> str | None:
    low = value.lower()
    options = [(i, a, b) for a, b in table for i in range(len(low)) if low.startswith(a, i)]
    if not options:
        return None
    i, a, b = rng.choice(options)
    out = low[:i] + b + low[i + len(a):]
    return _match_case(out, value) if out != low else None


def ocr_error(rng: random.Random, value: str) -> str | None:
    """One character (or pair) misread by a scanner: o/0, l/1, rn/m, cl/d, ..."""
    return _replace_one(rng, value, OCR)


def phonetic_error(rng: random.Random, value: str) -> str | None:
    """One sound-alike spelling: ph/f, ck/k, ie/y, -son/-sen, ..."""
    return _replace_one(rng, value, PHONETIC)


def day_month_swapped(dob: date) -> date | None:
    """The date with day and month swapped (None when that is no other valid date)."""
    if dob.day > 12 or dob.day == dob.month:
        return None
    return dob.replace(month=dob.day, day=dob.month)


def one_dob_digit(rng: random.Random, dob: date, latest: date) -> date | None:
    """The date with one digit of YYYYMMDD wrong (a valid date by `latest`, not a swap)."""
    text = dob.strftime("%Y%m%d")
    for _ in range(20):
        i = rng.choice((2, 3, 3, 5, 6, 7, 7))  # decade, year, month, day digits
        d = str(rng.choice([x for x in range(10) if str(x) != text[i]]))
        new = text[:i] + d + text[i + 1:]
        try:
            out = date(int(new[:4]), int(new[4:6]), int(new[6:]))
        except ValueError:
            continue
        if out != day_month_swapped(dob) and out <= latest:
            return out
    return None


def with_check_digit(body: str) -> str | None:
    """Nine digits and their modulus-11 check digit, or None when the check would be 10."""
    check = (11 - sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))) % 11
    if check == 10:
        return None
    number = body + str(check)
    return number if nhs.is_valid(number) else None  # stdnum has the last word


def nhs_one_digit_variants(number: str) -> list[str]:
    """Every valid NHS number whose first nine digits differ from `number`'s in one place.

    Modulus 11 catches every single wrong digit of a ten-digit number, so a valid number
    one digit off is one mistyped digit with its check digit made again (a system that
    issues or re-keys the number computes it); a wrong body digit with no possible check
    digit (a "10") is no number and is left out.
    """
    out = []
    for i in range(9):
        for d in "0123456789":
            if d != number[i]:
                other = with_check_digit(number[:i] + d + number[i + 1:9])
                if other:
                    out.append(other)
    return out


def one_body_digit_apart(a: str, b: str) -> bool:
    """Two NHS numbers whose first nine digits differ in exactly one place."""
    return sum(x != y for x, y in zip(a[:9], b[:9], strict=True)) == 1


def next_valid_nhs(number: str) -> str:
    """The next NHS number after `number` in issue order whose check digit exists."""
    body = int(number[:9])
    while True:
        body += 1
        candidate = with_check_digit(f"{body:09d}")
        if candidate:
            return candidate


def valid_nhs(rng: random.Random) -> str:
    """A random valid NHS number (the 400-499 range issued in England and Wales)."""
    while True:
        candidate = with_check_digit(f"{rng.randrange(400_000_000, 500_000_000):09d}")
        if candidate:
            return candidate
