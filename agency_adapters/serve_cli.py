"""`mash adapter serve | check-config | build-keys`: run one agency adapter process and its tools."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

from mash.command import Subparsers, typed


@dataclass(frozen=True)
class ConfigArgs:
    """A command that takes only the adapter's config: serve, check-config, check, status."""

    config: Path


@dataclass(frozen=True)
class InitArgs:
    """`mash adapter init`."""

    agency: str
    backend: str
    home: Path
    dir: Path | None
    listen: str
    broker: list[str]
    force: bool


@dataclass(frozen=True)
class BuildKeysArgs:
    """`mash adapter build-keys`."""

    config: Path
    writer_url_file: Path


def register(sub: Subparsers) -> None:
    """Add `mash adapter ...`."""
    adapter = sub.add_parser("adapter", help="run an agency adapter")
    asub = adapter.add_subparsers(dest="adapter_command", required=True, metavar="ACTION")
    serve = asub.add_parser("serve", help="serve one agency's adapter over mTLS")
    serve.add_argument("--config", required=True, type=Path, help="adapter TOML config file")
    serve.set_defaults(handler=typed(ConfigArgs, _serve))
    check = asub.add_parser("check-config", help="validate an adapter config and its files")
    check.add_argument("--config", required=True, type=Path)
    check.set_defaults(handler=typed(ConfigArgs, _check))
    full = asub.add_parser(
        "check", help="check everything an operator can get wrong (exit code names the failure)")
    full.add_argument("--config", required=True, type=Path, help="adapter TOML config file")
    full.set_defaults(handler=typed(ConfigArgs, _check_all))
    status = asub.add_parser(
        "status", help="the running adapter's health from its status file (exit 0: serving)")
    status.add_argument("--config", required=True, type=Path, help="adapter TOML config file")
    status.set_defaults(handler=typed(ConfigArgs, _status))
    init = asub.add_parser("init", help="write a commented adapter config and backend mapping")
    init.add_argument("--agency", required=True, help="the agency this adapter serves")
    init.add_argument("--backend", required=True, choices=("sql", "fhir", "rest", "extract",
                                                           "research"))
    init.add_argument("--home", type=Path, default=Path("/srv/mash-adapter"),
                      help="the adapter's home folder (keys, audit log; default /srv/mash-adapter)")
    init.add_argument("--dir", type=Path, default=None,
                      help="where to write adapter.toml and the mapping (default: --home)")
    init.add_argument("--listen", default="0.0.0.0:7443")
    init.add_argument("--broker", action="append", default=[], metavar="BROKER_ID",
                      help="a MASH broker this adapter answers (repeatable; default mash-demo)")
    init.add_argument("--force", action="store_true", help="write over existing files")
    init.set_defaults(handler=typed(InitArgs, _init))
    from agency_adapters.research import cli as research_cli

    research_cli.register(asub)
    keys = asub.add_parser(
        "build-keys", help="SQL backend: build the kit's blocking-key table (run nightly)")
    keys.add_argument("--config", required=True, type=Path, help="the adapter's TOML config")
    keys.add_argument("--writer-url-file", required=True, type=Path,
                      help="file holding the database URL of the account that owns the "
                           "kit's schema (not the adapter's read-only account)")
    keys.set_defaults(handler=typed(BuildKeysArgs, _build_keys))


