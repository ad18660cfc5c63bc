"""Blocking keys: the indexed values through which candidates are found without a scan.

A store indexes every person under `person_keys(person)`; a query looks up
`query_keys(query)`. A true match is found when any one key agrees, so the
keys are chosen so that a single supported corruption (typo, nickname, day and
month swapped, changed or double-barrelled surname, stale address, missing
NHS number) leaves at least one key intact:

- `n:` NHS number (valid only) and `u:` UPN (valid only)
- `d:` date of birth (the query also asks for its day/month swap)
- `fym:` / `gym:` phonetic code of a surname word / the given name + year and month of
  birth (a slip in the day, with the other name mistyped, changed or nicknamed)
- `fmd:` / `gmd:` phonetic code of a surname word / the given name + month and day of
  birth (a wrong year, with the other name mistyped, changed or nicknamed)
- `gfp:` phonetic codes of given and surname + postcode district (DOB missing or wrong)
- `fpc:` / `gpc:` phonetic code of the surname / given name + full postcode (a household's
  unit: finds a nickname with a missing DOB, or a changed surname with a DOB slip)
- `pmd:` full postcode + month and day of birth (both names mistyped at a current address)
- `pc:` the full postcode alone (a unit holds a few dozen people): finds a person at the
  current address whatever else went wrong -- both names mistyped with a DOB slip or a
  missing DOB, or a surname the agency holds differently

- `gfx:` phonetic codes of given and surname, indexed only for people held without a date
  of birth, looked up by every query (small: a record without a DOB and with a stale
  postcode is otherwise found only by names alone)
- `gf:` phonetic codes of given and surname (indexed for everyone; looked up last, and
  only when the query lacks a DOB or a postcode: always looking it up finds a few more
  records that lack a DOB, at a third more candidates per query at 1,000,000 people)
- `gf2:` / `g2f:` phonetic code of one name + the first two letters of the other (indexed
  for everyone; looked up after `gf:`, under the same condition): a typo that changes one
  name's Soundex code ("Barlow" B640 / "Barpow" B610, "Joel" J400 / "Jodl" J340) leaves
  the first letters alone. A second phonetic code would not help: Metaphone and NYSIIS
  change with the same consonant ("Barlow" BRL / "Barpow" BRP).

`gf:` and `gfx:` also take each middle name as a given name (known by a middle name).

The query also looks up the keys of its names the other way round (given <-> family).
"""

from __future__ import annotations

from collections.abc import Iterable

import jellyfish

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching.normalise import (
    name_tokens,
    normalise_nhs_number,
    normalise_postcode,
    normalise_upn,
    parse_dob,
    postcode_district,
    swapped_dob,
)


def phonetic(token: str) -> str:
    """The Soundex code of one folded name word (robust to vowel typos and doubled letters)."""
    return str(jellyfish.soundex(token)) if token else ""


def _family_words(family_name: str, other_names: Iterable[str]) -> set[str]:
    words = {t for t in name_tokens(family_name) if len(t) > 1}
    for other in other_names:
        words.update(t for t in name_tokens(other) if len(t) > 1)
    return words


def _given_words(given_name: str, other_names: Iterable[str]) -> set[str]:
    """The first word of the given name and of each other name (middle names excluded)."""
    tokens = name_tokens(given_name)
    words = {tokens[0]} if tokens else set()
    for other in other_names:
        toks = name_tokens(other)
        if toks:
            words.add(toks[0])
    return words


def _family_codes(family_name: str, other_names: Iterable[str]) -> set[str]:
    return {phonetic(t) for t in _family_words(family_name, other_names)}


def _given_codes(given_name: str, other_names: Iterable[str]) -> set[str]:
    return {phonetic(t) for t in _given_words(given_name, other_names)}


def _middle_codes(given_name: str) -> set[str]:
    """Codes of the given name's later words: a person may be known by a middle name."""
    return {phonetic(t) for t in name_tokens(given_name)[1:] if len(t) > 1}


#: Letters of a name kept by the prefix keys: typos fall after the first letter, and a
#: referrer rarely gets the second one wrong too.
PREFIX_LETTERS = 2


