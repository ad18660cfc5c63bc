"""The configs the operator guide shows are ones the services take.

The guide is followed by hand (agency IT on a fresh host), so a config it prints that the
broker refuses, or a code block left open that swallows the text after it, is a step that
fails with no step in the guide to fix it.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
import tomllib
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


def _toml_blocks(text: str) -> list[str]:
    """The ```toml code blocks of a Markdown text, dedented."""
    blocks = re.findall(r"^([ \t]*)```toml\n(.*?)^\1```[ \t]*$", text, re.S | re.M)
    return [textwrap.dedent(body) for _, body in blocks]


def test_every_code_fence_in_the_guides_is_closed() -> None:
    for guide in sorted(GUIDE.parent.glob("*.md")):
        fences = [n for n, line in enumerate(guide.read_text(encoding="utf-8").splitlines(), 1)
                  if line.lstrip().startswith("```")]
        assert len(fences) % 2 == 0, f"{guide.name}: a code fence is never closed ({fences})"


def test_every_toml_example_in_the_operator_guide_is_toml() -> None:
    blocks = _toml_blocks(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    for block in blocks:
        tomllib.loads(block)


def test_the_running_the_broker_config_is_accepted(tmp_path: Path) -> None:
    configs = [b for b in _toml_blocks(GUIDE.read_text(encoding="utf-8"))
               if b.startswith("broker_id = ")]
    assert len(configs) == 1, "the guide should show one full broker.toml"
    (tmp_path / "broker.toml").write_text(configs[0], encoding="utf-8")
    config = BrokerConfig.load(tmp_path / "broker.toml")
    assert config.identity is not None and not config.dev_mode
