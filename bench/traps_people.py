"""The trap set's population (bench/traps.py): households at UK-shaped addresses.

Households of one adult, a couple, or parents with children; children born one to a few
years apart, some as twins (same surname, date of birth and address, different given
names, each their own NHS number: usually the next one issued, otherwise another one digit
away before the check digit); a son sometimes named after
his father (a daughter, rarely, after her mother). Every person has a sex, a valid NHS
number (modulus 11, `stdnum.gb.nhs`) and a date of birth dated back from `today`. Twins are
about four times as common here as in England, so that a small store still holds enough of
them to measure.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from rapidfuzz.distance import Levenshtein

from bench.traps_corrupt import next_valid_nhs, nhs_one_digit_variants, valid_nhs
from bench.traps_names import NICKNAMES, STREET_KINDS, STREET_WORDS, NameBook, words

_AREAS = words("AB AL BD BH BL BN BR BS CB CF CH CM CO CR CT CV CW DA DE DH DL DN DT DY EN EX "
          "FY GL GU HA HD HG HP HR HU HX IP KT LA LE LN LS LU ME MK NE NG NN NR NW OL OX PE "
          "PL PO PR RG RH RM SG SK SL SM SN SO SR SS ST SY TA TF TN TQ TR TS TW WA WD WF WN "
          "WR WS WV YO")
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
TWIN_RATE = 0.07
NAMESAKE_SON = 0.12
NAMESAKE_DAUGHTER = 0.03
UNITS_PER_SECTOR = 12


def same_name(a: str, b: str) -> bool:
    """One name twice: equal, one letter apart (Tracy, Tracey) or a nickname (Kate, Katherine).

    Parents do not give two children one name in two spellings; a pair of similar names
    (Jack and Jake, Ella and Emma) is kept: twins often get them.
    """
    x, y = a.lower(), b.lower()
    return (Levenshtein.distance(x, y) <= 1 or y in (n.lower() for n in NICKNAMES.get(x, ()))
            or x in (n.lower() for n in NICKNAMES.get(y, ())))


@dataclass
class Person:
    """One person as they really are (records and queries are views of this)."""

    pid: str
    given: str
    family: str
    sex: str
    dob: date
    nhs: str
    household: int
    postcode: str
    address: str
    twin: str = ""             # the co-twin's pid
    namesake: str = ""         # the parent or child with this person's given name
    siblings: list[str] = field(default_factory=list)
    adult: bool = True
    parent: bool = False       # an adult of a household with children (a parent or carer)
    child: bool = False        # a son or daughter living at home, of any age


class Places:
    """Postcodes by district and sector, one street per postcode unit."""

    def __init__(self, rng: random.Random, districts: int) -> None:
        self._rng = rng
        self.districts: list[str] = []
        while len(self.districts) < districts:
            d = f"{rng.choice(_AREAS)}{rng.randrange(1, 30)}"
            if d not in self.districts:
                self.districts.append(d)
        self._streets: dict[str, str] = {}
        self._units: dict[tuple[str, int], list[str]] = {}

    def street(self, postcode: str) -> str:
        """The street of a postcode unit (made on first use)."""
        if postcode not in self._streets:
            self._streets[postcode] = (f"{self._rng.choice(STREET_WORDS)} "
                                       f"{self._rng.choice(STREET_KINDS)}")
        return self._streets[postcode]

    def _unit(self, district: str, sector: int) -> str:
        """One of the sector's few units, so neighbouring households share postcodes."""
        units = self._units.get((district, sector))
        if units is None:
            units = self._units[(district, sector)] = list(dict.fromkeys(
                "".join(self._rng.choice(_UNIT_LETTERS) for _ in range(2))
                for _ in range(UNITS_PER_SECTOR)))
        return self._rng.choice(units)

    def postcode(self, district: str | None = None, sector: int | None = None) -> str:
        """A postcode, in `district` and `sector` when given (units reuse often: neighbours)."""
        d = district or self._rng.choice(self.districts)
        s = self._rng.randrange(0, 10) if sector is None else sector
        return f"{d} {s}{self._unit(d, s)}"

    def address(self, postcode: str) -> str:
        """A house on the postcode's street."""
        return f"{self._rng.randrange(1, 160)} {self.street(postcode)}"

    def moved(self, postcode: str, how: str) -> str:
        """A new postcode: 'sector' (same sector), 'district' (another sector), 'elsewhere'."""
        district, inward = postcode.split(" ")
        sector = int(inward[0])
        for _ in range(50):
            if how == "sector":
                new = self.postcode(district, sector)
            elif how == "district":
                new = self.postcode(district, self._rng.choice(
                    [s for s in range(10) if s != sector]))
            else:
                new = self.postcode(self._rng.choice(
                    [d for d in self.districts if d != district] or [district + "X"]))
            if new != postcode:
                return new
        return self.postcode()