def _keys(given: str, family: str, other_names: Iterable[str], dob_text: str | None,
          postcode: str, nhs: str, upn: str, *, with_swap: bool) -> list[str]:
    others = tuple(other_names)
    keys: list[str] = []
    if (n := normalise_nhs_number(nhs)) is not None:
        keys.append(f"n:{n}")
    if (u := normalise_upn(upn)) is not None:
        keys.append(f"u:{u}")
    dob = parse_dob(dob_text)
    fam = sorted(_family_codes(family, others))
    giv = sorted(_given_codes(given, others))
    if dob is not None:
        dobs = [dob]
        if with_swap and (sw := swapped_dob(dob)) is not None:
            dobs.append(sw)
        for d in dobs:
            keys.append(f"d:{d.isoformat()}")
            keys.extend(f"fym:{f}:{d.year}-{d.month:02d}" for f in fam)
            keys.extend(f"gym:{g}:{d.year}-{d.month:02d}" for g in giv)
            keys.extend(f"fmd:{f}:{d.month:02d}{d.day:02d}" for f in fam)
            keys.extend(f"gmd:{g}:{d.month:02d}{d.day:02d}" for g in giv)
    district = postcode_district(postcode)
    if district is not None:
        keys.extend(f"gfp:{g}:{f}:{district}" for g in giv for f in fam)
        unit = normalise_postcode(postcode)
        keys.extend(f"fpc:{f}:{unit}" for f in fam)
        keys.extend(f"gpc:{g}:{unit}" for g in giv)
        keys.append(f"pc:{unit}")
        if dob is not None:
            keys.extend(f"pmd:{unit}:{d.month:02d}{d.day:02d}" for d in dobs)
    # The names-only keys also take middle names as given names (a child known by a
    # middle name is found only by name when the DOB or the postcode is missing).
    known_as = sorted(set(giv) | _middle_codes(given))
    if dob is None:
        keys.extend(f"gfx:{g}:{f}" for g in known_as for f in fam)
    if not with_swap or dob is None or district is None:
        # Names alone: the least selective key, looked up last (see `query_keys`).
        keys.extend(f"gf:{g}:{f}" for g in known_as for f in fam)
    return keys


def _prefix_keys(given: str, family: str, other_names: Iterable[str]) -> list[str]:
    """`gf2:` / `g2f:`: one name's Soundex code + the other name's first two letters.

    For one name mistyped so that its Soundex code changes (see the module docstring).
    """
    others = tuple(other_names)
    fam_words = sorted(_family_words(family, others))
    giv_words = sorted(_given_words(given, others))
    keys = [f"gf2:{phonetic(g)}:{f[:PREFIX_LETTERS]}" for g in giv_words for f in fam_words]
    keys.extend(f"g2f:{g[:PREFIX_LETTERS]}:{phonetic(f)}" for g in giv_words for f in fam_words)
    return list(dict.fromkeys(keys))


def person_keys(person: Person) -> list[str]:
    """The blocking keys a store indexes `person` under."""
    keys = _keys(person.given_name, person.family_name, person.other_names,
                 person.date_of_birth, person.postcode, person.nhs_number, person.upn,
                 with_swap=False)
    keys.extend(_prefix_keys(person.given_name, person.family_name, person.other_names))
    return sorted(set(keys))


def query_keys(query: QueryIdentifiers) -> list[str]:
    """The blocking keys to look up for `query`, most selective first (NHS, UPN, DOB...)."""
    seen: dict[str, None] = {}
    for k in _keys(query.given_name, query.family_name, query.other_names, query.date_of_birth,
                   query.postcode, query.nhs_number, query.upn, with_swap=True):
        seen.setdefault(k, None)
    if query.given_name and query.family_name:
        # Given and family names entered the wrong way round.
        for k in _keys(query.family_name, query.given_name, (), query.date_of_birth,
                       query.postcode, "", "", with_swap=False):
            seen.setdefault(k, None)
    # People held without a DOB, by name: cheap (few lack one), so every query asks.
    fam = sorted(_family_codes(query.family_name, query.other_names))
    known_as = _given_codes(query.given_name, query.other_names) | _middle_codes(query.given_name)
    for g in sorted(known_as):
        for f in fam:
            seen.setdefault(f"gfx:{g}:{f}", None)
    if parse_dob(query.date_of_birth) is None or postcode_district(query.postcode) is None:
        # Looked up when `gf:` is (the query lacks a DOB or a postcode), names either way round.
        for k in _prefix_keys(query.given_name, query.family_name, query.other_names):
            seen.setdefault(k, None)
        if query.given_name and query.family_name:
            for k in _prefix_keys(query.family_name, query.given_name, ()):
                seen.setdefault(k, None)
    # Names alone last, and their typo-tolerant forms after them: the candidate cap is
    # then spent on the selective keys first.
    return sorted(seen, key=_lookup_order)


def _lookup_order(key: str) -> int:
    """Selective keys first, then names alone, then their typo-tolerant forms."""
    if key.startswith("gf:"):
        return 1
    if key.startswith(("gf2:", "g2f:")):
        return 2
    return 0
