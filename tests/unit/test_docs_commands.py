"""Every `mash` command line in the README and the guides parses with the real `mash` parser.

Operators and IG leads copy these lines as they are; a renamed flag or sub-command must fail
here, not on their machine. Lines are taken from fenced code blocks (continuations joined,
pipes, redirections and comments cut off); synopses with `[--optional]` parts are skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from mash.app.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"^(?:\$\s+)?(?:\S*/)?mash\s")
SHELL_TAIL = re.compile(r"\s(?:\||&&?|;|2?>|<|#)(?:\s|$)")


def command_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, command) for each `mash ...` line inside a fenced block of `text`."""
    fenced, held, start = False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced, held = not fenced, ""
            continue
        if not fenced:
            continue
        stripped = line.strip()
        if not held:
            start = number
        joined = f"{held} {stripped}".strip()
        if joined.endswith("\\"):
            held = joined[:-1]
            continue
        held = ""
        if COMMAND.match(joined) and "[--" not in joined:
            yield start, SHELL_TAIL.split(joined, maxsplit=1)[0].removeprefix("$").strip()


def documented() -> list[tuple[str, str]]:
    return [(f"{path.relative_to(ROOT)}:{number}", command)
            for path in DOCS for number, command in command_lines(path.read_text(encoding="utf-8"))]


@functools.cache
def parser() -> argparse.ArgumentParser:
    return build_parser()


def parse(command: str) -> str:
    """What the `mash` parser says is wrong with `command` ("" when it parses), as `mash` does."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            args, extra = parser().parse_known_args(shlex.split(command)[1:])
    except SystemExit as exc:
        return errors.getvalue().strip() if exc.code else ""
    if extra and not isinstance(getattr(args, "args", None), list):  # as mash.app.cli.main
        return f"unrecognized arguments: {' '.join(extra)}"
    return ""


def test_the_guides_show_mash_commands() -> None:
    assert len(documented()) >= 50


@pytest.mark.parametrize(("where", "command"), documented(), ids=[w for w, _ in documented()])
def test_documented_command_parses(where: str, command: str) -> None:
    assert parse(command) == "", f"{where}: `{command}`"


@pytest.mark.parametrize("line", ["mash referral create --no-such-flag x",
                                  "mash adapter check --config",
                                  "mash policy no-such-command"])
def test_a_wrong_command_fails_the_check(line: str) -> None:
    [(_, command)] = list(command_lines(f"```sh\n{line}\n```\n"))
    assert parse(command) != ""
