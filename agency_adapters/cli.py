"""`mash seed` and `mash match ...` (and, added by the adapter runtime, `mash adapter serve`).

Each command is registered by its own small function so that new commands are
added beside them without touching the others.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mash.clock import london_today, utc_now
from mash.command import HOME, Subparsers, typed
from mash.errors import UsageError
from mash.home import Home
from mash.vocab import Agency, parse


@dataclass(frozen=True)
class SeedArgs:
    """`mash seed`."""

    home: str | None
    seed: int
    people: int
    agency: list[str]
    as_of: date | None


@dataclass(frozen=True)
class WarehouseArgs:
    """`mash seed warehouse`."""

    url: str | None
    url_file: str | None
    schema: str
    reader_role: str | None
    seed: int
    people: int


@dataclass(frozen=True)
class SeedExtractArgs:
    """`mash seed extract` (its own --agency and --as-of replace `mash seed`'s)."""

    home: str | None
    agency: str
    out: str
    as_of: str | None


@dataclass(frozen=True)
class MatchEvalArgs:
    """`mash match eval`; a threshold left out takes the matcher's default."""

    records: str
    queries: str
    out: str
    certain: float | None
    high: float | None
    possible: float | None
    margin: float | None
    high_without_dob: float | None
    no_scale_bars: bool
    number_rule: bool
    train: bool
    as_of: date | None


@dataclass(frozen=True)
class EvalsetArgs:
    """`mash match evalset`."""

    out: str
    people: int
    queries: int
    seed: int


def _seed(args: SeedArgs) -> int:
    from agency_adapters.seed import ALL_AGENCIES, SeedError, seed_agencies

    if args.people < 50 or args.people > 5_000_000:
        raise UsageError(f"--people must be between 50 and 5,000,000, got {args.people}")
    agencies = tuple(parse(Agency, a) for a in args.agency) if args.agency else ALL_AGENCIES
    home = Home.at(args.home).ensure()
    try:
        report = seed_agencies(home.data_dir, seed=args.seed, people=args.people,
                               agencies=agencies, as_of=args.as_of,
                               store_path=lambda a: home.agency_store(a.value))
    except SeedError as exc:
        raise UsageError(str(exc)) from exc
    print(f"seeded {report.population:,} synthetic people in {report.households:,} households "
          f"(seed {report.seed}, as of {report.as_of.isoformat()}) in {report.seconds:.1f}s")
    for a in report.agencies:
        print(f"  {a.agency.value:<22} {a.people:>9,} people {a.records:>10,} records  {a.path}")
    print(f"  demo referrals: {report.demo_subjects}")
    return 0


def _seed_warehouse(args: WarehouseArgs) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy import exc as sa_exc

    from agency_adapters.seed.warehouse import create_warehouse
    from agency_adapters.sql.factory import database_url
    from mash.config import ConfigError

    if args.people < 50 or args.people > 5_000_000:
        raise UsageError(f"--people must be between 50 and 5,000,000, got {args.people}")
    options = {"url_file": args.url_file} if args.url_file else {"url": args.url}
    if not args.url_file and not args.url:
        raise UsageError("give --url or --url-file")
    try:
        engine = create_engine(database_url(options, "--url"))
        report = create_warehouse(engine, seed=args.seed, people=args.people,
                                  schema=args.schema, reader_role=args.reader_role)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    except sa_exc.SQLAlchemyError as exc:
        from agency_adapters.sql.errors import from_database

        raise UsageError(str(from_database(exc, "creating the warehouse"))) from None
    print(f"warehouse {args.schema}: {report.people:,} people, {report.cases:,} cases, "
          f"{report.cp_plans:,} child-protection plans, {report.lac_episodes:,} looked-after "
          f"episodes (seed {args.seed}, population {args.people:,}) in {report.seconds:.1f}s")
    return 0


def _seed_extract(args: SeedExtractArgs) -> int:

    from agency_adapters.backend import BackendError
    from agency_adapters.extract.template import write_extract
    from agency_adapters.sqlite_store import SqliteAgencyStore

    agency = parse(Agency, args.agency)
    home = Home.at(args.home)
    as_of = args.as_of or utc_now().isoformat(timespec="seconds")
    try:
        store = SqliteAgencyStore(home.agency_store(agency))
    except BackendError as exc:
        raise UsageError(f"{exc} (run `mash seed --home {home.root}` first)") from exc
    with store:
        people, records = write_extract(store, Path(args.out), agency, as_of)
    print(f"wrote the {agency} extract: {people:,} people, {records:,} records, data as of "
          f"{as_of}, into {args.out} (people.csv, records.csv, then extract.ready)")
    return 0


def register_seed(sub: Subparsers) -> None:
    """`mash seed [--home DIR] [--seed N] [--people N] [--agency A ...] [--as-of DATE]` and
    `mash seed warehouse`."""
    p = sub.add_parser("seed", help="generate synthetic agency stores (SQLite) under --home", parents=[HOME])
    ssub = p.add_subparsers(dest="seed_command", metavar="[warehouse]")
    w = ssub.add_parser("warehouse", help="create a synthetic social care reporting warehouse "
                                          "in a SQL database (for the SQL backend)")
    w.add_argument("--url", help="database URL, e.g. postgresql+psycopg://admin@host/reporting")
    w.add_argument("--url-file", help="file holding the database URL (keeps the password out "
                                      "of the command line)")
    w.add_argument("--schema", default="social_care")
    w.add_argument("--reader-role", default=None,
                   help="PostgreSQL role granted SELECT on the warehouse (the adapter's account)")
    w.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    w.add_argument("--people", type=int, default=10_000,
                   help="population size (default 10000; children's social care holds a few "
                        "per cent of it)")
    w.set_defaults(handler=typed(WarehouseArgs, _seed_warehouse))
    x = ssub.add_parser("extract", help="write an agency's synthetic store as a nightly CSV "
                                        "extract (what the agency's export job would write)", parents=[HOME])
    x.add_argument("--agency", required=True, help="agency whose store to export")
    x.add_argument("--out", required=True, help="the extract's incoming folder")
    x.add_argument("--as-of", default=None,
                   help="the extract time written to the ready file (default now)")
    x.set_defaults(handler=typed(SeedExtractArgs, _seed_extract))
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--people", type=int, default=10_000, help="population size (default 10000)")
    p.add_argument("--agency", action="append", default=[], metavar="AGENCY",
                   help=f"agency to seed (repeatable; default all: {', '.join(Agency)})")
    p.add_argument("--as-of", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                   help="the day the data describes; every date in it is relative to this "
                        "(default: today)")
    p.set_defaults(handler=typed(SeedArgs, _seed))


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _match_eval(args: MatchEvalArgs) -> int:
    import tempfile
    from pathlib import Path

    from agency_adapters.matching import InvalidThresholds, MatchThresholds
    from agency_adapters.matching.evaluate import EvaluationInputError, run_eval
    from agency_adapters.matching.training import TrainingError

    records, queries, out = Path(args.records), Path(args.queries), Path(args.out)
    for p in (records, queries):
        if not p.is_file():
            raise UsageError(f"no such file: {p}")
    from agency_adapters.matching import DEFAULT

    def pick(value: float | None, default: float) -> float:
        return default if value is None else value

    try:
        thresholds = MatchThresholds(certain=pick(args.certain, DEFAULT.certain),
                                     high=pick(args.high, DEFAULT.high),
                                     possible=pick(args.possible, DEFAULT.possible),
                                     margin=pick(args.margin, DEFAULT.margin),
                                     high_without_dob=pick(args.high_without_dob,
                                                           DEFAULT.high_without_dob),
                                     scale_bars_by_store_size=not args.no_scale_bars,
                                     number_outweighs_given_name=args.number_rule)
    except InvalidThresholds as exc:
        raise UsageError(str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="mash-match-") as work:
        try:
            run = run_eval(records, queries, out, work_dir=Path(work), thresholds=thresholds,
                           train=args.train, as_of=args.as_of or london_today())
        except (EvaluationInputError, TrainingError) as exc:
            raise UsageError(str(exc)) from exc
    lat = sorted(run.latencies_ms) or [0.0]
    bands: dict[str, int] = {}
    for _rid, _score, band in run.results.values():
        bands[band.value] = bands.get(band.value, 0) + 1
    if run.train_seconds is not None:
        print(f"model: trained on the store's own records in {run.train_seconds:.1f}s")
    print(f"store: {run.store_rows:,} records built in {run.build_seconds:.1f}s; "
          f"queries: {len(run.results):,}; p50 {lat[len(lat) // 2]:.2f} ms, "
          f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))]:.2f} ms")
    print("bands: " + ", ".join(f"{b} {n:,}" for b, n in sorted(bands.items())))
    print(f"results: {out}")
    return 0