class PopulationBuilder:
    """Households until the population reaches a size; every NHS number distinct."""

    def __init__(self, rng: random.Random, book: NameBook, today: date, size: int) -> None:
        self.rng, self.book, self.today = rng, book, today
        self._adult_born_by = today - timedelta(days=18 * 365)
        self.places = Places(rng, max(4, size // 4000))
        self.people: list[Person] = []
        self.by_pid: dict[str, Person] = {}
        self.numbers: set[str] = set()
        self._households = 0
        while len(self.people) < size:
            self._household()

    def _nhs(self, near: str = "", sequential: bool = False) -> str:
        if near and sequential:
            n = next_valid_nhs(near)
            while n in self.numbers:
                n = next_valid_nhs(n)
        elif near:
            free = [x for x in nhs_one_digit_variants(near) if x not in self.numbers]
            n = self.rng.choice(free) if free else valid_nhs(self.rng)
        else:
            n = valid_nhs(self.rng)
        while n in self.numbers:
            n = valid_nhs(self.rng)
        self.numbers.add(n)
        return n

    def _dob(self, age: int) -> date:
        return self.today - timedelta(days=age * 365 + self.rng.randrange(365))

    def _person(self, given: str, family: str, sex: str, dob: date, nhs: str, home: int,
                postcode: str, address: str, adult: bool) -> Person:
        p = Person(f"P{len(self.people) + 1:07d}", given, family, sex, dob, nhs, home,
                   postcode, address, adult=adult)
        self.people.append(p)
        self.by_pid[p.pid] = p
        return p

    def _household(self) -> None:
        rng, book = self.rng, self.book
        self._households += 1
        home = self._households
        postcode = self.places.postcode()
        address = self.places.address(postcode)
        kind = rng.random()
        with_children = kind >= 0.40
        n_adults = 1 if kind < 0.22 or kind >= 0.82 else 2
        eldest = rng.randrange(0, 20) if with_children else 0
        age1 = eldest + rng.randrange(20, 41) if with_children else rng.randrange(18, 91)
        sex1 = rng.choice(("male", "female"))
        family = book.surname(rng)
        adults = [self._person(book.given(rng, sex1), family, sex1, self._dob(age1),
                               self._nhs(), home, postcode, address, True)]
        if n_adults == 2:
            sex2 = ("female" if sex1 == "male" else "male") if rng.random() < 0.93 else sex1
            family2 = family if rng.random() < 0.7 else book.surname(rng)
            age2 = max(18, age1 + rng.randrange(-5, 6))
            adults.append(self._person(book.given(rng, sex2), family2, sex2, self._dob(age2),
                                       self._nhs(), home, postcode, address, True))
        if not with_children:
            return
        child_family = family
        if n_adults == 2 and adults[1].family != family and rng.random() < 0.25:
            child_family = f"{family}-{adults[1].family}"
        children: list[Person] = []
        dob = self._dob(eldest)
        for _ in range(rng.choices((1, 2, 3, 4), (35, 40, 18, 7))[0]):
            if dob > self.today:
                break
            births = 2 if rng.random() < TWIN_RATE else 1
            born: list[Person] = []
            for b in range(births):
                sex = rng.choice(("male", "female"))
                given, namesake = self._child_name(sex, adults, children + born)
                if b == 1:
                    nhs = self._nhs(born[0].nhs, sequential=rng.random() < 0.7)
                elif children and rng.random() < 0.1:
                    nhs = self._nhs(children[-1].nhs)  # one body digit from an elder sibling's
                else:
                    nhs = self._nhs()
                born.append(self._person(given, child_family, sex, dob, nhs, home, postcode,
                                         address, dob <= self._adult_born_by))
                if namesake is not None:
                    born[-1].namesake, namesake.namesake = namesake.pid, born[-1].pid
            if births == 2:
                born[0].twin, born[1].twin = born[1].pid, born[0].pid
            children += born
            dob += timedelta(days=rng.randrange(330, 6 * 365))  # a birth at most yearly
        for c in children:
            c.siblings = [o.pid for o in children if o is not c]
            c.child = True
        for a in adults:
            a.parent = bool(children)

    def _child_name(self, sex: str, parents: list[Person],
                    siblings: list[Person]) -> tuple[str, Person | None]:
        """A given name no sibling has; sometimes a parent's (then that parent too)."""
        taken = {s.given for s in siblings}
        chance = NAMESAKE_SON if sex == "male" else NAMESAKE_DAUGHTER
        for parent in parents:
            if (parent.sex == sex and not parent.namesake and parent.given not in taken
                    and self.rng.random() < chance):
                return parent.given, parent
        while True:
            given = self.book.given(self.rng, sex)
            if not any(same_name(given, o) for o in (*taken, *(p.given for p in parents))):
                return given, None
