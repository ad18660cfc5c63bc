"""Shared helpers for integration tests (reading real audit logs, building requests)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mash.app.demo import green_request, red_request
from mash.demo_data import DemoSubject, demo_referrals
from mash.home import Home
from mash.v1 import mash_pb2 as pb

__all__ = ["audit_rows", "demo_subjects", "green_request", "red_request"]


def demo_subjects(home: Home, n: int = 0) -> list[DemoSubject]:
    """The subjects of demo referral `n` from the seeded data."""
    return demo_referrals(home)[n]["subjects"]


def audit_rows(path: Path, referral_id: str) -> list[str]:
    """Raw JSON of every audit entry in the log at `path` that names `referral_id`."""
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        rows: list[str] = []
        for table in tables:
            cols = [r[1] for r in con.execute(f"pragma table_info('{table}')")]
            for col in cols:
                rows.extend(
                    r[0] for r in con.execute(
                        f"select {col} from '{table}' where typeof({col}) = 'text' and "
                        f"{col} like ?", (f"%{referral_id}%",))
                )
        return rows
    finally:
        con.close()


def statuses(summary: pb.ReferralSummary) -> dict[str, str]:
    """agency -> status."""
    return {a.agency: a.status for a in summary.agencies}
