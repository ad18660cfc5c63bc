"""Command-line sub-commands of this part (registered from mash/cli.py)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this part's sub-commands to the `mash` parser."""
