"""en_GB given-name equivalences: nicknames, short forms and common spellings.

Two given names are equivalent when they share a group. A name may be in
several groups ("alex" is short for Alexander and Alexandra; "sam" for Samuel
and Samantha), so equivalence is not transitive across groups -- "alexander"
and "alexandra" are not equivalent through "alex". Names are folded
(see `normalise.fold`).
"""

from __future__ import annotations

from functools import lru_cache

#: Each line is one group: the formal name first, then its usual forms.
_GROUPS: tuple[str, ...] = (
    "alexander alex alec alexandre sandy xander",
    "alexandra alex alexa lexi lexie sandra sasha",
    "alfred alfie alf",
    "andrew andy drew",
    "anthony tony antony",
    "archibald archie",
    "benjamin ben benji benny",
    "catherine kate katie cathy cat kath kathryn katherine kathleen",
    "charles charlie chas chuck",
    "charlotte charlie lottie lotte",
    "christopher chris kit",
    "christine chris chrissie christina",
    "daniel dan danny",
    "danielle dani",
    "david dave davey davy",
    "deborah debbie debra deb",
    "edward ed eddie ted teddy ned",
    "eleanor ellie nell nellie elle elenor",
    "elizabeth liz lizzie beth betty eliza libby lisa elisabeth bess",
    "emily em emmy millie",
    "frederick fred freddie freddy",
    "gabriel gabe",
    "gabriella gabby gabriela",
    "harold harry hal",
    "henry harry hal hank",
    "isabella bella izzy isabel isobel izabella issy",
    "jacob jake jac",
    "james jim jimmy jamie",
    "jennifer jen jenny jenna",
    "jessica jess jessie",
    "john jack johnny jon",
    "jonathan jon jonny johnathan",
    "joseph joe joey",
    "joshua josh",
    "katherine kate katie kat kathy",
    "kimberley kim kimberly",
    "lawrence laurence larry laurie",
    "leonard leo len lenny",
    "margaret maggie meg peggy marge madge",
    "matthew matt matty",
    "michael mike mick mickey micky mikey",
    "nathan nate",
    "nathaniel nat nate",
    "nicholas nick nicky nico",
    "nicola nicky nikki",
    "oliver olly ollie",
    "olivia liv livvy",
    "patrick pat paddy",
    "patricia pat patsy trish tricia",
    "peter pete",
    "rebecca becky becca bex",
    "richard rich rick ricky dick richie",
    "robert rob robbie bob bobby bert",
    "samantha sam sammy",
    "samuel sam sammy",
    "sarah sara sally",
    "sophie sophia soph",
    "stephen steve steven stevie",
    "susan sue susie suzanne",
    "theodore theo ted",
    "thomas tom tommy",
    "timothy tim timmy",
    "victoria vicky vikki tori",
    "william will bill billy liam willie",
    "zachary zach zack zak",
    "zoe zoey",
    "abigail abi abby abbie",
    "amelia amy millie",
    "evelyn evie",
    "florence flo florrie",
    "madison maddie maddy",
    "mohammed mohammad muhammad mohamed mohamad",
    "jayden jaden",
    "aiden aidan",
    "freya freja",
    "grace gracie",
    "harriet hattie",
    "lucas luke",
    "ronald ron ronnie",
    "kenneth ken kenny",
    "gerald gerry jerry",
    "donald don donnie",
    "raymond ray",
    "terence terry terrence",
    "stuart stewart stu",
    "philip phil phillip pip",
    "jacqueline jackie jacky",
    "gemma jemma",
    "leanne lianne",
    "kayleigh kayley kaylee",
)


def _build() -> dict[str, frozenset[int]]:
    index: dict[str, set[int]] = {}
    for i, line in enumerate(_GROUPS):
        for name in line.split():
            index.setdefault(name, set()).add(i)
    return {name: frozenset(groups) for name, groups in index.items()}


_INDEX = _build()


@lru_cache(maxsize=4096)
def equivalent(a: str, b: str) -> bool:
    """True if folded given names `a` and `b` are the same name or nickname-equivalent."""
    if a == b:
        return True
    ga = _INDEX.get(a)
    gb = _INDEX.get(b)
    return bool(ga and gb and ga & gb)


def listed(name: str) -> bool:
    """True if folded `name` is a given name or a form of one in the table."""
    return name in _INDEX


@lru_cache(maxsize=4096)
def short_forms(name: str) -> tuple[str, ...]:
    """Every name that shares a group with folded `name` (used to corrupt names in test data)."""
    groups = _INDEX.get(name, frozenset())
    out = {n for g in groups for n in _GROUPS[g].split()} - {name}
    return tuple(sorted(out))
