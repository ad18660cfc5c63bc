"""`mash adapter serve | check-config | build-keys`: run one agency adapter process and its tools."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add `mash adapter ...`."""
    adapter = sub.add_parser("adapter", help="run an agency adapter")
    asub = adapter.add_subparsers(dest="adapter_command", required=True, metavar="ACTION")
    serve = asub.add_parser("serve", help="serve one agency's adapter over mTLS")
    serve.add_argument("--config", required=True, type=Path, help="adapter TOML config file")
    serve.set_defaults(handler=_serve)
    check = asub.add_parser("check-config", help="validate an adapter config and its files")
    check.add_argument("--config", required=True, type=Path)
    check.set_defaults(handler=_check)
    keys = asub.add_parser(
        "build-keys", help="SQL backend: build the kit's blocking-key table (run nightly)")
    keys.add_argument("--config", required=True, type=Path, help="the adapter's TOML config")
    keys.add_argument("--writer-url-file", required=True, type=Path,
                      help="file holding the database URL of the account that owns the "
                           "kit's schema (not the adapter's read-only account)")
    keys.set_defaults(handler=_build_keys)


def _serve(args: argparse.Namespace) -> int:
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


def _build_keys(args: argparse.Namespace) -> int:
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


def _check(args: argparse.Namespace) -> int:
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
