"""Names and streets for the trap set (bench/traps.py): lists of this module's own.

Each list has a head of common English-looking names in rough order of how common they are,
and a tail of made-up names built from syllables, so a draw has the skew of real name
frequencies (a few names very common, most names rare) without copying any population. The
project's seed lists are deliberately not used: the set must be data the matcher's own
generator did not make.
"""

from __future__ import annotations

import random
from itertools import accumulate


def words(text: str) -> tuple[str, ...]:
    """The words of a list written as one string (long lists stay readable)."""
    return tuple(text.split())


MALE_HEAD = words(
    "Oliver James William Thomas Jack Harry George Daniel Joseph Samuel Benjamin Alexander "
    "Matthew Christopher David Michael Robert Richard Andrew Mark Paul Stephen Steven Peter "
    "John Edward Charles Henry Luke Adam Ryan Liam Noah Jacob Ethan Lewis Connor Callum "
    "Nathan Aaron Kieran Jordan Jamie Philip Nicholas Anthony Patrick Frederick Arthur Alfie "
    "Archie Isaac Oscar Leo Theo Max Toby Reuben Finley Harrison Jackson Dylan Tyler Jake "
    "Joshua Kyle Ross Scott Craig Gary Wayne Darren Lee Dean Shaun Carl Neil Ian Keith Colin "
    "Graham Trevor Derek Leonard Albert Ernest Stanley Victor Dominic Sebastian Rory Elliot"
)
FEMALE_HEAD = words(
    "Olivia Amelia Isla Emily Sophie Sophia Grace Jessica Ella Lily Charlotte Chloe Mia Ruby "
    "Hannah Lucy Emma Sarah Laura Rebecca Rachel Katie Katherine Catherine Elizabeth Victoria "
    "Amy Megan Holly Georgia Abigail Freya Evie Poppy Phoebe Daisy Alice Florence Matilda "
    "Harriet Eleanor Imogen Isabelle Millie Erin Niamh Caitlin Zoe Leah Bethany Jade Danielle "
    "Natalie Stephanie Nicola Joanne Michelle Karen Julie Susan Helen Claire Louise Kelly "
    "Donna Tracy Tracey Lisa Angela Dawn Janet Margaret Patricia Jennifer Deborah Philippa "
    "Josephine Annie Maisie Elsie Rosie Jasmine Summer Willow Esme Ivy Hollie Kirsty Gemma"
)
SURNAME_HEAD = words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Clark Patel Khan Lewis James Phillips "
    "Mason Mitchell Rose Davis Rodgers Morgan Harris Cooper King Lee Martin Baker Harrison "
    "Morris Hughes Edwards Turner Hill Moore Allen Ward Parker Carter Bennett Shaw Cook Bailey "
    "Cox Richardson Marshall Collins Young Hussain Ali Begum Ahmed Murphy Kelly Campbell "
    "Stewart Anderson Scott Reid Murray Watson Graham Simpson Thomson Stevenson Paterson "
    "Peterson Nicholson Dickson Jackman Pickering Fletcher Chapman Price Bell Palmer Griffiths "
    "Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Dixon Fox Holmes Gray Grey "
    "Mills Lawrence Owen Webb Wells Hunt Hart Ellis Pearson Foster Rogers Gibson Hudson "
    "Dawson Matthews Lambert Philpott Atkinson Hopkins Kennedy Sutton Fowler Barnes Brooks "
    "Howard Harvey Porter Sharp Spencer Kaur Singh Nowak Kowalski Okafor Adeyemi Mensah "
    "Nguyen Santos Silva Ferreira Murray Quinn Doyle Byrne Brennan Gallagher"
)

_ONSETS = words("b br c ch d dr f fl g gr h j k l m n p ph pr r s sh st t th tr v w z "
           "bl cl kr sl sn sp")
_VOWELS = words("a e i o u ai ea ee ie oa ou y")
_MALE_ENDS = words("an en on ian ell ard us er in o el ick")
_FEMALE_ENDS = words("a ia ie ella ina ette elle y ine anna een")
_SURNAME_ENDS = words("son sen ton ley ford wick ham by well more field ock er man ett ins "
                 "worth ridge land")


def _made_up(rng: random.Random, ends: tuple[str, ...], n: int,
             taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        body = rng.choice(_ONSETS) + rng.choice(_VOWELS)
        if rng.random() < 0.4:
            body += rng.choice(_ONSETS) + rng.choice(_VOWELS)
        name = (body + rng.choice(ends)).capitalize()
        if name.lower() not in taken and 4 <= len(name) <= 12:
            taken.add(name.lower())
            out.append(name)
    return out


class _Weighted:
    """Names drawn with weight 1 / (rank + offset): Zipf-Mandelbrot, a flattened top."""

    def __init__(self, names: list[str], offset: int) -> None:
        self.names = names
        self.cum = list(accumulate(1.0 / (r + offset) for r in range(1, len(names) + 1)))

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.names, cum_weights=self.cum)[0]

    def share(self, rank: int) -> float:
        """The share of draws that give the name of this rank (1 = the commonest)."""
        below = self.cum[rank - 2] if rank > 1 else 0.0
        return (self.cum[rank - 1] - below) / self.cum[-1]


