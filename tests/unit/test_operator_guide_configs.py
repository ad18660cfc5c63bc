"""The trial broker config that the operator guide's walk-through writes is one the broker takes.

The walk-through is followed by hand (agency IT on a fresh host), so a config it prints that
the broker refuses is a step that fails with no step in the guide to fix it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from broker.config import BrokerConfig

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operator-guide.md"


def _command_writing(target: str) -> str:
    """The shell command in the guide that writes `target` (continued lines joined)."""
    text = GUIDE.read_text(encoding="utf-8").replace("\\\n", " ")
    found = [line for line in text.splitlines() if line.rstrip().endswith(f"> {target}")]
    assert len(found) == 1, f"the guide should write {target} exactly once"
    return found[0]


def test_the_walk_through_broker_config_is_accepted(tmp_path: Path) -> None:
    command = _command_writing("$M/broker.toml")
    assert re.match(r"\s*printf ", command)
    subprocess.run(["bash", "-c", command], env={"M": str(tmp_path), "PATH": "/usr/bin:/bin"},
                   check=True)
    config = BrokerConfig.load(tmp_path / "broker.toml")
    assert config.broker_id == "mash-demo"
    assert [a.agency.value for a in config.adapters] == ["childrens_social_care"]
