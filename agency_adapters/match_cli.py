"""`mash match train` and `mash match explain`: an agency's own match model, for its IT team.

`train` learns m and u from the store the adapter config names and writes the model file
(`[matching] model` in the config, or `--out`); the adapter loads it at start-up.
`explain` prints the model's weight for every comparison level, and with a query, each
candidate's levels: why a pair scored what it did and which band that gives.
These commands print the agency's own records to the operator's terminal (never to a log).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from mash.command import Subparsers, typed
from mash.errors import UsageError

if TYPE_CHECKING:
    from agency_adapters.backend import AgencyBackend
    from agency_adapters.config import AdapterConfig
    from agency_adapters.matching.model import MatchModel


@dataclass(frozen=True)
class TrainArgs:
    """`mash match train`."""

    config: Path
    out: str | None
    sample: int
    u_pairs: int
    em_pairs: int
    seed: int


@dataclass(frozen=True)
class ExplainArgs:
    """`mash match explain`."""

    config: Path
    model: str | None
    given: str | None
    family: str | None
    dob: str | None
    postcode: str | None
    nhs: str | None
    sex: str | None
    top: int


def _config(path: Path) -> AdapterConfig:
    from agency_adapters.config import AdapterConfig
    from mash.command import load_config

    return load_config(AdapterConfig.load, path)


def _open_sync_backend(config: AdapterConfig) -> AgencyBackend:
    """The config's backend as its factory makes it (these commands read it directly)."""
    from agency_adapters.backend import AgencyBackend
    from agency_adapters.server import backend_factory

    backend = backend_factory(config.backend)(config, dict(config.backend_options))
    if not isinstance(backend, AgencyBackend):
        raise UsageError(f"backend {config.backend!r} is asynchronous: mash match train and "
                         "explain read synchronous backends only")
    return backend


def _train(args: TrainArgs) -> int:
    from agency_adapters.matching import model as model_file
    from agency_adapters.matching.training import (
        TrainingError,
        TrainingSettings,
        TrainingSource,
        train,
    )
    config = _config(args.config)
    out = Path(args.out) if args.out else config.match_model
    if out is None:
        raise UsageError("say where to write the model: --out FILE, or [matching] model = "
                         "\"FILE\" in the adapter config")
    backend = _open_sync_backend(config)
    try:
        if not all(hasattr(backend, a) for a in ("person_ids", "people", "key_groups",
                                                  "name_frequencies")):
            raise UsageError(f"backend {config.backend!r} cannot be read for training (it needs "
                             "person_ids, people, key_groups and name_frequencies)")
        source = cast("TrainingSource", backend)  # its methods are checked just above
        settings = TrainingSettings(u_people=args.sample, u_pairs=args.u_pairs,
                                    em_pairs=args.em_pairs, seed=args.seed)
        try:
            report = train(source, settings=settings,
                           progress=lambda msg: print(f"  {msg}", flush=True))
        except TrainingError as exc:
            raise UsageError(str(exc)) from exc
    finally:
        backend.close()
    model_file.save(report.model, out)
    print(f"trained on {report.people:,} records in {report.seconds:.1f}s: "
          f"u from {report.u_pairs:,} random pairs")
    for r in report.rules:
        state = "used" if r.used else f"not used: {r.reason}"
        print(f"  EM on pairs sharing {r.rule}: {r.pairs:,} pairs, {r.expected_matches:,.0f} "
              f"expected matches, {r.iterations} iterations -- {state}")
    learned = report.model.m_learned()
    print(f"  m learned for: {', '.join(learned) if learned else 'nothing (prior kept)'}")
    print(f"model {report.model.model_id()} written to {out}")
    if config.match_model is None or Path(config.match_model) != out:
        print(f"  to use it: [matching] model = \"{out}\" in {args.config}, then restart the "
              "adapter")
    else:
        print("  restart the adapter to use it")
    return 0


def _load_model(args: ExplainArgs, config: AdapterConfig) -> tuple[MatchModel, str]:
    from agency_adapters.matching.model import PRIOR, ModelError
    from agency_adapters.matching.model import load as load_model

    path = Path(args.model) if args.model else config.match_model
    if path is None:
        return PRIOR, "shipped weights (no [matching] model in the config)"
    try:
        return load_model(path), str(path)
    except ModelError as exc:
        raise UsageError(str(exc)) from exc


