"""An independent evaluation set with traps: households, twins, namesakes, duplicates.

    .venv/bin/python -m bench.match_eval --data traps --people 10000 --queries 2000

Written without the project's own generator (agency_adapters/matching/evalset.py) or its
seed name lists, from the description of the set the matcher is checked on: FEBRL-style
corruption (bench/traps_corrupt.py) of a population of households (bench/traps_people.py)
with sex on every record, UK-shaped postcodes and valid NHS numbers, matched one agency
store at a time.

- The store holds `people` people drawn from a population a quarter larger, so whole
  households, and single members of households, are not held. About 5% of the people held
  are held twice (an old address, a typo, a nickname, day and month swapped, no date of
  birth; the second record keeps the NHS number half the time, so the store links some
  and not others); a quarter of the records carry no NHS number.
- About 15% of the queries are people not held. Among them, traps: a twin whose co-twin is
  held, that twin carrying the co-twin's NHS number (one digit off, or copied), a parent
  whose same-named child is held, a child whose same-named parent is held, a sibling of
  someone held (with that sibling's NHS number, or not). Any certain/high answer to a
  person not held is wrong; TRUTH.csv names the relative's records so the trap table says
  whether the wrong answer was the relative.
- The rest are people held, with 0-3 FEBRL-style errors (labels in `corruptions`), and two
  kinds of trap where the right answer exists: a twin whose co-twin is held too, and an NHS
  number mistyped by one digit into the number of a sibling who is held.

QUERIES.csv carries the subject's role as a MASH referral would give it (`referral_role`),
which `mash match eval` turns into the age bound the adapter applies to a query without a date
of birth; the set's `as_of` is the day its dates are counted back from.

TRUTH.csv: query_id, record_id (`|`-separated when held twice), corruptions (`+`-separated),
trap (the kind, empty for ordinary queries), relative_record_id (the trap relative's
records), household_record_id (the records of everyone else of the person's household the
store holds: a wrong answer there went to a twin, parent or sibling), nhs (which side has
an NHS number: both, query, record, neither).
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from agency_adapters.matching.evalset import EvalSet
from agency_adapters.matching.roles import birth_range_for
from bench.traps_corrupt import (
    day_month_swapped,
    keying_typo,
    nhs_one_digit_variants,
    ocr_error,
    one_body_digit_apart,
    one_dob_digit,
    phonetic_error,
)
from bench.traps_names import NICKNAMES, NameBook
from bench.traps_people import Person, PopulationBuilder
from mash.clock import london_today
from mash.vocab import MatchBand, SubjectRole

RECORD_COLUMNS = ("record_id", "given_name", "family_name", "date_of_birth", "postcode",
                  "address_line", "sex", "nhs_number")
QUERY_COLUMNS = ("query_id", "given_name", "family_name", "date_of_birth", "postcode",
                 "address_line", "sex", "nhs_number", "role")
TRUTH_COLUMNS = ("query_id", "record_id", "corruptions", "trap", "relative_record_id",
                 "household_record_id", "nhs")
HELD_SHARE = 0.8          # of the population, the share the store holds
NOT_HELD_QUERIES = 0.15
#: Trap kinds and their share of all queries; a kind short of cases (a small store holds
#: few twins) gives way to ordinary queries of the same side (held / not held).
NOT_HELD_TRAPS = {"twin_not_held": 0.025, "twin_not_held_with_cotwins_nhs": 0.01,
                  "parent_not_held_childs_name": 0.02, "child_not_held_parents_name": 0.01,
                  "sibling_not_held": 0.025, "sibling_not_held_with_siblings_nhs": 0.01}
HELD_TRAPS = {"twin_both_held": 0.03, "nhs_typo_is_held_siblings": 0.01}
#: FEBRL-style errors of a query of someone held, by how often they are drawn, and the
#: fields each takes (one error per field).
ERRORS = {
    "given_typo": (10, "g"), "family_typo": (10, "f"), "given_ocr": (4, "g"),
    "family_ocr": (4, "f"), "given_phonetic": (5, "g"), "family_phonetic": (5, "f"),
    "names_swapped": (5, "gf"), "nickname": (5, "g"), "given_initial": (3, "g"),
    "given_missing": (3, "g"), "surname_change": (4, "f"), "surname_hyphenated": (2, "f"),
    "dob_day_month_swapped": (5, "d"), "dob_one_digit": (6, "d"), "dob_missing": (4, "d"),
    "postcode_missing": (4, "p"), "moved_same_sector": (3, "p"),
    "moved_same_district": (3, "p"), "moved_elsewhere": (4, "p"), "nhs_one_digit": (4, "n"),
}
ERROR_COUNTS = ((0, 15), (1, 45), (2, 28), (3, 12))


@dataclass(frozen=True)
class TrapSet:
    """Where the files are (the `EvalSet`) and the population they were drawn from."""

    evalset: EvalSet
    people: list[Person]
    held: dict[str, list[str]]  # pid -> record ids


def referral_role(p: Person, today: date) -> SubjectRole:
    """The role a MASH referral would give `p` on `today`.

    Anyone under 18 is a child; an adult of a household with children is their parent or
    carer; anyone else of such a household (a son or daughter of 18 or more) a household
    member; an adult of a household without children an adult at risk.
    """
    children_born = birth_range_for(SubjectRole.CHILD, today)  # as the adapter bounds a child
    if children_born is not None and p.dob.isoformat() >= children_born[0]:
        return SubjectRole.CHILD
    if p.parent:
        return SubjectRole.PARENT_CARER
    return SubjectRole.HOUSEHOLD_MEMBER if p.child else SubjectRole.ADULT_AT_RISK


def _fields(p: Person) -> dict[str, str]:
    return {"given_name": p.given, "family_name": p.family,
            "date_of_birth": p.dob.isoformat(), "postcode": p.postcode,
            "address_line": p.address, "sex": p.sex, "nhs_number": p.nhs}


class _Maker:
    def __init__(self, people: int, queries: int, seed: int, today: date) -> None:
        self.rng = random.Random(f"traps:{seed}:{people}:{queries}")
        self.book = NameBook(seed)
        self.today = today
        self.pop = PopulationBuilder(self.rng, self.book, today, round(people / HELD_SHARE))
        self.n_queries = queries
        chosen = self.rng.sample(self.pop.people, min(people, len(self.pop.people)))
        self.held_people = sorted(chosen, key=lambda p: p.pid)
        self.held: dict[str, list[str]] = {}
        self.records: list[dict[str, str]] = []
        self._by_rid: dict[str, dict[str, str]] = {}
        self.households: dict[int, list[Person]] = {}
        for p in self.pop.people:
            self.households.setdefault(p.household, []).append(p)

    # -- the store -----------------------------------------------------------------------
    def build_store(self) -> None:
        rng = self.rng
        rows: list[tuple[str, dict[str, str]]] = []
        for p in self.held_people:
            rec = _fields(p)
            if rng.random() < 0.25:
                rec["nhs_number"] = ""
            if rng.random() < 0.02:
                rec["postcode"] = ""
            if rng.random() < 0.03:
                rec["sex"] = ""
            rows.append((p.pid, rec))
            if rng.random() < 0.05:
                rows.append((p.pid, self._duplicate(p, rec)))
        rng.shuffle(rows)
        for n, (pid, rec) in enumerate(rows, 1):
            rid = f"R{n:07d}"
            self.held.setdefault(pid, []).append(rid)
            self.records.append({"record_id": rid, **rec})
            self._by_rid[rid] = self.records[-1]

    def _duplicate(self, p: Person, first: dict[str, str]) -> dict[str, str]:
        rng = self.rng
        dup = dict(first)
        how = rng.choice(("old_address", "typo", "nickname", "dob_swapped", "dob_missing"))
        if how == "old_address":
            dup["postcode"] = self.pop.places.moved(p.postcode, rng.choice(("sector",
                                                                          "elsewhere")))
            dup["address_line"] = self.pop.places.address(dup["postcode"])
        elif how == "nickname" and p.given.lower() in NICKNAMES:
            dup["given_name"] = rng.choice(NICKNAMES[p.given.lower()])
        elif how == "dob_swapped" and day_month_swapped(p.dob):
            dup["date_of_birth"] = str(day_month_swapped(p.dob))
        elif how == "dob_missing":
            dup["date_of_birth"] = ""
        else:
            dup["family_name"] = keying_typo(rng, p.family) or p.family
        dup["nhs_number"] = p.nhs if rng.random() < 0.5 else ""
        return dup

    # -- queries -------------------------------------------------------------------------
    def _base_query(self, p: Person) -> dict[str, str]:
        q = {**_fields(p), "role": referral_role(p, self.today).value}
        if self.rng.random() >= 0.65:  # a referrer often does not know the NHS number
            q["nhs_number"] = ""
        if self.rng.random() < 0.2:
            q["given_name"], q["family_name"] = q["given_name"].upper(), q["family_name"].upper()
        return q

    def _apply(self, kind: str, q: dict[str, str], p: Person) -> bool:
        """Corrupt `q` with error `kind` in place; False when the error cannot apply."""
        rng, g, f = self.rng, q["given_name"], q["family_name"]
        new: str | None
        edit: Callable[[random.Random, str], str | None]
        if kind.endswith(("_typo", "_ocr", "_phonetic")):
            key = "given_name" if kind.startswith("given") else "family_name"
            edit = {"typo": keying_typo, "ocr": ocr_error,
                    "phonetic": phonetic_error}[kind.split("_")[1]]
            new = edit(rng, q[key])
            if new is None:
                return False
            q[key] = new
        elif kind == "names_swapped":
            if g.lower() == f.lower():
                return False
            q["given_name"], q["family_name"] = f, g
        elif kind == "nickname":
            nicks = NICKNAMES.get(g.lower())
            if not nicks:
                return False
            q["given_name"] = rng.choice(nicks)
        elif kind == "given_initial":
            q["given_name"] = g[:1]
        elif kind == "given_missing":
            q["given_name"] = ""
        elif kind == "surname_change":
            if not p.adult:
                return False
            q["family_name"] = self.book.surname(rng)
            return q["family_name"].lower() != f.lower()
        elif kind == "surname_hyphenated":
            other = self.book.surname(rng)
            if other.lower() == f.lower() or "-" in f:
                return False
            q["family_name"] = f"{f}-{other}" if rng.random() < 0.5 else f"{other}-{f}"
        elif kind.startswith("dob_"):
            return self._dob_error(kind, q, p)
        elif kind == "postcode_missing":
            q["postcode"] = ""
        elif kind.startswith("moved_"):
            q["postcode"] = self.pop.places.moved(p.postcode, kind.split("_")[-1])
            q["address_line"] = self.pop.places.address(q["postcode"])
        elif kind == "nhs_one_digit":
            if not q["nhs_number"]:
                return False
            free = [n for n in nhs_one_digit_variants(q["nhs_number"])
                    if n not in self.pop.numbers]
            if not free:
                return False
            q["nhs_number"] = rng.choice(free)
        return True

    def _dob_error(self, kind: str, q: dict[str, str], p: Person) -> bool:
        if kind == "dob_missing":
            q["date_of_birth"] = ""
            return True
        new = (day_month_swapped(p.dob) if kind == "dob_day_month_swapped"
               else one_dob_digit(self.rng, p.dob, self.today))
        if new is None:
            return False
        q["date_of_birth"] = new.isoformat()
        return True

    def corrupted(self, p: Person) -> tuple[dict[str, str], list[str]]:
        """A query of `p` with 0-3 errors on different fields, and their labels."""
        q = self._base_query(p)
        n = self.rng.choices([k for k, _ in ERROR_COUNTS], [w for _, w in ERROR_COUNTS])[0]
        kinds, weights = list(ERRORS), [w for w, _ in ERRORS.values()]
        labels: list[str] = []
        used: set[str] = set()
        for _ in range(40):
            if len(labels) >= n:
                break
            kind = self.rng.choices(kinds, weights)[0]
            fields = set(ERRORS[kind][1])
            if fields & used or not self._apply(kind, q, p):
                continue
            used |= fields
            labels.append(kind)
        return q, sorted(labels)

    # -- trap pools ----------------------------------------------------------------------
    def pools(self) -> dict[str, list[tuple[Person, Person]]]:
        """(queried person, held relative) pairs for each trap kind."""
        by = self.pop.by_pid
        held = self.held
        pairs: dict[str, list[tuple[Person, Person]]] = {k: [] for k in
                                                          (*NOT_HELD_TRAPS, *HELD_TRAPS)}
        for p in self.pop.people:
            mine = p.pid in held
            if p.twin and p.twin in held:
                pairs["twin_both_held" if mine else "twin_not_held"].append((p, by[p.twin]))
            if p.namesake and p.namesake in held and not mine:
                other = by[p.namesake]
                kind = ("parent_not_held_childs_name" if other.dob > p.dob
                        else "child_not_held_parents_name")
                pairs[kind].append((p, other))
            for s in p.siblings:
                sib = by[s]
                if s not in held:
                    continue
                if not mine and not (p.twin and p.twin in held):  # a twin is a twin trap
                    pairs["sibling_not_held"].append((p, sib))
                elif mine and one_body_digit_apart(sib.nhs, p.nhs) \
                        and self._record_has_nhs(sib):
                    pairs["nhs_typo_is_held_siblings"].append((p, sib))
        for v in pairs.values():
            self.rng.shuffle(v)
        # the with-a-relative's-number kinds take every third case of the plain kinds
        for plain, with_nhs in (("twin_not_held", "twin_not_held_with_cotwins_nhs"),
                                ("sibling_not_held", "sibling_not_held_with_siblings_nhs")):
            pairs[with_nhs], pairs[plain] = pairs[plain][::3], [
                x for i, x in enumerate(pairs[plain]) if i % 3]
        return pairs

    def _record_has_nhs(self, p: Person) -> bool:
        return any(r["nhs_number"] for r in self._records_of(p))

    def _records_of(self, p: Person) -> list[dict[str, str]]:
        return [self._by_rid[i] for i in self.held.get(p.pid, ())]

    def make_queries(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """QUERIES.csv and TRUTH.csv rows, shuffled."""
        rng, n = self.rng, self.n_queries
        pools = self.pools()
        used: set[str] = set()
        items: list[tuple[dict[str, str], dict[str, str]]] = []
        n_not_held = round(n * NOT_HELD_QUERIES)
        for kinds, total in ((NOT_HELD_TRAPS, n_not_held), (HELD_TRAPS, n - n_not_held)):
            made = 0
            for kind, share in kinds.items():
                of_kind = 0
                for p, rel in pools[kind]:
                    if made >= total or of_kind >= round(n * share):
                        break
                    if p.pid in used:
                        continue
                    used.add(p.pid)
                    items.append(self._trap_query(kind, p, rel))
                    made += 1
                    of_kind += 1
            plain = self._plain_pool(kinds is NOT_HELD_TRAPS, used)
            for i in range(total - made):
                p = plain[i % len(plain)] if kinds is NOT_HELD_TRAPS else rng.choice(plain)
                items.append(self._ordinary(p))
        rng.shuffle(items)
        queries, truth = [], []
        for i, (q, t) in enumerate(items, 1):
            qid = f"T{i:07d}"
            queries.append({"query_id": qid, **q})
            truth.append({"query_id": qid, **t})
        return queries, truth

    def _plain_pool(self, not_held: bool, used: set[str]) -> list[Person]:
        if not_held:
            pool = [p for p in self.pop.people if p.pid not in self.held and p.pid not in used]
            self.rng.shuffle(pool)
            return pool
        return self.held_people

    def _truth(self, p: Person, q: dict[str, str], labels: list[str], trap: str,
               rel: Person | None) -> dict[str, str]:
        recs = self._records_of(p)
        on_record = bool(recs and recs[0]["nhs_number"])
        side = {(True, True): "both", (True, False): "query", (False, True): "record",
                (False, False): "neither"}[(bool(q["nhs_number"]), on_record)]
        home = [r for o in self.households[p.household] if o is not p
                for r in self.held.get(o.pid, [])]
        return {"record_id": "|".join(self.held.get(p.pid, [])), "corruptions": "+".join(labels),
                "trap": trap, "relative_record_id": "|".join(self.held.get(rel.pid, []))
                if rel else "", "household_record_id": "|".join(home), "nhs": side}

    def _ordinary(self, p: Person) -> tuple[dict[str, str], dict[str, str]]:
        if p.pid in self.held:
            q, labels = self.corrupted(p)
            return q, self._truth(p, q, labels, "", None)
        q = self._base_query(p)
        return q, self._truth(p, q, [], "not_held", None)

    def _trap_query(self, kind: str, p: Person,
                    rel: Person) -> tuple[dict[str, str], dict[str, str]]:
        if kind == "twin_both_held":
            q, labels = self.corrupted(p)
        else:
            q, labels = self._base_query(p), []
        if kind.endswith(("_with_cotwins_nhs", "_with_siblings_nhs")):
            q["nhs_number"] = rel.nhs
        elif kind == "nhs_typo_is_held_siblings":
            q["nhs_number"], labels = rel.nhs, ["nhs_siblings_number"]
        return q, self._truth(p, q, labels, kind, rel)


def _write(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


def make_trapset(out_dir: Path, *, people: int = 10_000, queries: int = 2_000, seed: int = 7,
                 today: date | None = None) -> TrapSet:
    """Write RECORDS.csv, QUERIES.csv and TRUTH.csv for a store of `people` into `out_dir`."""
    if people < 50 or queries < 1:
        raise ValueError("the trap set needs at least 50 people and one query")
    maker = _Maker(people, queries, seed, today or london_today())
    maker.build_store()
    qrows, trows = maker.make_queries()
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / "RECORDS.csv", RECORD_COLUMNS, maker.records)
    _write(out_dir / "QUERIES.csv", QUERY_COLUMNS, qrows)
    _write(out_dir / "TRUTH.csv", TRUTH_COLUMNS, trows)
    es = EvalSet(out_dir / "RECORDS.csv", out_dir / "QUERIES.csv", out_dir / "TRUTH.csv",
                 len(maker.records), len(qrows), sum(1 for t in trows if not t["record_id"]),
                 maker.today)
    return TrapSet(es, maker.pop.people, maker.held)


def make_evalset(out_dir: Path, *, people: int = 10_000, queries: int = 2_000,
                 seed: int = 7, today: date | None = None) -> EvalSet:
    """The trap set's files (`make_trapset` without the population)."""
    return make_trapset(out_dir, people=people, queries=queries, seed=seed,
                        today=today).evalset


