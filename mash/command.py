"""What every part's command-line module shares: the sub-parser type, handlers, config loading.

Each part registers its own `mash` sub-commands from its `cli` module; `mash.app.cli` collects
them. Parts raise `mash.errors.UsageError` for bad input (exit code 2).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from mash.config import ConfigError
from mash.errors import InvariantError, UsageError

C = TypeVar("C")
A = TypeVar("A")

#: A sub-command's handler: the parsed arguments in, the exit code out.
Handler = Callable[[argparse.Namespace], int]


def typed(kind: type[A], handler: Callable[[A], int]) -> Handler:
    """The handler argparse calls, made from one that takes the command's typed arguments.

    `kind` is a frozen dataclass whose fields are named as the command's arguments (their
    argparse `dest`) and typed as argparse makes them, so the handler body is type-checked::

        @dataclass(frozen=True)
        class ShowArgs:
            home: str | None
            referral: str

        show.set_defaults(handler=typed(ShowArgs, cmd_show))

    A field the parser does not set is a programming error (`InvariantError`), found by
    `tests/unit/test_typed_handlers.py` for every command, not at an operator's prompt.
    """
    if not dataclasses.is_dataclass(kind):
        raise TypeError(f"{kind!r} is not a dataclass")
    names = tuple(f.name for f in dataclasses.fields(kind))

    def run(args: argparse.Namespace) -> int:
        given = vars(args)
        missing = [name for name in names if name not in given]
        if missing:
            raise InvariantError(f"{kind.__name__}: the parser sets no {', '.join(missing)}")
        return handler(kind(**{name: given[name] for name in names}))

    run.arguments = kind  # type: ignore[attr-defined]  # read by the test of every command
    return run


def arguments_of(handler: object) -> type | None:
    """The typed-arguments class of a handler made by `typed` (None for an untyped one)."""
    kind = getattr(handler, "arguments", None)
    return kind if isinstance(kind, type) else None


class Subparsers(Protocol):
    """The object argparse's add_subparsers returns."""

    # argparse's own signature: keyword arguments of many types, passed to ArgumentParser
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


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