def _explain(args: ExplainArgs) -> int:
    from agency_adapters.backend import QueryIdentifiers
    from agency_adapters.matching import MatchThresholds, decide, score_candidates
    from agency_adapters.matching.matcher import backend_frequencies, store_people
    from agency_adapters.matching.model import LEVEL_TEXT

    config = _config(args.config)
    model, where = _load_model(args, config)
    print(f"model {model.model_id()} ({model.source}): {where}")
    if model.trained:
        print(f"  trained {model.trained.get('at', '?')} on {model.trained.get('people', 0):,}"
              f" records; m learned for: {', '.join(model.m_learned()) or '-'}")
    query = QueryIdentifiers(given_name=args.given or "", family_name=args.family or "",
                             date_of_birth=args.dob, postcode=args.postcode or "",
                             nhs_number=args.nhs or "", sex=args.sex or "")
    if not any((args.given, args.family, args.dob, args.postcode, args.nhs)):
        print(f"{'comparison':<11}{'level':<16}{'m':>9}{'u':>11}{'bits':>8}  meaning")
        for name, levels in model.levels.items():
            for lv, level in levels.items():
                print(f"{name:<11}{lv:<16}{level.m:>9.4f}{level.u:>11.3g}{level.weight:>+8.2f}"
                      f"  {LEVEL_TEXT[(name, lv)]}")
        for name, tf in model.tf.items():
            print(f"term frequency {name}: exact weight moves by log2({tf.tf_u:.3g} / share), "
                  f"from -{tf.below:.1f} to +{tf.above:.1f} bits")
    thresholds = MatchThresholds.from_settings(config.matching)
    weights_only = not any((args.given, args.family, args.dob, args.postcode, args.nhs))
    try:
        backend = _open_sync_backend(config)
    except UsageError:
        if not weights_only:
            raise
        # An asynchronous backend is not read here; the adapter scales its bars by the
        # size its backend reports when it serves.
        scaled = ("high comes down by the store's size when the adapter serves"
                  if thresholds.scale_bars_by_store_size
                  else "scale_bars_by_store_size = false")
        print(f"bars as configured: {thresholds.bars()} ({scaled}; this command does not "
              f"read backend {config.backend!r})")
        return 0
    try:
        freq = backend_frequencies(backend)
        held = store_people(freq)
        print(f"bars in force: {thresholds.describe(held)}")
        if weights_only:
            return 0
        bars = thresholds.for_store(held)
        people = backend.candidates(query)
        scored = score_candidates(query, people, freq, model)
        result = decide(query, scored, thresholds, frequencies=freq, model=model)
        from agency_adapters.matching.scoring import compare, prepare

        prepared = prepare(query, freq, model)
        print(f"{len(people)} candidates; answer: {result.band.value} "
              f"(score {result.score:.2f} bits; high needs {bars.high:g} and a lead of "
              f"{bars.margin:g}){'; ' + result.confirm_hint if result.confirm_hint else ''}")
        for c, person in scored[:args.top]:
            detail = compare(prepared, person, explain=True)
            print(f"\n{person.person_id}: {c.weight:+.2f} bits  {person.given_name} "
                  f"{person.family_name}, born {person.date_of_birth or '?'}, "
                  f"{person.postcode or '?'}")
            for name, lv, w in detail.levels:
                print(f"    {name:<11}{lv:<16}{w:>+7.2f}  {LEVEL_TEXT[(name, lv)]}")
    finally:
        backend.close()
    return 0


def register(msub: Subparsers) -> None:
    """Add `mash match train` and `mash match explain` to the `mash match` parser."""
    tr = msub.add_parser("train", help="learn a match model from the adapter's own records")
    tr.add_argument("--config", required=True, type=Path, help="adapter TOML config file")
    tr.add_argument("--out", default=None,
                    help="model file to write (default: [matching] model in the config)")
    tr.add_argument("--sample", type=int, default=4000, help="records sampled for random pairs")
    tr.add_argument("--u-pairs", type=int, default=1_000_000, help="random pairs for u")
    tr.add_argument("--em-pairs", type=int, default=150_000,
                    help="blocked pairs per EM rule")
    tr.add_argument("--seed", type=int, default=7, help="random seed (same seed, same model)")
    tr.set_defaults(handler=typed(TrainArgs, _train))
    ex = msub.add_parser("explain", help="the model's weights, or why a query scored what it did")
    ex.add_argument("--config", required=True, type=Path, help="adapter TOML config file")
    ex.add_argument("--model", default=None, help="model file (default: the config's)")
    ex.add_argument("--given", default=None)
    ex.add_argument("--family", default=None)
    ex.add_argument("--dob", default=None, help="YYYY-MM-DD")
    ex.add_argument("--postcode", default=None)
    ex.add_argument("--nhs", default=None)
    ex.add_argument("--sex", default=None)
    ex.add_argument("--top", type=int, default=3, help="candidates to show (default 3)")
    ex.set_defaults(handler=typed(ExplainArgs, _explain))
