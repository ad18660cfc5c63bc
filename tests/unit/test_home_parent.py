"""Every `mash` sub-command that takes `--home` takes it from the one parent parser."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from mash.app.cli import build_parser
from mash.command import HOME


def _commands(parser: argparse.ArgumentParser, path: str = "mash"
              ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, f"{path} {name}")


def test_home_is_declared_once() -> None:
    (declared,) = [a for a in HOME._actions if "--home" in a.option_strings]
    found = {}
    for path, parser in _commands(build_parser()):
        for action in parser._actions:
            if "--home" in action.option_strings:
                found[path] = (action.help, action.default, action.metavar)
    assert {"mash audit verify", "mash pki init", "mash policy status", "mash referral list",
            "mash lookup", "mash token issue", "mash seed", "mash demo"} <= set(found)
    odd = {path: got for path, got in found.items()
           if got != (declared.help, declared.default, declared.metavar)
           and not path.startswith(("mash bench", "mash adapter init"))}
    assert odd == {}


def test_home_parses_the_same_everywhere() -> None:
    parser = build_parser()
    args = parser.parse_args(["audit", "verify", "--home", "/srv/mash"])
    assert args.home == "/srv/mash"
    assert parser.parse_args(["pki", "show"]).home is None
