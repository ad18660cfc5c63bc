"""Comments, docstrings, docs and test names describe the code, not the work that made it.

"issue 4", "rule 7" or "round 5" mean something only to whoever did that piece of work;
the history of figures lives in `docs/performance.md` and nowhere else.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Where history may be told, and this file (its examples are what it looks for).
HISTORY = {"docs/performance.md", "tests/unit/test_words.py"}
WORK_ITEM = re.compile(r"(?<![-A-Za-z0-9])(issue|rule|round)s? *#?\d+", re.IGNORECASE)
TEXT = re.compile(r"\.(py|md|toml|html|proto|txt|cfg|ya?ml|sh|service)$|(^|/)(Makefile|run)$")


def _tracked_text_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    return [name for name in out if TEXT.search(name) and name not in HISTORY]


def test_the_pattern_finds_work_items() -> None:
    assert WORK_ITEM.search("# see issue 15 for why")
    assert WORK_ITEM.search("Round 5 made this faster")
    assert WORK_ITEM.search("def test_rule7_denies")
    assert not WORK_ITEM.search("mash bench audit-breakdown [--rounds 2]")
    assert not WORK_ITEM.search("the rules of the agreement")


def test_no_work_item_numbers_outside_the_performance_history() -> None:
    files = _tracked_text_files()
    assert "broker/service.py" in files  # the scan sees the source
    offenders = [f"{name}:{n}: {m.group(0)}" for name in files
                 for n, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1)
                 for m in [WORK_ITEM.search(line)] if m]
    assert offenders == []
