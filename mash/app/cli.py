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

#: Modules with a `register(subparsers)` function, in help order, with the top-level commands
#: each registers. `mash COMMAND ...` imports only COMMAND's module: every broker, adapter and
#: CLI process starts without importing the other parts (about a quarter of a second each);
#: `mash`, `mash --help` and an unknown command import them all. `tests/unit/test_cli_index.py`
#: keeps this table true to what the modules register.
COMMAND_MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mash.app.demo_cli", ("demo",)),
    ("certs.cli", ("pki",)),
    ("identity.cli", ("token", "idp")),
    ("agency_adapters.cli", ("seed", "match")),
    ("agency_adapters.serve_cli", ("adapter",)),
    ("broker.cli", ("broker", "lookup", "review")),
    ("policy.cli", ("policy",)),
    ("audit.cli", ("audit",)),
    ("broker.referral_cli", ("timescale", "referral", "summary")),
    ("console.cli", ("console",)),
    ("bench.cli", ("bench",)),  # bench/ is in a source checkout, not the wheel
)

#: The module that registers each top-level command.
MODULE_OF: dict[str, str] = {command: module for module, commands in COMMAND_MODULES
                             for command in commands}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `mash` argument parser: with every command, or only `command` (when it is one)."""
    parser = argparse.ArgumentParser(prog="mash", description="mash-hub: MASH information sharing")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = [MODULE_OF[command]] if command in MODULE_OF else [m for m, _ in COMMAND_MODULES]
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # part not installed (e.g. bench/ outside a source checkout)
            raise
        module.register(sub)
    if command is not None and not sub.choices:  # its part is not installed: name the others
        return build_parser()
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mash` console script."""
    owner_only_files()  # before anything is written: every file of every command is private
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words else None)
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

