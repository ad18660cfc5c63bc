"""`mash adapter serve`: run one agency adapter process."""

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


def _serve(args: argparse.Namespace) -> int:
    from agency_adapters.config import AdapterConfig
    from agency_adapters.server import run
    from mash.cli import load_config

    run(load_config(AdapterConfig.load, args.config))
    return 0


def _check(args: argparse.Namespace) -> int:
    from agency_adapters.config import AdapterConfig
    from agency_adapters.server import build_parts
    from mash.cli import load_config

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