class NameBook:
    """Weighted draws of given names (by sex) and surnames, fixed by `seed`.

    Shaped on English frequencies: the commonest given name about 3% of its sex and the
    hundred commonest over half; the commonest surname under 1%, the 150 listed about a
    third, the rest spread over thousands of rare names.
    """

    def __init__(self, seed: int, given_tail: int = 600, surname_tail: int = 8000) -> None:
        rng = random.Random(f"names:{seed}")
        taken = {n.lower() for n in (*MALE_HEAD, *FEMALE_HEAD, *SURNAME_HEAD)}
        self.male = _Weighted([*dict.fromkeys(MALE_HEAD),
                               *_made_up(rng, _MALE_ENDS, given_tail, taken)], 6)
        self.female = _Weighted([*dict.fromkeys(FEMALE_HEAD),
                                 *_made_up(rng, _FEMALE_ENDS, given_tail, taken)], 6)
        self.surnames = _Weighted([*dict.fromkeys(SURNAME_HEAD),
                                   *_made_up(rng, _SURNAME_ENDS, surname_tail, taken)], 20)

    def given(self, rng: random.Random, sex: str) -> str:
        """A given name for a person of this sex ('male' or 'female')."""
        return (self.male if sex == "male" else self.female).draw(rng)

    def surname(self, rng: random.Random) -> str:
        """A surname."""
        return self.surnames.draw(rng)


NICKNAMES = {
    "william": ("Bill", "Will", "Billy"), "robert": ("Bob", "Rob", "Bobby"),
    "richard": ("Rick", "Dick", "Richie"), "thomas": ("Tom", "Tommy"),
    "james": ("Jim", "Jimmy", "Jamie"), "joseph": ("Joe", "Joey"),
    "samuel": ("Sam", "Sammy"), "benjamin": ("Ben", "Benny"),
    "alexander": ("Alex", "Sandy", "Xander"), "matthew": ("Matt",),
    "christopher": ("Chris", "Kit"), "daniel": ("Dan", "Danny"),
    "michael": ("Mike", "Mick", "Micky"), "andrew": ("Andy", "Drew"),
    "stephen": ("Steve",), "steven": ("Steve",), "peter": ("Pete",),
    "john": ("Jack", "Johnny"), "edward": ("Ed", "Ted", "Eddie", "Ned"),
    "charles": ("Charlie", "Chuck"), "henry": ("Harry", "Hal"), "nicholas": ("Nick", "Nicky"),
    "anthony": ("Tony", "Ant"), "patrick": ("Pat", "Paddy"), "frederick": ("Fred", "Freddie"),
    "arthur": ("Art", "Artie"), "leonard": ("Len", "Lenny"), "albert": ("Bert", "Al"),
    "philip": ("Phil", "Pip"), "isaac": ("Ike",), "jacob": ("Jake",), "theo": ("Teddy",),
    "sebastian": ("Seb",), "dominic": ("Dom",), "elizabeth": ("Liz", "Beth", "Lizzie", "Betty"),
    "katherine": ("Kate", "Kath", "Katie", "Kitty"), "catherine": ("Cathy", "Kate", "Cath"),
    "victoria": ("Vicky", "Tori"), "rebecca": ("Becky", "Becca"), "abigail": ("Abby", "Gail"),
    "jessica": ("Jess", "Jessie"), "margaret": ("Maggie", "Peggy", "Meg"),
    "patricia": ("Pat", "Trish"), "jennifer": ("Jenny", "Jen"), "deborah": ("Debbie", "Deb"),
    "philippa": ("Pippa",), "josephine": ("Jo", "Josie"), "eleanor": ("Ellie", "Nell"),
    "charlotte": ("Lottie", "Charlie"), "isabelle": ("Izzy", "Bella"),
    "stephanie": ("Steph",), "nicola": ("Nicky",), "susan": ("Sue", "Suzy"),
    "florence": ("Flo",), "matilda": ("Tilly",), "harriet": ("Hattie",),
    "natalie": ("Nat",), "danielle": ("Dani",), "sophia": ("Sophie",), "amelia": ("Millie",),
}

STREET_WORDS = words(
    "Oak Ash Elm Beech Birch Cedar Maple Willow Holly Rowan Hazel Chestnut Alder Larch Poplar "
    "Church Mill Station Park School Bridge Castle Market Chapel Manor Grange Meadow Orchard "
    "Brook River Spring Well Hill Vale Green Field Moor Heath Common Priory Abbey Victoria "
    "Albert Queen King Princes Windsor Clarence Nelson Kingsway Highfield Fairfield Westfield "
    "Northgate Southgate Eastbourne Sunnyside Greenacre Foxhill Hawthorn Laburnum Lilac"
)
STREET_KINDS = words("Road Street Lane Close Avenue Way Drive Gardens Crescent Grove Place Terrace")