def _serve(args: ConfigArgs) -> int:
    from agency_adapters.backend import BackendError
    from agency_adapters.config import AdapterConfig
    from agency_adapters.server import run
    from mash.command import load_config
    from mash.config import ConfigError

    config = load_config(AdapterConfig.load, args.config)
    try:
        run(config)
    except (BackendError, ConfigError) as exc:
        # A backend that does not fit (a writable account, a mapping naming a missing
        # column, a database that cannot be reached) stops the start, saying why.
        print(f"mash: error: {config.name} cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


def _build_keys(args: BuildKeysArgs) -> int:
    from agency_adapters.backend import BackendError
    from agency_adapters.config import AdapterConfig
    from agency_adapters.sql.factory import database_url, make_engine, open_mapping
    from agency_adapters.sql.match_keys import build_match_keys
    from agency_adapters.sql.people import PeopleReader
    from mash.command import load_config
    from mash.config import ConfigError
    from mash.errors import UsageError

    config = load_config(AdapterConfig.load, args.config)
    if config.backend != "sql":
        raise UsageError(f"{args.config}: build-keys is for backend = \"sql\", "
                         f"not {config.backend!r}")
    try:
        mapping = open_mapping(config)
        if mapping.blocking.method != "match_keys":
            raise UsageError(f"{mapping.path}: blocking.method is {mapping.blocking.method!r}; "
                             "there is no key table to build")
        reader = make_engine(database_url(config.backend_options), pool_size=1,
                             timeout_ms=3_600_000, connect_timeout_s=10)
        writer = make_engine(database_url({"url_file": str(args.writer_url_file)}),
                             pool_size=1, timeout_ms=3_600_000, connect_timeout_s=10,
                             read_only=False)
        report = build_match_keys(reader, writer, PeopleReader(mapping),
                                  mapping.blocking.schema, mapping.blocking.grant_to)
    except (BackendError, ConfigError) as exc:
        print(f"mash: error: build-keys: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a database error: its type and first line, never its values
        from agency_adapters.sql.errors import from_database

        print(f"mash: error: build-keys: {from_database(exc, 'building the keys')}",
              file=sys.stderr)
        return 1
    print(f"built {report.keys:,} keys for {report.people:,} people in "
          f"{mapping.blocking.schema}.match_keys in {report.seconds:.1f}s ({report.built_at})")
    return 0


def _check(args: ConfigArgs) -> int:
    from agency_adapters.config import AdapterConfig
    from agency_adapters.server import build_parts
    from mash.command import load_config

    config = load_config(AdapterConfig.load, args.config)
    try:
        parts = build_parts(config)
    except Exception as exc:  # report any cause plainly: this is the operator's diagnostic
        print(f"{config.name}: not ready: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    parts.audit.close()
    asyncio.run(parts.backend.aclose())
    print(f"ok: {config.name} config, store, keys, trust store, policy and audit log all open")
    return 0


def _init(args: InitArgs) -> int:
    from agency_adapters.operator.init import InitError, InitRequest, init_adapter
    from mash.errors import UsageError
    from mash.vocab import Agency, parse

    home = args.home.resolve()
    req = InitRequest(agency=parse(Agency, args.agency), backend=args.backend, home=home,
                      folder=(args.dir or args.home).resolve(), listen=args.listen,
                      brokers=tuple(args.broker) or ("mash-demo",), force=args.force)
    try:
        written = init_adapter(req)
    except InitError as exc:
        raise UsageError(str(exc)) from None
    for path in written:
        print(f"wrote {path}")
    print(f"next: edit them, then `mash adapter check --config {written[0]}`")
    return 0


def _check_all(args: ConfigArgs) -> int:
    from agency_adapters.config import AdapterConfig
    from agency_adapters.operator.check import exit_code, run_checks
    from mash import logs
    from mash.command import load_config

    logs.configure(json=False, level="error")
    config = load_config(AdapterConfig.load, args.config)
    results = []
    for result in run_checks(config):
        print(result.line(), flush=True)
        results.append(result)
    code = exit_code(results)
    print(f"{config.name}: " + ("ready" if code == 0 else f"NOT ready (exit {code})"))
    return code


def _status(args: ConfigArgs) -> int:
    from agency_adapters.adapter_health import not_running, read_status
    from agency_adapters.config import AdapterConfig
    from mash.command import load_config

    config = load_config(AdapterConfig.load, args.config)
    path = config.home.run_dir / f"{config.name}.health.json"
    status = read_status(path)
    if status is None:
        print(f"{config.name}: no status at {path} (is it running?)", file=sys.stderr)
        return 1
    gone = not_running(status)
    if gone:
        print(f"{config.name}: NOT serving ({gone})")
        return 1
    components = status.get("components")
    for name, c in components.items() if isinstance(components, dict) else ():
        state = "serving" if c.get("serving") else "NOT serving"
        fault = f": {c['fault']}" if c.get("fault") else ""
        as_of = f" (data as of {c['data_as_of']})" if c.get("data_as_of") else ""
        print(f"{name}: {state}{as_of}{fault}")
    policy = status.get("policy")
    mashes = policy.get("mashes") if isinstance(policy, dict) else None
    for mash, entry in sorted(mashes.items() if isinstance(mashes, dict) else ()):
        source = f"bundle {entry['bundle'][:16]}" if entry.get("bundle") else "home's own folder"
        print(f"policy for {mash}: version {entry.get('version')} ({source})")
    print(f"{config.name}: {'serving' if status.get('serving') else 'NOT serving'} "
          f"(updated {status.get('updated_at')})")
    return 0 if status.get("serving") else 1
