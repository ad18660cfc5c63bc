"""Database errors as backend errors: by cause, and with no value from a query in the text.

A driver's message can quote a bound value ("invalid input syntax for type date:
"..."") -- a date of birth, a name. Quoted text is kept only when it is a name the
mapping itself uses (a table or column); anything else is replaced by "...".
"""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import exc as sa_exc

from agency_adapters.backend import (
    BackendError,
    BackendMisconfigured,
    BackendTimeout,
    BackendUnavailable,
)

_QUOTED = re.compile(r"\"([^\"]*)\"|'([^']*)'")
#: SQLSTATE of a statement cancelled by PostgreSQL's statement_timeout.
_QUERY_CANCELED = "57014"


def redacted(message: str, allowed: Collection[str]) -> str:
    """The first line of `message`, quoted text kept only if it is in `allowed`."""
    first = message.strip().splitlines()[0] if message.strip() else ""

    def keep(m: re.Match[str]) -> str:
        inner = m.group(1) if m.group(1) is not None else m.group(2)
        return m.group(0) if inner in allowed else '"..."'

    return _QUOTED.sub(keep, first)[:300]


def from_database(exc: Exception, what: str, names: Collection[str] = ()) -> BackendError:
    """The backend error for a SQLAlchemy/DBAPI error raised while doing `what`."""
    orig = getattr(exc, "orig", None)
    detail = redacted(str(orig if orig is not None else exc), names)
    if isinstance(exc, sa_exc.TimeoutError):
        return BackendTimeout(f"{what}: no database connection free in time")
    if getattr(orig, "sqlstate", None) == _QUERY_CANCELED:
        return BackendTimeout(f"{what}: the database cancelled it at its statement timeout")
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError):
        return BackendUnavailable(f"{what}: cannot reach the database: {detail}")
    if isinstance(exc, sa_exc.ProgrammingError | sa_exc.DataError | sa_exc.NoSuchTableError
                  | sa_exc.NoSuchColumnError):
        return BackendMisconfigured(
            f"{what}: the database refused a mapped query (has its schema changed?): {detail}")
    return BackendError(f"{what}: {type(exc).__name__}: {detail}")
