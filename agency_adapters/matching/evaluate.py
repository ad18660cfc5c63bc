"""`mash match eval`: run the real matcher over CSV files, and score its answers against truth.

RECORDS.csv: record_id, given_name, family_name, date_of_birth, postcode, address_line, sex,
nhs_number. QUERIES.csv: query_id, given_name, family_name, date_of_birth, postcode,
nhs_number, and optionally address_line, sex and role -- the subject's role in the referral
(`child`, `parent_carer`, `adult_at_risk`, `household_member`; empty: none given). A query
without a date of birth but with a role is bounded to the ages the role allows on the
evaluation's reference date (`as_of`), as the adapter bounds a referral (`roles.py`); any
other role value is an error. RESULTS.csv: query_id, record_id, score, band -- the best
candidate, with an empty record_id and band `none` when nothing matches. Any column but the
ids may be empty; extra columns are ignored. TRUTH.csv: query_id, record_id -- the right
record, or several (`|`-separated) when the store holds the person more than once.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching.matcher import DEFAULT, MatchThresholds, decide, rank_candidates
from agency_adapters.matching.model import MatchModel
from agency_adapters.matching.roles import bounded_by_role
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter
from mash.vocab import MatchBand, SubjectRole

RESULT_COLUMNS = ("query_id", "record_id", "score", "band")
_BATCH = 50_000


class EvaluationInputError(Exception):
    """An input CSV lacks a required column, a row lacks its id, or a value is not known."""


def _numbered_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise EvaluationInputError(f"{path.name}: missing column(s) {', '.join(missing)}")
        for n, row in enumerate(reader, 2):
            if not (row.get(required[0]) or "").strip():
                raise EvaluationInputError(f"{path.name} line {n}: empty {required[0]}")
            yield n, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[dict[str, str]]:
    return (row for _n, row in _numbered_rows(path, required))


def build_store_from_csv(records_csv: Path, store_path: Path) -> tuple[int, float]:
    """Build an agency store from RECORDS.csv (record_id becomes person_id): (rows, seconds)."""
    t0 = time.perf_counter()
    with StoreWriter(store_path, "evaluation", meta={"source": records_csv.name}) as w:
        batch: list[Person] = []
        for row in _rows(records_csv, ("record_id",)):
            batch.append(Person(
                person_id=row["record_id"], given_name=row.get("given_name", ""),
                family_name=row.get("family_name", ""),
                date_of_birth=row.get("date_of_birth") or None,
                sex=row.get("sex") or "unknown", postcode=row.get("postcode", ""),
                address=row.get("address_line", ""), nhs_number=row.get("nhs_number", ""),
                linked_to=row.get("linked_to", "")))
            if len(batch) >= _BATCH:
                w.add_people(batch)
                batch = []
        w.add_people(batch)
        n = w.people
    return n, time.perf_counter() - t0


def _role(row: dict[str, str], where: str, as_of: date | None) -> SubjectRole | None:
    """The row's `role` (None when empty); an unknown value, or a role without a reference
    date to bound ages by, is an error rather than a query matched without its bound."""
    value = row.get("role", "")
    if not value:
        return None
    try:
        role = SubjectRole(value)
    except ValueError:
        known = ", ".join(r.value for r in SubjectRole)
        raise EvaluationInputError(
            f"{where}: unknown role {value!r} (one of {known}, or empty)") from None
    if as_of is None:
        raise EvaluationInputError(
            f"{where}: role {value!r} needs the evaluation's reference date (as_of)")
    return role


def _query(row: dict[str, str], where: str = "", as_of: date | None = None) -> QueryIdentifiers:
    ids = QueryIdentifiers(given_name=row.get("given_name", ""),
                           family_name=row.get("family_name", ""),
                           date_of_birth=row.get("date_of_birth") or None,
                           postcode=row.get("postcode", ""),
                           address=row.get("address_line", ""),
                           nhs_number=row.get("nhs_number", ""),
                           sex=row.get("sex", ""))
    role = _role(row, where, as_of)
    return ids if role is None or as_of is None else bounded_by_role(ids, role, as_of)


def _queries(queries_csv: Path, as_of: date | None) -> list[tuple[str, QueryIdentifiers]]:
    """Every (query_id, identifiers) of a QUERIES.csv, all read (and checked) before any
    is matched: a bad line stops the run before a store is built or RESULTS.csv written."""
    return [(row["query_id"], _query(row, f"{queries_csv.name} line {n}", as_of))
            for n, row in _numbered_rows(queries_csv, ("query_id",))]


def read_queries(queries_csv: Path, as_of: date | None = None) -> list[QueryIdentifiers]:
    """The queries of a QUERIES.csv, in file order (roles bounded as of `as_of`)."""
    return [q for _qid, q in _queries(queries_csv, as_of)]


@dataclass(frozen=True)
class EvalRun:
    """The matcher's answers and how long each took."""

    results: dict[str, tuple[str, float, MatchBand]]  # query_id -> (record_id, score, band)
    latencies_ms: list[float]      # wall-clock time per query
    cpu_ms: list[float]            # this thread's CPU time per query (robust to a busy machine)
    store_rows: int
    build_seconds: float           # 0.0 when an already built store was reused
    store_reused: bool = False
    train_seconds: float | None = None   # None when the shipped model was used
    model: MatchModel | None = None      # the trained model (None: shipped weights)


