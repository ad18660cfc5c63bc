"""The `mash` command line.

Each part registers its own sub-commands from its `cli` module, so that this
file stays a short index and parts can grow without touching each other.
Exit codes: 0 success, 1 a check failed (e.g. `audit verify`), 2 bad input.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from mash.command import Handler
from mash.errors import UsageError
from mash.home import owner_only_files
from mash.vocab import UnknownVocabulary

#: Modules with a `register(subparsers)` function, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "mash.app.demo_cli",          # mash demo
    "certs.cli",                  # mash pki ...
    "identity.cli",               # mash token ..., mash idp serve
    "agency_adapters.cli",        # mash seed, mash match ...
    "agency_adapters.serve_cli",  # mash adapter serve
    "broker.cli",                 # mash broker serve, mash lookup, mash review ...
    "policy.cli",                 # mash policy ...
    "audit.cli",                  # mash audit ...
    "broker.referral_cli",        # mash timescale, mash referral ..., mash summary ...
    "console.cli",                # mash console serve
    "bench.cli",                  # mash bench ...
)


def build_parser() -> argparse.ArgumentParser:
    """The full `mash` argument parser."""
    parser = argparse.ArgumentParser(prog="mash", description="mash-hub: MASH information sharing")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # part not installed (e.g. bench/ outside a source checkout)
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mash` console script."""
    owner_only_files()  # before anything is written: every file of every command is private
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not isinstance(getattr(args, "args", None), list):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.args = [*extra, *args.args]  # a pass-through command (mash bench NAME ...)
    handler: Handler = args.handler
    try:
        return handler(args)
    except (UsageError, UnknownVocabulary) as exc:
        print(f"mash: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `mash ... | head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141