SURE = (MatchBand.CERTAIN, MatchBand.HIGH)


def trap_table(results: dict[str, tuple[str, float, MatchBand]],
               truth_csv: Path) -> dict[str, Counter[str]]:
    """Per trap kind: queries, sure answers (right / someone of the household / someone
    else), possible, none. For a person not held every sure answer is wrong. Ordinary
    queries of people held are the row `held_no_trap`."""
    table: dict[str, Counter[str]] = {}
    with truth_csv.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            kind = row["trap"] or "held_no_trap"
            rid, _score, band = results.get(row["query_id"], ("", 0.0, MatchBand.NONE))
            c = table.setdefault(kind, Counter())
            c["queries"] += 1
            if band in SURE:
                who = ("right" if rid in row["record_id"].split("|") else
                       "household" if rid in row["household_record_id"].split("|") else "other")
                c[f"sure_{who}"] += 1
            else:
                c[band.value] += 1
    return table


def print_trap_table(table: dict[str, Counter[str]]) -> None:
    """The trap table as match_eval prints it."""
    print("traps: queries / sure right / sure to one of the household (wrong) / sure to "
          "another (wrong) / possible / none")
    for kind in (*HELD_TRAPS, *NOT_HELD_TRAPS, "not_held", "held_no_trap"):
        c = table.get(kind)
        if c:
            print(f"  {kind:<36}{c['queries']:>6}{c['sure_right']:>6}{c['sure_household']:>6}"
                  f"{c['sure_other']:>6}{c['possible']:>6}{c['none']:>6}")