def run_eval(records_csv: Path, queries_csv: Path, out_csv: Path, *, work_dir: Path,
             thresholds: MatchThresholds = DEFAULT, reuse_store: bool = False,
             train: bool = False, model: MatchModel | None = None,
             as_of: date | None = None) -> EvalRun:
    """Build a store from RECORDS.csv, match every query, write RESULTS.csv.

    `reuse_store`: match against `work_dir`'s store as it is, if one is there (the caller
    vouches that it was built from this RECORDS.csv by the current code). `train`: learn a
    match model from the store's own records first (timed) and match with it; `model`:
    match with this model instead (None and no `train`: the shipped weights). `as_of`: the
    day the queries' roles are judged on (the day the set's dates describe); a query with
    a role and no `as_of` is an `EvaluationInputError`.
    """
    queries = _queries(queries_csv, as_of)
    store_path = work_dir / "eval-store.sqlite"
    reused = reuse_store and store_path.is_file()
    if reused:
        rows, build_s = 0, 0.0
    else:
        rows, build_s = build_store_from_csv(records_csv, store_path)
    store = SqliteAgencyStore(store_path)
    if reused:
        rows = store.count_people()
    train_s: float | None = None
    if train:
        from agency_adapters.matching.training import train as train_model

        report = train_model(store)
        model, train_s = report.model, report.seconds
    results: dict[str, tuple[str, float, MatchBand]] = {}
    latencies: list[float] = []
    cpu: list[float] = []
    try:
        with out_csv.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(RESULT_COLUMNS)
            for qid, q in queries:
                t0, c0 = time.perf_counter(), time.thread_time()
                freq = store.name_frequencies()
                people = store.candidates(q)
                scored = rank_candidates(q, people, thresholds, freq, model)
                result = decide(q, scored, thresholds, frequencies=freq, model=model,
                                considered=len(people))
                latencies.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.thread_time() - c0) * 1000)
                # The evaluation reports the best candidate even in band `possible`, which the
                # adapter never discloses: that is what precision of `possible` is measured on.
                rid = scored[0][1].person_id if result.band is not MatchBand.NONE else ""
                results[qid] = (rid, result.score, result.band)
                w.writerow((qid, rid, f"{result.score:.2f}", result.band.value))
    finally:
        store.close()
    return EvalRun(results, latencies, cpu, rows, build_s, reused, train_s, model)


@dataclass
class BandStats:
    """Counts for one band: answers, and how many named the right record."""

    answers: int = 0
    correct: int = 0

    @property
    def precision(self) -> float:
        """Share of answers in the band that named the right record (1.0 when empty)."""
        return self.correct / self.answers if self.answers else 1.0


@dataclass
class Metrics:
    """Precision per band, and cumulative recall/F1 for the sure and the possible bands."""

    known: int = 0
    unknown: int = 0
    bands: dict[str, BandStats] = field(default_factory=dict)
    unknown_answered_sure: int = 0  # people the agency does not hold, answered certain/high

    def cumulative(self, bands: Iterable[MatchBand]) -> tuple[float, float, float]:
        """(precision, recall, F1) counting answers in `bands` as positive."""
        names = [b.value for b in bands]
        answers = sum(self.bands.get(b, BandStats()).answers for b in names)
        correct = sum(self.bands.get(b, BandStats()).correct for b in names)
        p = correct / answers if answers else 1.0
        r = correct / self.known if self.known else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f1


def score_results(results: dict[str, tuple[str, float, MatchBand]], truth_csv: Path) -> Metrics:
    """Compare answers with TRUTH.csv (query_id, record_id; empty record_id = not held)."""
    m = Metrics()
    for row in _rows(truth_csv, ("query_id", "record_id")):
        truth = row["record_id"]
        right = set(truth.split("|")) if truth else set()
        rid, _score, band = results.get(row["query_id"], ("", 0.0, MatchBand.NONE))
        if truth:
            m.known += 1
        else:
            m.unknown += 1
        stats = m.bands.setdefault(band.value, BandStats())
        stats.answers += 1
        if band is not MatchBand.NONE and rid in right:
            stats.correct += 1
        if band is MatchBand.NONE and not truth:
            stats.correct += 1
        if not truth and band in (MatchBand.CERTAIN, MatchBand.HIGH):
            m.unknown_answered_sure += 1
    return m
