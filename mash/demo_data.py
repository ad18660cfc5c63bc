"""The ready-made demo referrals that `mash seed` writes beside the synthetic agency data."""

from __future__ import annotations

import json
from typing import Any

from mash.home import Home


def demo_referrals(home: Home) -> list[dict[str, Any]]:
    """The demo referrals: each a dict with `title` and `subjects` (proto-JSON Subject dicts)."""
    path = home.data_dir / "demo_subjects.json"
    data = json.loads(path.read_text())
    referrals: list[dict[str, Any]] = data["referrals"] if isinstance(data, dict) else data
    return referrals
