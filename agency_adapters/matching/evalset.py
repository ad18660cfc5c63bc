"""A labelled evaluation set for the matcher, with a realistic error model.

RECORDS.csv is one agency's view of a synthetic population (about 80% of the
people, each with the agency's own data-quality errors). QUERIES.csv holds
referrals as a referrer would know the person: mostly clean, sometimes with one
or more supported corruptions (nickname, typo, day/month swap, a DOB slip,
a changed or double-barrelled surname, a stale or missing postcode, an NHS
number only now and then), and about 15% for people the agency does not hold --
many of them siblings, twins and parents of people it does hold, which is where
a wrong-person match would come from. Each query gives the role a referral would give its
subject (`referral_role`), which `mash match eval --as-of` the set's day (`EVAL_AS_OF`) turns
into the adapter's age bound. TRUTH.csv says which record each query is.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from agency_adapters.matching.roles import birth_range_for
from agency_adapters.seed import errors
from agency_adapters.seed.names import build_pools
from agency_adapters.seed.population import Citizen, Household, Population, generate_population
from agency_adapters.seed.project import QualityProfile, project
from mash.vocab import SubjectRole

#: The day an evaluation population describes. Fixed, unlike the demo data's: an evaluation set
#: must be the same for a seed on any day, so figures from different days compare; matching
#: compares dates of birth with each other, never with today, so the day itself does not matter.
EVAL_AS_OF = date(2026, 11, 2)

RECORD_COLUMNS = ("record_id", "given_name", "family_name", "date_of_birth", "postcode",
                  "address_line", "sex", "nhs_number")
QUERY_COLUMNS = ("query_id", "given_name", "family_name", "date_of_birth", "postcode",
                 "nhs_number", "role")
TRUTH_COLUMNS = ("query_id", "record_id", "corruptions")

#: An agency of middling data quality (between health and police).
EVAL_QUALITY = QualityProfile(nhs_held=0.6, nickname=0.06, typo_given=0.02, typo_family=0.02,
                              dob_swap=0.01, dob_slip=0.01, dob_missing=0.02, stale_address=0.4,
                              previous_surname=0.05, barrel_dropped=0.15, middle_names_kept=0.3,
                              other_names_kept=0.0, sex_missing=0.02)

#: Supported query corruptions and their relative frequency among corrupted fields.
CORRUPTIONS: dict[str, float] = {
    "nickname": 18, "typo_given": 10, "typo_family": 12, "dob_swap": 8, "dob_slip": 8,
    "dob_missing": 5, "surname_change": 8, "barrel": 5, "stale_postcode": 15,
    "postcode_missing": 6, "given_family_order": 3, "middle_as_first": 2,
}
#: How many corruptions a query carries (0..3).
CORRUPTION_COUNTS = ((0, 0.5), (1, 0.33), (2, 0.13), (3, 0.04))


@dataclass(frozen=True)
class EvalSet:
    """Where the generated files are, and how many rows each has."""

    records: Path
    queries: Path
    truth: Path
    n_records: int
    n_queries: int
    n_unknown: int
    #: The day the set's dates describe: the evaluation judges the queries' roles on it
    #: (None: a set without roles).
    as_of: date | None = None


def corrupt_query(rng: random.Random, c: Citizen, h: Household, kind: str,
                  q: dict[str, str]) -> bool:
    """Apply corruption `kind` to query fields `q` in place; False if it does not apply."""
    if kind == "nickname":
        nick = errors.nickname(rng, q["given_name"])
        if nick is None:
            return False
        q["given_name"] = nick
    elif kind == "typo_given":
        q["given_name"] = errors.typo(rng, q["given_name"])
    elif kind == "typo_family":
        q["family_name"] = errors.typo(rng, q["family_name"])
    elif kind == "dob_swap":
        sw = errors.swap_day_month(c.date_of_birth)
        if sw is None or not q["date_of_birth"]:
            return False
        q["date_of_birth"] = sw.isoformat()
    elif kind == "dob_slip":
        if not q["date_of_birth"]:
            return False
        q["date_of_birth"] = errors.slip_dob(rng, c.date_of_birth).isoformat()
    elif kind == "dob_missing":
        q["date_of_birth"] = ""
    elif kind == "surname_change":
        if not c.previous_family_name:
            return False
        q["family_name"] = c.previous_family_name
    elif kind == "barrel":
        if "-" not in c.family_name:
            return False
        q["family_name"] = errors.drop_barrel(rng, c.family_name)
    elif kind == "stale_postcode":
        if h.previous_address is None:
            return False
        q["postcode"] = h.previous_address.postcode
    elif kind == "postcode_missing":
        q["postcode"] = ""
    elif kind == "given_family_order":
        q["given_name"], q["family_name"] = q["family_name"], q["given_name"]
    elif kind == "middle_as_first":
        if not c.middle_name:
            return False
        q["given_name"] = c.middle_name
    else:  # pragma: no cover - CORRUPTIONS is the closed list
        raise ValueError(kind)
    return True


def referral_role(c: Citizen, h: Household, pop: Population) -> SubjectRole:
    """The role a MASH referral would give `c`: anyone under 18 a child; a parent of a
    household with children their parent or carer; anyone else of such a household a
    household member; an adult of a household without children an adult at risk."""
    children_born = birth_range_for(SubjectRole.CHILD, pop.as_of)  # as the adapter bounds it
    if children_born is not None and c.date_of_birth.isoformat() >= children_born[0]:
        return SubjectRole.CHILD
    with_children = any(pop.citizens[m].role == "child" for m in h.members)
    if not with_children:
        return SubjectRole.ADULT_AT_RISK
    return SubjectRole.PARENT_CARER if c.role == "parent" else SubjectRole.HOUSEHOLD_MEMBER


def _query_for(rng: random.Random, c: Citizen, h: Household) -> tuple[dict[str, str], list[str]]:
    q = {"given_name": c.given_name, "family_name": c.family_name,
         "date_of_birth": c.date_of_birth.isoformat(), "postcode": h.address.postcode,
         "nhs_number": c.nhs_number if rng.random() < 0.2 else ""}
    n = rng.choices([k for k, _ in CORRUPTION_COUNTS], weights=[w for _, w in CORRUPTION_COUNTS])[0]
    applied: list[str] = []
    kinds = list(CORRUPTIONS)
    weights = list(CORRUPTIONS.values())
    for _ in range(20):
        if len(applied) >= n:
            break
        kind = rng.choices(kinds, weights=weights)[0]
        if kind not in applied and corrupt_query(rng, c, h, kind, q):
            applied.append(kind)
    return q, applied


def _write(path: Path, columns: tuple[str, ...], rows: Iterator[dict[str, str]]) -> int:
    n = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for row in rows:
            w.writerow(row)
            n += 1
    return n


def generate_evalset(out_dir: Path, *, people: int = 10_000, queries: int = 2_000,
                     seed: int = 7, unknown_share: float = 0.15, coverage: float = 0.8,
                     as_of: date = EVAL_AS_OF) -> EvalSet:
    """Write RECORDS.csv, QUERIES.csv and TRUTH.csv for a population of `people` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}:evalset")
    pop = generate_population(random.Random(f"{seed}:population"), people, build_pools(seed),
                              as_of)
    held: dict[int, str] = {}
    for c in pop.citizens:
        if rng.random() < coverage:
            held[c.cid] = f"R{len(held) + 1:08d}"

    def record_rows() -> Iterator[dict[str, str]]:
        for cid, rid in held.items():
            c = pop.citizens[cid]
            p = project(rng, c, pop.households[c.household], rid, EVAL_QUALITY)
            yield {"record_id": rid, "given_name": p.given_name, "family_name": p.family_name,
                   "date_of_birth": p.date_of_birth or "", "postcode": p.postcode,
                   "address_line": p.address, "sex": p.sex, "nhs_number": p.nhs_number}

    n_records = _write(out_dir / "RECORDS.csv", RECORD_COLUMNS, record_rows())
    known = list(held)
    # Unknown people are drawn from households the agency partly holds where possible
    # (siblings, twins, parents): the hardest negatives.
    households_held = {pop.citizens[c].household for c in held}
    near = [c.cid for c in pop.citizens if c.cid not in held and c.household in households_held]
    far = [c.cid for c in pop.citizens if c.cid not in held and c.household not in households_held]
    n_unknown = round(queries * unknown_share)
    picks = [(cid, True) for cid in rng.sample(known, min(len(known), queries - n_unknown))]
    unknown_pool = near + far
    picks += [(cid, False) for cid in rng.sample(unknown_pool, min(len(unknown_pool), n_unknown))]
    rng.shuffle(picks)
    truth: list[dict[str, str]] = []

    def query_rows() -> Iterator[dict[str, str]]:
        for i, (cid, is_known) in enumerate(picks, 1):
            c = pop.citizens[cid]
            h = pop.households[c.household]
            q, applied = _query_for(rng, c, h)
            qid = f"Q{i:07d}"
            truth.append({"query_id": qid, "record_id": held[cid] if is_known else "",
                          "corruptions": "+".join(applied)})
            yield {"query_id": qid, **q, "role": referral_role(c, h, pop).value}

    n_queries = _write(out_dir / "QUERIES.csv", QUERY_COLUMNS, query_rows())
    _write(out_dir / "TRUTH.csv", TRUTH_COLUMNS, iter(truth))
    return EvalSet(out_dir / "RECORDS.csv", out_dir / "QUERIES.csv", out_dir / "TRUTH.csv",
                   n_records, n_queries, sum(1 for _, k in picks if not k), as_of)
