"""The values a SQLite statement binds and returns (what `sqlite3` adapts without help)."""

from __future__ import annotations

from typing import TypeAlias

#: One bound parameter or one column of a row, as the stores use them.
SqlValue: TypeAlias = "str | int | float | bytes | None"

__all__ = ["SqlValue"]
