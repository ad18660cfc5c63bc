"""Benchmark: per-query CPU and latency of an agency backend, against the SQLite demo store.

    mash bench adapter --backend sql|fhir|extract [--people N] [--queries N] [--json] [--work DIR]

One run builds the same synthetic people twice -- the SQLite demo store (the baseline),
and the backend measured: a PostgreSQL reporting warehouse started in a temporary folder
and read through the SQL backend (its mapping, its match-key table); a FHIR R4 server
process (`tests.fhir_server`, HTTPS on loopback, PDS-style search) serving the store and
read through the FHIR backend and the shipped template mapping; or the nightly extract
written from the store and read through the extract backend -- and sends the same queries
through each, one at a time, on an event loop, as the adapter does: every subject's
candidates through `view.candidates`, matching, then the sure match's records through
`view.records_for`. The people are health's projection of the population (health holds
nearly everyone, so N people in the population is about N in the store). Queries carry a
person's name, date of birth, sex and postcode, without NHS number or UPN (the common
referral).

Figures per backend: wall-clock latency per query (p50, p99); the time spent inside the
backend's own calls (the store's or the database driver's work, measured in the pool
thread; for FHIR, the wall time of its view's calls: HTTP round trips and the server's
work); the time added over that (hand-off to the pool thread, matching, our Python:
p50, p99); the CPU time of the event loop's thread per query (`added_cpu`: matching and
our Python, without the waiting that a loaded machine adds to wall-clock figures; for FHIR
it also holds the HTTP client's work, which runs on the loop), the matcher's share of it
(`matching_cpu`, the same candidates scored again outside the timing), what is left without
it, and the candidates per query; this process's CPU per query
(all threads); and the server's CPU per query (from /proc) for PostgreSQL and for the FHIR
server. Ratios are against the SQLite baseline of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from agency_adapters.backend import (
    AgencyBackend,
    AsyncAgencyBackend,
    Person,
    QueryIdentifiers,
    Record,
)
from agency_adapters.backend_threads import ThreadedBackend
from agency_adapters.matching import MatchThresholds, match_subjects_async
from agency_adapters.seed import seed_agencies
from agency_adapters.sqlite_store import SqliteAgencyStore
from bench.lookup import _percentile
from mash.clock import utc_now
from mash.grpc_server import tune_gc_for_serving
from mash.home import Home
from mash.vocab import AGENCY_CATEGORIES, Agency, Category

T = TypeVar("T")
AGENCY = Agency.HEALTH
SEED = 7


class _Timed:
    """A synchronous backend whose calls add their own duration to `spent` (pool thread)."""

    def __init__(self, inner: AgencyBackend) -> None:
        self.inner = inner
        self.spent = 0.0

    def _time(self, fn: Callable[[], T]) -> T:
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            self.spent += time.perf_counter() - t0

    def candidates(self, query: QueryIdentifiers) -> list[Person]:
        return self._time(lambda: self.inner.candidates(query))

    def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        return self._time(lambda: self.inner.records_for(person_id, categories))

    def name_frequencies(self) -> Any:
        freq = getattr(self.inner, "name_frequencies", None)
        return freq() if callable(freq) else None

    def close(self) -> None:
        self.inner.close()


class _TimedAsync:
    """An asynchronous backend (its own view) whose calls add their wall time to `spent`."""

    def __init__(self, inner: AsyncAgencyBackend) -> None:
        self.inner = inner
        self.spent = 0.0

    def view(self) -> _TimedAsync:
        return self

    async def candidates(self, query: QueryIdentifiers) -> list[Person]:
        t0 = time.perf_counter()
        try:
            return await self.inner.view().candidates(query)
        finally:
            self.spent += time.perf_counter() - t0

    async def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        t0 = time.perf_counter()
        try:
            return await self.inner.view().records_for(person_id, categories)
        finally:
            self.spent += time.perf_counter() - t0

    def name_frequencies(self) -> Any:
        return self.inner.view().name_frequencies()


@dataclass
class Figures:
    """One backend's figures over the run."""

    backend: str
    people: int
    queries: int = 0
    latency_ms: list[float] = field(default_factory=list)
    own_ms: list[float] = field(default_factory=list)
    #: CPU time of the event loop's thread per query: what the adapter adds, free of waiting
    loop_cpu_ms: list[float] = field(default_factory=list)
    #: the matcher's CPU per query (scoring and deciding on the same candidates)
    matching_cpu_ms: list[float] = field(default_factory=list)
    candidates: list[int] = field(default_factory=list)
    process_cpu_s: float = 0.0
    server_cpu_s: float | None = None
    #: the output name of the server's CPU per query
    server_label: str = "db_server_cpu_ms_per_query"
    answers: list[tuple[str, str | None, int]] = field(default_factory=list)

    def summary(self, baseline: Figures | None) -> dict[str, Any]:
        """The printed figures (ratios against `baseline` when given)."""
        lat = sorted(self.latency_ms)
        added = sorted(t - o for t, o in zip(self.latency_ms, self.own_ms, strict=True))
        cpu = 1000 * self.process_cpu_s / self.queries
        out: dict[str, Any] = {
            "store_people": self.people,
            "latency_p50_ms": round(_percentile(lat, 0.5), 3),
            "latency_p99_ms": round(_percentile(lat, 0.99), 3),
            "backend_own_p50_ms": round(statistics.median(self.own_ms), 3),
            "added_p50_ms": round(_percentile(added, 0.5), 3),
            "added_p99_ms": round(_percentile(added, 0.99), 3),
            "added_cpu_p50_ms": round(_percentile(sorted(self.loop_cpu_ms), 0.5), 3),
            "added_cpu_p99_ms": round(_percentile(sorted(self.loop_cpu_ms), 0.99), 3),
            "matching_cpu_p50_ms": round(_percentile(sorted(self.matching_cpu_ms), 0.5), 3),
            "matching_cpu_p99_ms": round(_percentile(sorted(self.matching_cpu_ms), 0.99), 3),
            "added_cpu_without_matching_p99_ms": round(_percentile(sorted(
                a - m for a, m in zip(self.loop_cpu_ms, self.matching_cpu_ms, strict=True)),
                0.99), 3),
            "candidates_p50": _percentile(sorted(self.candidates), 0.5),
            "candidates_p99": _percentile(sorted(self.candidates), 0.99),
            "process_cpu_ms_per_query": round(cpu, 3),
        }
        if self.server_cpu_s is not None:
            out[self.server_label] = round(1000 * self.server_cpu_s / self.queries, 3)
        if baseline is not None and baseline is not self:
            base_cpu = 1000 * baseline.process_cpu_s / baseline.queries
            out["latency_p50_vs_sqlite"] = round(
                _percentile(lat, 0.5) / _percentile(sorted(baseline.latency_ms), 0.5), 2)
            total = cpu + 1000 * (self.server_cpu_s or 0.0) / self.queries
            out["cpu_per_query_vs_sqlite"] = round(total / base_cpu, 2)
            same = sum(a == b for a, b in zip(self.answers, baseline.answers, strict=True))
            out["same_answer_as_sqlite"] = f"{same}/{self.queries}"
        return out


