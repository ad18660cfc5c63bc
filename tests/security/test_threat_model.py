"""docs/threat-model.md cannot rot: every threat names a test, and every test it cites exists.

Threat: the threat model claims a control is tested when the test was renamed, moved or
deleted, so the control can be removed with the suite still green.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "docs" / "threat-model.md"
#: A citation: `tests/security/<file>.py::<test function>`.
CITATION = re.compile(r"tests/security/([A-Za-z0-9_/]+\.py)::([A-Za-z_][A-Za-z0-9_]*)")
#: A row of the threats table: `| T<number> | ...`.
ROW = re.compile(r"^\|\s*T(\d+)\s*\|(.*)$")
MIN_THREATS = 60


def _tests_in(path: Path) -> set[str]:
    """Names of the test functions defined at module level (or in test classes) of `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and \
                node.name.startswith("test_"):
            names.add(node.name)
    return names


def _rows() -> dict[int, str]:
    rows: dict[int, str] = {}
    for line in MODEL.read_text(encoding="utf-8").splitlines():
        if m := ROW.match(line):
            number = int(m.group(1))
            assert number not in rows, f"threat T{number} is numbered twice"
            rows[number] = m.group(2)
    return rows


def test_every_threat_names_at_least_one_test() -> None:
    rows = _rows()
    assert len(rows) >= MIN_THREATS, f"{len(rows)} threats; the model lists at least {MIN_THREATS}"
    assert sorted(rows) == list(range(1, len(rows) + 1)), "threats are numbered T1, T2, ..."
    untested = [f"T{n}" for n, row in rows.items() if not CITATION.search(row)]
    assert untested == []


def test_every_cited_test_exists() -> None:
    cited = CITATION.findall(MODEL.read_text(encoding="utf-8"))
    assert cited
    missing = []
    found: dict[str, set[str]] = {}
    for file, name in cited:
        path = ROOT / "tests" / "security" / file
        if file not in found:
            found[file] = _tests_in(path) if path.is_file() else set()
        if name not in found[file]:
            missing.append(f"tests/security/{file}::{name}")
    assert missing == [], "cited in docs/threat-model.md but not in tests/security"


def test_the_checker_sees_a_missing_test(tmp_path: Path) -> None:
    # The checker itself must be able to fail: a citation of a test that is not there.
    fake = tmp_path / "test_x.py"
    fake.write_text("def test_here() -> None:\n    pass\n", encoding="utf-8")
    assert _tests_in(fake) == {"test_here"}
    assert CITATION.findall("| T1 | x | tests/security/test_x.py::test_gone |") == [
        ("test_x.py", "test_gone")]
