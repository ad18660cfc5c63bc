"""Files appear whole or not at all (`mash.files`)."""

import re
import stat
from pathlib import Path

import pytest

from audit.checkpoints import create_private_key, load_private_key
from mash.files import PRIVATE_MODE, create_file


def test_create_file_creates_once_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k"
    assert create_file(path, b"first", mode=PRIVATE_MODE) is True
    assert create_file(path, b"second", mode=PRIVATE_MODE) is False
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == PRIVATE_MODE
    assert [p.name for p in path.parent.iterdir()] == ["k"]  # no temporary file left


def test_a_checkpoint_key_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    key = create_private_key(path)
    with pytest.raises(FileExistsError):
        create_private_key(path)
    assert load_private_key(path).public_key().public_bytes_raw() == \
        key.public_key().public_bytes_raw()


ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mash", "certs", "identity", "audit", "policy", "agency_adapters", "broker", "console")


def test_no_part_writes_its_own_temporary_file_to_rename() -> None:
    # A fixed ".tmp" name beside the target, written without fsync and renamed: two writers
    # clash and a crash can leave an empty file. `mash.files` is the one way.
    hand_rolled = re.compile(r"""\.tmp\b["'}]""")
    offenders = [f"{p.relative_to(ROOT)}:{n}"
                 for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))
                 if p != ROOT / "mash" / "files.py"
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if hand_rolled.search(line)]
    assert offenders == []
