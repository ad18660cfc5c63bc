"""`pip install .` must work from a fresh checkout: the wheel carries the generated stubs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_wheel_from_a_clean_tree_ships_stubs_and_agreements(tmp_path: Path) -> None:
    src = tmp_path / "src"
    # a copy without generated code, as a fresh clone has
    skip = shutil.ignore_patterns(".venv", ".git", "*.egg-info", "build", ".mash*", "__pycache__",
                                  ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache")

    def ignore(folder: str, names: list[str]) -> set[str]:
        generated = {"v1"} if Path(folder) == ROOT / "mash" else set()
        return set(skip(folder, names)) | generated

    shutil.copytree(ROOT, src, ignore=ignore)
    assert not (src / "mash" / "v1").exists()
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(src)], check=True, timeout=580)
    (wheel,) = out.glob("mash_hub-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mash/v1/mash_pb2.py" in names
    assert "mash/v1/mash_pb2_grpc.py" in names
    assert "policy/agreements/police.toml" in names
    assert any(n.endswith("entry_points.txt") for n in names)
    assert "broker/report/templates/report.html" in names
    assert not [n for n in names if n.startswith("bench/")]  # benchmarks stay in the checkout
