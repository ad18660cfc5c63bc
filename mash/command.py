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


def load_config(loader: Callable[[Path], C], path: Path) -> C:
    """Load a process config; a bad one is a usage error (exit 2) naming the file and field."""
    try:
        return loader(path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
