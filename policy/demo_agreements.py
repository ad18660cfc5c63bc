"""The demo borough's agreements in a home folder, dated relative to the day it is set up.

The files in `policy/agreements/` are the demo borough's data-sharing agreements, written on
`WRITTEN_ON` with the dates a real agreement carries (in force from, until, review date). A
demo or test home gets its own copy with those three dates moved by the days since then, so
the demo tells the same story on any day: the agreements are always in force, never expired.
A real MASH writes its own agreements and never uses this.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from mash.home import Home
from policy.approval import agreements_dir
from policy.loader import agreement_paths

#: The day the shipped agreements' dates were written against.
WRITTEN_ON = date(2026, 11, 2)
_DATED = re.compile(r"^(in_force_from|in_force_until|review_date)(\s*=\s*)(\d{4}-\d{2}-\d{2})\s*$",
                    re.MULTILINE)


def redate(text: str, shift: timedelta) -> str:
    """`text` (an agreement file) with its in-force and review dates moved by `shift`."""
    return _DATED.sub(lambda m: f"{m[1]}{m[2]}{(date.fromisoformat(m[3]) + shift).isoformat()}",
                      text)


_MASH_ID = re.compile(r'^mash_id(\s*=\s*)"([^"]*)"\s*$', re.MULTILINE)
_ID = re.compile(r'^id(\s*=\s*)"([^"]*)"\s*$', re.MULTILINE)


def readdress(text: str, mash_id: str) -> str:
    """`text` (an agreement file) made the agreement of MASH `mash_id` with the same agency.

    The id's MASH part (`dsa-mash-demo-police` -> `dsa-<mash_id>-police`) and `mash_id` change,
    nothing else: for a demo or test of one adapter serving several MASHs.
    """
    old = _MASH_ID.search(text)
    if old is None:
        raise ValueError("agreement text has no mash_id line")
    text = _ID.sub(lambda m: f'id{m[1]}"{m[2].replace(old[2], mash_id, 1)}"', text, count=1)
    return _MASH_ID.sub(lambda m: f'mash_id{m[1]}"{mash_id}"', text, count=1)


def install_demo_agreements(home: Home, source: Path, today: date) -> Path:
    """Copy `source`'s agreements (and scenarios) into the home, re-dated for `today`.

    Returns the home's agreements folder. A file whose re-dated text is unchanged is not
    rewritten, so its approvals stand.
    """
    target = agreements_dir(home)
    target.mkdir(parents=True, exist_ok=True)
    shift = today - WRITTEN_ON
    for path in agreement_paths(source):
        text = redate(path.read_text(encoding="utf-8"), shift)
        out = target / path.name
        if not out.is_file() or out.read_text(encoding="utf-8") != text:
            out.write_text(text, encoding="utf-8")
    scenarios = source / "scenarios"
    if scenarios.is_dir():
        # Contents only (not the checkout's modes): the home's folders stay the owner's.
        for path in sorted(scenarios.rglob("*")):
            out = target / "scenarios" / path.relative_to(scenarios)
            if path.is_dir():
                out.mkdir(parents=True, exist_ok=True)
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(path.read_bytes())
    return target