def _match_evalset(args: EvalsetArgs) -> int:
    from pathlib import Path

    from agency_adapters.matching.evalset import generate_evalset

    if args.people < 100 or args.queries < 1:
        raise UsageError("--people must be at least 100 and --queries at least 1")
    es = generate_evalset(Path(args.out), people=args.people, queries=args.queries,
                          seed=args.seed)
    print(f"wrote {es.n_records:,} records, {es.n_queries:,} queries "
          f"({es.n_unknown:,} for people not held) to {Path(args.out)}")
    print(f"  {es.records}\n  {es.queries}\n  {es.truth}")
    if es.as_of is not None:
        print(f"  dated as of {es.as_of.isoformat()}: evaluate with "
              f"`mash match eval --as-of {es.as_of.isoformat()}` (queries carry roles)")
    return 0


def register_match(sub: Subparsers) -> None:
    """`mash match eval|evalset|train|explain ...`."""
    p = sub.add_parser("match", help="identity matching: train, explain, evaluate")
    msub = p.add_subparsers(dest="match_command", required=True, metavar="SUBCOMMAND")
    ev = msub.add_parser("eval", help="run the matcher on RECORDS.csv x QUERIES.csv")
    ev.add_argument("--records", required=True, help="RECORDS.csv (record_id, given_name, ...)")
    ev.add_argument("--queries", required=True,
                    help="QUERIES.csv (query_id, given_name, ..., optionally role)")
    ev.add_argument("--out", required=True, help="RESULTS.csv to write")
    # Defaults come from matching.DEFAULT at run time (keeps `mash` start-up light); the help
    # names no number, so it cannot drift from them.
    ev.add_argument("--certain", type=float, default=None,
                    help="bits for `certain`, with a verified NHS number or UPN agreeing"
                         " (default: the matcher's)")
    ev.add_argument("--high", type=float, default=None,
                    help="bits for `high` in a store of the reference size; lower in a smaller"
                         " store unless --no-scale-bars (default: the matcher's)")
    ev.add_argument("--possible", type=float, default=None,
                    help="bits for `possible` (default: the matcher's)")
    ev.add_argument("--margin", type=float, default=None,
                    help="lead in bits over the runner-up needed for certain/high"
                         " (default: the matcher's)")
    ev.add_argument("--high-without-dob", type=float, default=None,
                    help="bits for `high` when no date of birth can be compared"
                         " (default: the matcher's)")
    ev.add_argument("--no-scale-bars", action="store_true",
                    help="keep `high` as set whatever the store's size"
                         " ([matching] scale_bars_by_store_size = false)")
    ev.add_argument("--number-rule", action="store_true",
                    help="a verified number, the date of birth and the surname outweigh a"
                         " wholly different given name ([matching]"
                         " number_outweighs_given_name = true; off by default)")
    ev.add_argument("--train", action="store_true",
                    help="learn a match model from the built store's own records first (as"
                         " `mash match train` does) and match with it, instead of the shipped"
                         " weights")
    ev.add_argument("--as-of", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                    help="the day the set's dates describe: a query's role (child is under 18"
                         " ...) bounds the age of a match on this day (default: today in London)")
    ev.set_defaults(handler=typed(MatchEvalArgs, _match_eval))
    gen = msub.add_parser("evalset", help="generate a labelled evaluation set (synthetic)")
    gen.add_argument("--out", required=True, help="folder for RECORDS.csv, QUERIES.csv, TRUTH.csv")
    gen.add_argument("--people", type=int, default=10_000, help="population size")
    gen.add_argument("--queries", type=int, default=2_000, help="number of queries")
    gen.add_argument("--seed", type=int, default=7, help="random seed")
    gen.set_defaults(handler=typed(EvalsetArgs, _match_evalset))
    from agency_adapters import match_cli

    match_cli.register(msub)


def register(sub: Subparsers) -> None:
    """Add this part's sub-commands to the `mash` parser."""
    register_seed(sub)
    register_match(sub)
