"""The packages keep to their layers (docs/architecture.md, "Layers"): no import goes upwards.

Read from the source with `ast`, so a late import inside a function counts as much as one at
the top of a module. `mash.app` (CLI root, cluster, demo) is a node of its own, on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Rank of each package; a package may import only from packages of a lower rank.
RANKS: dict[str, int] = {
    "mash": 0,
    "certs": 1,
    "identity": 2,
    "audit": 2,
    "policy": 3,
    "agency_adapters": 4,
    "broker": 4,
    "console": 5,
    "mash.app": 6,
}


def _node(dotted: str) -> str | None:
    parts = dotted.split(".")
    if parts[:2] == ["mash", "app"]:
        return "mash.app"
    return parts[0] if parts[0] in RANKS else None


def import_edges(root: Path = ROOT) -> set[tuple[str, str, str]]:
    """(importer, imported, file) for every import between two different project packages."""
    edges: set[tuple[str, str, str]] = set()
    for package in [p for p in RANKS if "." not in p]:
        for path in (root / package).rglob("*.py"):
            rel = path.relative_to(root)
            if rel.parts[:2] == ("mash", "v1"):
                continue  # generated stubs
            me = _node(".".join(rel.with_suffix("").parts))
            assert me is not None
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    other = _node(name)
                    if other is not None and other != me:
                        edges.add((me, other, str(rel)))
    return edges


def upward(edges: set[tuple[str, str, str]]) -> list[str]:
    """The imports that go to a package of the same or a higher layer."""
    return sorted(f"{file}: {me} imports {other}" for me, other, file in edges
                  if RANKS[other] >= RANKS[me])


def test_no_package_imports_its_own_layer_or_one_above() -> None:
    edges = import_edges()
    assert edges, "the source tree was not read"
    assert upward(edges) == []


def test_the_check_sees_an_upward_import() -> None:
    # The check itself can fail: the application layer imported from the bottom one.
    assert upward({("mash", "mash.app", "mash/x.py")}) == ["mash/x.py: mash imports mash.app"]
    assert upward({("broker", "agency_adapters", "broker/x.py")}) == [
        "broker/x.py: broker imports agency_adapters"]
    assert upward({("broker", "policy", "broker/x.py")}) == []


def _imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_test_and_no_part_imports_the_benchmarks() -> None:
    # bench/ is not shipped; what a test needs lives in the package or in tests/ (the
    # benchmarks' own checks live beside them, in bench/tests/).
    sources = [p for top in ("tests", *[p for p in RANKS if "." not in p])
               for p in (ROOT / top).rglob("*.py")]
    assert ROOT / "tests" / "conftest.py" in sources
    offenders = sorted(str(p.relative_to(ROOT)) for p in sources
                       if any(n == "bench" or n.startswith("bench.") for n in _imports_of(p)))
    assert offenders == []