def _queries(store: SqliteAgencyStore, n: int) -> list[QueryIdentifiers]:
    rng = random.Random(f"{SEED}:bench-adapter-queries")
    people = [p for p in store.iter_people() if p.date_of_birth]
    picked = [people[rng.randrange(len(people))] for _ in range(n)]
    return [replace(QueryIdentifiers.of_person(p), nhs_number="", upn="") for p in picked]


async def _run(view_of: Callable[[], Any], timed: _Timed | _TimedAsync, queries: Sequence[QueryIdentifiers],
               categories: Sequence[Category], figures: Figures) -> None:
    thresholds = MatchThresholds()
    for q in queries:
        view = view_of()
        frequencies = view.name_frequencies()
        found: list[Person] = []

        async def candidates(query: QueryIdentifiers, view: Any = view,
                             found: list[Person] = found) -> list[Person]:
            found[:] = await view.candidates(query)
            return found

        timed.spent = 0.0
        c0 = time.thread_time()
        t0 = time.perf_counter()
        matches = await match_subjects_async(candidates, [("s", q)], thresholds, frequencies)
        m = matches["s"]
        records = await view.records_for(m.person_id, categories) if m.person_id else []
        figures.latency_ms.append(1000 * (time.perf_counter() - t0))
        figures.loop_cpu_ms.append(1000 * (time.thread_time() - c0))
        figures.own_ms.append(1000 * timed.spent)
        figures.answers.append((str(m.band), m.person_id, len(records)))
        # The matcher's share of that, scored again on the same candidates, outside the timing.
        c1 = time.thread_time()
        await match_subjects_async(_ready(list(found)), [("s", q)], thresholds, frequencies)
        figures.matching_cpu_ms.append(1000 * (time.thread_time() - c1))
        figures.candidates.append(len(found))


def _ready(people: list[Person]) -> Callable[[QueryIdentifiers], Awaitable[list[Person]]]:
    async def candidates(_query: QueryIdentifiers) -> list[Person]:
        return people
    return candidates


