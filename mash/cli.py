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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from mash.vocab import UnknownVocabulary

#: Modules with a `register(subparsers)` function, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "mash.demo_cli",        # mash demo
    "certs.cli",            # mash pki ...
    "mash.identity.cli",    # mash token ...
    "agency_adapters.cli",  # mash seed, mash match ...
    "agency_adapters.serve_cli",  # mash adapter serve
    "broker.cli",           # mash broker serve, mash lookup, mash review ...
    "policy.cli",           # mash policy ...
    "mash.audit.cli",       # mash audit ...
    "broker.referral_cli",  # mash timescale, mash referral ..., mash summary ...
    "bench.cli",            # mash bench ...
)


class UsageError(Exception):
    """Bad input from the command line: exit code 2 with a one-line message."""


class Subparsers(Protocol):
    """The object argparse's add_subparsers returns."""

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser: ...


Handler = Callable[[argparse.Namespace], int]
C = TypeVar("C")


def load_config(loader: Callable[[Path], C], path: Path) -> C:
    """Load a process config; a bad one is a usage error (exit 2) naming the file and field."""
    from mash.config import ConfigError

    try:
        return loader(path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


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
    parser = build_parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    # Run through the package so `mash.cli` is imported once (its UsageError is the one parts raise).
    from mash.cli import main as _main

    sys.exit(_main())
