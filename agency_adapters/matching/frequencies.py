"""Name frequencies of one agency store: rare names count for more than common ones.

Fellegi-Sunter's u-probability of a name agreeing is the chance that two
different people share it, which is the name's frequency in the population the
store holds. "Smith" agrees by chance for about 1 in 50 pairs (5.6 bits); a
surname held by a handful of people is worth twice that. The weight of an exact
agreement is log2(1/p) (m, close to 1, is left out).

Frequencies are counted from the store itself at build time (`NameCounter`) and
shrunk towards the fixed weights of `scoring` by a pseudo-count, so a small store
(a test, a demo of a few hundred people) scores as it always did, and the weights
stay within documented bounds at any size. Postcodes are counted too (how many people
share a unit): a trained model adjusts a postcode agreement by them (`model.TF_FIELDS`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from agency_adapters.matching.normalise import name_tokens, normalise_postcode

#: Pseudo-count of the prior (fixed-weight) frequency: a store needs many thousand people
#: before its own counts dominate.
PRIOR_WEIGHT = 2000.0
#: Bounds of an exact-agreement weight in bits (very rare names are often typos themselves).
FAMILY_BOUNDS = (5.0, 12.0)
GIVEN_BOUNDS = (5.0, 11.0)


def family_key(family_name: str) -> str:
    """The counted form of a surname: its folded words joined (Hill-Smith -> "hill smith")."""
    return " ".join(name_tokens(family_name))


def given_key(given_name: str) -> str:
    """The counted form of a given name: its first folded word."""
    tokens = name_tokens(given_name)
    return tokens[0] if tokens else ""


@dataclass
class NameCounter:
    """Counts names while a store is built (mutable builder; `frozen()` gives the result)."""

    total: int = 0
    given: Counter[str] = field(default_factory=Counter)
    family: Counter[str] = field(default_factory=Counter)
    postcode: Counter[str] = field(default_factory=Counter)

    def add(self, given_name: str, family_name: str, postcode: str = "") -> None:
        """Count one person's given name, surname (every word of a double barrel too), postcode."""
        self.total += 1
        if pc := normalise_postcode(postcode):
            self.postcode[pc] += 1
        if g := given_key(given_name):
            self.given[g] += 1
        if f := family_key(family_name):
            self.family[f] += 1
            words = f.split(" ")
            if len(words) > 1:
                # Words of a double barrel are counted as surnames in their own right, so
                # "Smith" in "Hill-Smith" is as common as the plain surname.
                for w in set(words):
                    self.family[w] += 1

    def rows(self) -> Iterable[tuple[str, str, int]]:
        """(kind, name, count) rows for storage."""
        yield ("total", "", self.total)
        yield from (("given", k, v) for k, v in self.given.items())
        yield from (("family", k, v) for k, v in self.family.items())
        if self.postcode:
            # Marks a store whose postcodes were counted (older stores have no postcode rows,
            # and a caller that passes no postcodes counts none).
            yield ("pc_counted", "", 1)
            yield from (("postcode", k, v) for k, v in self.postcode.items())


@dataclass(frozen=True)
class NameFrequencies:
    """How often each name occurs in one store, and the agreement weight that follows."""

    total: int
    given: Mapping[str, int]
    family: Mapping[str, int]
    #: people per postcode unit; None when the store did not count them
    postcode: Mapping[str, int] | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, int]]) -> NameFrequencies:
        """Rebuild from `NameCounter.rows()` (unknown kinds are ignored)."""
        total = 0
        given: dict[str, int] = {}
        family: dict[str, int] = {}
        postcode: dict[str, int] | None = None
        for kind, name, count in rows:
            if kind == "total":
                total = int(count)
            elif kind == "given":
                given[name] = int(count)
            elif kind == "family":
                family[name] = int(count)
            elif kind == "pc_counted":
                postcode = {} if postcode is None else postcode
            elif kind == "postcode":
                postcode = {} if postcode is None else postcode
                postcode[name] = int(count)
        return cls(total, given, family, postcode)

    def _weight(self, count: int, prior_bits: float, bounds: tuple[float, float]) -> float:
        p0 = 2.0 ** -prior_bits
        p = (count + PRIOR_WEIGHT * p0) / (self.total + PRIOR_WEIGHT)
        lo, hi = bounds
        return min(hi, max(lo, -math.log2(p)))

    def family_weight(self, tokens: tuple[str, ...], prior_bits: float) -> float:
        """Exact-agreement weight of a surname given as folded words."""
        return self._weight(self.family.get(" ".join(tokens), 0), prior_bits, FAMILY_BOUNDS)

    def given_weight(self, token: str, prior_bits: float) -> float:
        """Exact-agreement weight of a given name (its first folded word)."""
        return self._weight(self.given.get(token, 0), prior_bits, GIVEN_BOUNDS)
