"""What every part's command-line module shares: the sub-parser type, handlers, config loading.

Each part registers its own `mash` sub-commands from its `cli` module; `mash.app.cli` collects
them. Parts raise `mash.errors.UsageError` for bad input (exit code 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from mash.config import ConfigError
from mash.errors import UsageError

C = TypeVar("C")

#: A sub-command's handler: the parsed arguments in, the exit code out.
Handler = Callable[[argparse.Namespace], int]


class Subparsers(Protocol):
    """The object argparse's add_subparsers returns."""

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser: ...


def home_parent() -> argparse.ArgumentParser:
    """The parent parser of every sub-command that works on a home folder: `--home DIR`."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--home", default=None, metavar="DIR",
                        help="home folder: keys, certificates, logs, stores (default ./.mash)")
    return parent


#: `parents=[HOME]` gives a sub-command `--home DIR` (argparse copies the argument).
HOME = home_parent()


def load_config(loader: Callable[[Path], C], path: Path) -> C:
    """Load a process config; a bad one is a usage error (exit 2) naming the file and field."""
    try:
        return loader(path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
