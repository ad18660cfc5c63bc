"""A real PostgreSQL server for the tests (started by `tests.pgserver` in a temporary folder).

Where the server binaries are truly absent a test is skipped with a message saying so --
except in CI (CI=true), where that is a failure: CI must not skip the database tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import pgserver
from tests.pgserver import (
    ADMIN,
    KIT_OWNER,
    READER,
    PostgresServer,
    PostgresUnavailable,
    Warehouse,
    create_role,
    make_warehouse,
)

__all__ = ["ADMIN", "KIT_OWNER", "READER", "PostgresServer", "Warehouse", "create_role",
           "make_warehouse", "postgres_server", "require_bindir"]


def _unavailable(exc: PostgresUnavailable) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL tests: {exc}")
    pytest.skip(str(exc))


def require_bindir() -> Path:
    """The server binaries, or skip (fail in CI) naming what was looked for."""
    try:
        return pgserver.require_bindir()
    except PostgresUnavailable as exc:
        _unavailable(exc)
        raise


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A server for the tests (skip, or fail in CI, where PostgreSQL cannot run)."""
    try:
        started = pgserver.postgres_server()
        server = started.__enter__()
    except PostgresUnavailable as exc:
        _unavailable(exc)
        raise
    try:
        yield server
    finally:
        started.__exit__(None, None, None)
