"""Synthetic streets, postcodes and schools for one English city's local authority.

The demo MASH serves a city shaped like Sheffield (postcode area S, LA number
373 in UPNs); street names are generated, so no address is a real one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


def _words(text: str) -> tuple[str, ...]:
    """The words of a space-separated list."""
    return tuple(text.split())


TOWN = "Sheffield"
LA_NUMBER = "373"
DISTRICTS = tuple(f"S{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 20, 35, 36))
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_STREET_STEMS = _words(
    "Abbey Ash Beech Birch Bramble Brook Castle Cedar Chapel Cherry Church Clifton Coronation "
    "Crookes Derwent Elm Fern Forge Furnace Glebe Hawthorn Heather High Hill Holly Kingfisher "
    "Laburnum Larch Manor Maple Meadow Mill Moor Oak Orchard Park Pinfold Primrose Queens Rowan "
    "Sandy School Spring Station Sycamore Thorn Victoria Well Willow Windmill York Albert "
    "Carlton Grange Hallam Loxley Rivelin Stanage Wincobank Handsworth Gleadless Norton Totley"
)
_STREET_SUFFIXES = ("Road", "Street", "Lane", "Avenue", "Close", "Crescent", "Drive", "Way",
                    "Grove", "Terrace", "Walk", "Court", "Gardens", "Place", "Rise", "View")
_SCHOOL_WORDS = ("Hillside", "Meadowbank", "Abbeydale", "Brookfield", "Oakwood", "Parkhill",
                 "Greenfield", "Westfield", "Ashdown", "Millhouses", "Birchwood", "Fernlea",
                 "Riverside", "Highfield", "Springvale", "Longley", "Netherthorpe", "Woodseats")


@dataclass(frozen=True)
class Street:
    """One street and the postcode units along it."""

    name: str
    postcodes: tuple[str, ...]
    houses: int


@dataclass(frozen=True)
class School:
    """One school: DfE establishment number and whether it is a secondary school."""

    name: str
    establishment: str  # four digits; 2xxx primary, 4xxx secondary (DfE convention)
    secondary: bool


def make_streets(rng: random.Random, households: int) -> list[Street]:
    """Enough streets (about 40 homes each) for `households` homes."""
    streets: list[Street] = []
    used: set[str] = set()
    used_pcs: set[str] = set()
    while sum(s.houses for s in streets) < households * 1.1:
        name = f"{rng.choice(_STREET_STEMS)} {rng.choice(_STREET_SUFFIXES)}"
        if name in used:
            name = f"{name.split()[0]} {rng.choice(_STREET_STEMS)} {name.split()[-1]}"
            if name in used:
                continue
        used.add(name)
        district = rng.choice(DISTRICTS)
        units: list[str] = []
        for _ in range(rng.randint(1, 3)):
            letters = rng.choice(_INWARD_LETTERS) + rng.choice(_INWARD_LETTERS)
            pc = f"{district} {rng.randint(1, 9)}{letters}"
            if pc not in used_pcs:
                used_pcs.add(pc)
                units.append(pc)
        if units:
            streets.append(Street(name, tuple(units), rng.randint(12, 80)))
    return streets


def make_schools(rng: random.Random, children: int) -> list[School]:
    """Primary schools of ~300 pupils and secondaries of ~1,000, for `children` children."""
    primaries = max(2, children // 2 // 300)
    secondaries = max(1, children // 3 // 1000)
    schools: list[School] = []
    numbers = rng.sample(range(2000, 2999), min(primaries, 999))
    for i, n in enumerate(numbers):
        word = _SCHOOL_WORDS[i % len(_SCHOOL_WORDS)]
        suffix = "" if i < len(_SCHOOL_WORDS) else f" {_STREET_STEMS[i % len(_STREET_STEMS)]}"
        kind = rng.choice(("Primary School", "Primary Academy", "Junior and Infant School"))
        schools.append(School(f"{word}{suffix} {kind}", f"{n:04d}", False))
    for i, n in enumerate(rng.sample(range(4000, 4999), min(secondaries, 999))):
        word = _SCHOOL_WORDS[(i + 7) % len(_SCHOOL_WORDS)]
        suffix = "" if i < len(_SCHOOL_WORDS) else f" {_STREET_STEMS[i % len(_STREET_STEMS)]}"
        kind = rng.choice(("Academy", "School", "Community School"))
        schools.append(School(f"{word}{suffix} {kind}", f"{n:04d}", True))
    return schools
