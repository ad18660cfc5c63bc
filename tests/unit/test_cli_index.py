"""`mash COMMAND` imports only COMMAND's part: the index in mash.app.cli must stay true."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from mash.app.cli import COMMAND_MODULES, MODULE_OF, build_parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _choices(parser: argparse.ArgumentParser) -> set[str]:
    return set(_commands(parser))


@pytest.mark.parametrize(("module", "commands"), COMMAND_MODULES)
def test_each_module_registers_exactly_the_commands_the_index_names(
        module: str, commands: tuple[str, ...]) -> None:
    parser = argparse.ArgumentParser(prog="mash")
    sub = parser.add_subparsers(dest="command")
    importlib.import_module(module).register(sub)
    assert set(sub.choices) == set(commands)


def test_the_whole_parser_has_every_indexed_command_and_no_other() -> None:
    assert _choices(build_parser()) == set(MODULE_OF)


@pytest.mark.parametrize("command", sorted(MODULE_OF))
def test_a_command_alone_parses_as_in_the_whole_parser(command: str) -> None:
    alone, whole = build_parser(command), build_parser()
    assert _choices(alone) == {c for m, cs in COMMAND_MODULES if m == MODULE_OF[command] for c in cs}
    assert (_commands(alone)[command].format_help()
            == _commands(whole)[command].format_help())


def test_an_unknown_command_gets_the_whole_list() -> None:
    assert _choices(build_parser("no-such-command")) == set(MODULE_OF)


def test_an_adapter_process_does_not_import_the_other_parts() -> None:
    code = ("import sys; from mash.app.cli import build_parser; build_parser('adapter'); "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('console', 'bench', 'audit', 'broker'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "console.cli" not in out.stdout.split()
    assert "broker.referral_cli" not in out.stdout.split()
    assert "bench.cli" not in out.stdout.split()