def _postgres_cpu_s(data_dir: Path) -> float:
    """CPU seconds used so far by the PostgreSQL server of `data_dir` (all its processes)."""
    pid_file = data_dir / "postmaster.pid"
    postmaster = int(pid_file.read_text().splitlines()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster or ppid == postmaster:
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / tick


def _process_cpu_s(pid: int) -> float:
    """CPU seconds used so far by process `pid` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(name: str, backend: AsyncAgencyBackend | _TimedAsync, timed: _Timed | _TimedAsync,
            people: int, queries: Sequence[QueryIdentifiers], categories: Sequence[Category],
            server_cpu: Callable[[], float] | None = None,
            server_label: str = "db_server_cpu_ms_per_query",
            aclose: Callable[[], Awaitable[None]] | None = None) -> Figures:
    """Warm up on the queries once, then measure them (then `aclose`, on the same loop)."""
    figures = Figures(name, people, server_label=server_label)

    async def both() -> None:
        await _run(backend.view, timed, queries, categories, Figures(name, people))  # warm-up
        tune_gc_for_serving()  # as `mash adapter serve` does once it is up
        cpu0, srv0 = time.process_time(), server_cpu() if server_cpu else 0.0
        await _run(backend.view, timed, queries, categories, figures)
        # less the matcher's second pass, which only measures
        figures.process_cpu_s = time.process_time() - cpu0 - sum(figures.matching_cpu_ms) / 1000
        if server_cpu:
            figures.server_cpu_s = server_cpu() - srv0
        if aclose is not None:  # an HTTP client's connections belong to this loop
            await aclose()

    asyncio.run(both())
    figures.queries = len(queries)
    return figures


def _threaded(inner: AgencyBackend) -> tuple[ThreadedBackend, _Timed]:
    timed = _Timed(inner)
    return ThreadedBackend(timed, threads=4), timed


def run(kind: str, people: int, queries: int, work: Path) -> dict[str, Any]:
    """Build the stores and measure; the figures as one mapping."""
    from mash.clock import london_today

    as_of: date = london_today()
    home = Home.at(work / "home")
    t0 = time.perf_counter()
    reused = _reuse_store(home, people, as_of)
    if not reused:
        seed_agencies(home.data_dir, seed=SEED, people=people, agencies=(AGENCY,), as_of=as_of)
        _stamp_store(home, people, as_of)
    store = SqliteAgencyStore(home.agency_store(AGENCY))
    built: dict[str, Any] = {"sqlite_store_s": "reused" if reused
                             else round(time.perf_counter() - t0, 1)}
    asked = _queries(store, queries)
    held = store.count_people()
    baseline_backend, baseline_timed = _threaded(store)
    categories = AGENCY_CATEGORIES[AGENCY]
    baseline = measure("sqlite", baseline_backend, baseline_timed, held, asked, categories)
    with ExitStack() as stack:
        if kind == "sql":
            figures, extra = _measure_sql(stack, work, people, as_of, asked)
        elif kind == "fhir":
            figures, extra = _measure_fhir(stack, work, home, held, asked, categories)
        else:
            figures, extra = _measure_extract(work, store, home, asked, categories)
        built.update(extra)
    asyncio.run(baseline_backend.aclose())
    return {
        "backend": kind,
        "population": people,
        "queries": queries,
        "build_s": built,
        "sqlite": baseline.summary(None),
        kind: figures.summary(baseline),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def _stamp_path(home: Home) -> Path:
    return home.data_dir / "bench-store.json"


def _stamp_store(home: Home, people: int, as_of: date) -> None:
    """Record what the store in `home` was built from, so a later run with `--work` reuses it."""
    _stamp_path(home).write_text(json.dumps({"people": people, "seed": SEED,
                                             "as_of": as_of.isoformat()}), encoding="utf-8")


def _reuse_store(home: Home, people: int, as_of: date) -> bool:
    """True when `home` holds the store this run would build (same size, seed and day)."""
    try:
        stamp = json.loads(_stamp_path(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (home.agency_store(AGENCY).exists()
            and stamp == {"people": people, "seed": SEED, "as_of": as_of.isoformat()})


def _measure_sql(stack: ExitStack, work: Path, people: int, as_of: date,
                 asked: Sequence[QueryIdentifiers]) -> tuple[Figures, dict[str, float]]:
    from agency_adapters.config import AdapterConfig
    from agency_adapters.sql.factory import open_backend
    from tests.pgserver import make_warehouse, postgres_server

    server = stack.enter_context(postgres_server())
    t0 = time.perf_counter()
    warehouse = make_warehouse(server, work / "warehouse", people=people, seed=SEED,
                               agency=AGENCY, as_of=as_of)
    built = {"warehouse_and_keys_s": round(time.perf_counter() - t0, 1)}
    csc = Agency.CHILDRENS_SOCIAL_CARE  # the warehouse's shape (and mapping) is social care's
    config = AdapterConfig(agency=csc, home=Home.at(work / "home"), store=work / "unused",
                           backend="sql", backend_timeout_ms=10_000, backend_threads=4)
    sql = open_backend(config, warehouse.backend_options())
    backend, timed = _threaded(sql)
    with sql.engine.connect() as conn:
        from sqlalchemy import text

        held = int(conn.execute(text("SELECT count(*) FROM social_care.people")).scalar_one())
    figures = measure("sql", backend, timed, held, asked, AGENCY_CATEGORIES[csc],
                      server_cpu=lambda: _postgres_cpu_s(server.root / "data"))
    asyncio.run(backend.aclose())
    return figures, built


def _measure_fhir(stack: ExitStack, work: Path, home: Home, held: int,
                  asked: Sequence[QueryIdentifiers], categories: Sequence[Category],
                  ) -> tuple[Figures, dict[str, float]]:
    from agency_adapters.config import AdapterConfig
    from agency_adapters.fhir.factory import open_backend

    t0 = time.perf_counter()
    server = stack.enter_context(_fhir_server(home.agency_store(AGENCY), work / "fhir"))
    built = {"fhir_server_started_s": round(time.perf_counter() - t0, 1)}
    template = Path(__file__).resolve().parents[1] / "agency_adapters/templates/fhir-mapping.toml"
    config = AdapterConfig(agency=AGENCY, home=home, store=work / "unused", backend="fhir",
                           backend_timeout_ms=10_000)
    fhir = open_backend(config, {"mapping": str(template), "base_url": server.base_url,
                                 "ca_file": str(server.ca_file), "timeout_s": 30, "retries": 0})
    timed = _TimedAsync(fhir)
    figures = measure("fhir", timed, timed, held, asked, categories,
                      server_cpu=lambda: _process_cpu_s(server.pid),
                      server_label="fhir_server_cpu_ms_per_query", aclose=fhir.aclose)
    return figures, built


@dataclass(frozen=True)
class _FhirProcess:
    base_url: str
    ca_file: Path
    pid: int


@contextlib.contextmanager
def _fhir_server(store: Path, folder: Path, timeout_s: float = 600) -> Iterator[_FhirProcess]:
    """`tests.fhir_server` serving `store`, as a process of its own (its CPU is its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    url_file = folder / "base-url"
    url_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fhir_server", "--store", str(store), "--tls",
         str(folder / "tls"), "--port-file", str(url_file)], stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        while not url_file.is_file() or not url_file.read_text().endswith("\n"):
            if process.poll() is not None:
                raise RuntimeError(f"the FHIR server exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the FHIR server did not start within {timeout_s:.0f}s")
            time.sleep(0.1)
        yield _FhirProcess(url_file.read_text().strip(), folder / "tls" / "ca.pem", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _measure_extract(work: Path, store: SqliteAgencyStore, home: Home,
                     asked: Sequence[QueryIdentifiers], categories: Sequence[Category],
                     ) -> tuple[Figures, dict[str, float]]:
    from agency_adapters.extract.backend import ExtractBackend
    from agency_adapters.extract.schema import ExtractSchema
    from agency_adapters.extract.template import schema_text, write_extract

    incoming = work / "incoming"
    t0 = time.perf_counter()
    write_extract(store, incoming, AGENCY, utc_now().isoformat(timespec="seconds"))
    schema_path = work / "extract-schema.toml"
    schema_path.write_text(schema_text(AGENCY))
    t1 = time.perf_counter()
    extract = ExtractBackend(str(AGENCY), ExtractSchema.load(schema_path, AGENCY), incoming,
                             work / "extract-work", threads=4)
    built = {"extract_written_s": round(t1 - t0, 1),
             "extract_validated_and_loaded_s": round(time.perf_counter() - t1, 1)}
    snapshot = extract.view()
    assert isinstance(snapshot, ThreadedBackend)
    # Time the snapshot store's own calls, in its pool thread, as for the baseline.
    timed = _Timed(snapshot.backend)
    snapshot.backend = timed
    figures = measure("extract", extract, timed, store.count_people(), asked, categories)
    asyncio.run(extract.aclose())
    return figures, built


def main(argv: list[str] | None = None) -> int:
    """Entry point (`mash bench adapter --backend sql|fhir|extract ...`)."""
    parser = argparse.ArgumentParser(prog="mash bench adapter --backend",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--backend", required=True, choices=("sql", "fhir", "extract"))
    parser.add_argument("--people", type=int, default=10_000, help="population size")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the stores here (default: a temporary folder); a later run "
                             "with the same --work and --people reuses the SQLite store")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from mash import logs

    logs.configure(json=False, level="error")
    with tempfile.TemporaryDirectory(prefix="mash-bench-backend-") as tmp:
        result = run(args.backend, args.people, args.queries, args.work or Path(tmp))
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"backend {args.backend}: population {args.people:,}, {args.queries:,} queries "
          f"(one at a time), load average {result['load_avg_1m']}")
    print(f"built: {result['build_s']}")
    for name in ("sqlite", args.backend):
        print(f"{name:>8}: " + ", ".join(f"{k} {v}" for k, v in result[name].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
