"""Typed handlers: each command's arguments arrive as a frozen dataclass the parser fills."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from mash.app.cli import build_parser
from mash.command import arguments_of, typed
from mash.errors import InvariantError

#: Parts whose every command takes typed arguments.
TYPED_PARTS = ("mash audit", "mash pki", "mash token", "mash idp", "mash seed", "mash match",
               "mash broker", "mash lookup", "mash review", "mash console", "mash demo",
               "mash adapter", "mash policy",
               "mash referral", "mash summary", "mash timescale", "mash bench")


def _commands(parser: argparse.ArgumentParser, path: str,
              dests: frozenset[str]) -> Iterator[tuple[str, argparse.ArgumentParser, frozenset[str]]]:
    """Every leaf command under `parser`, with every `dest` its namespace can hold."""
    here = dests | {a.dest for a in parser._actions} | set(parser._defaults)
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs or "handler" in parser._defaults:  # a leaf, or runnable on its own
        yield path, parser, frozenset(here)
    for action in subs:
        for name, child in action.choices.items():
            yield from _commands(child, f"{path} {name}", frozenset(here))


COMMANDS = list(_commands(build_parser(), "mash", frozenset()))


def test_every_typed_handler_gets_only_what_its_parser_sets() -> None:
    checked = 0
    for path, parser, dests in COMMANDS:
        kind = arguments_of(parser._defaults.get("handler"))
        if kind is None:
            continue
        fields = {f.name for f in dataclasses.fields(kind)}
        assert fields <= dests, f"{path}: {sorted(fields - dests)} are not arguments"
        checked += 1
    assert checked >= 25


@pytest.mark.parametrize("part", TYPED_PARTS)
def test_these_parts_take_typed_arguments_everywhere(part: str) -> None:
    commands = [(path, parser) for path, parser, _ in COMMANDS
                if path == part or path.startswith(part + " ")]
    assert commands
    untyped = [path for path, parser in commands
               if arguments_of(parser._defaults.get("handler")) is None]
    assert untyped == []


def test_no_command_is_left_untyped() -> None:
    untyped = [path for path, parser, _ in COMMANDS
               if "handler" in parser._defaults
               and arguments_of(parser._defaults["handler"]) is None]
    assert untyped == []


@dataclass(frozen=True)
class _Args:
    home: str | None
    count: int


def test_typed_passes_the_fields_and_refuses_a_missing_one() -> None:
    seen: list[_Args] = []

    def handler(args: _Args) -> int:
        seen.append(args)
        return 7

    run = typed(_Args, handler)
    assert run(argparse.Namespace(home="h", count=3, other="x")) == 7
    assert seen == [_Args("h", 3)]
    with pytest.raises(InvariantError, match="count"):
        run(argparse.Namespace(home="h"))
