"""Schema versions for SQLite stores: `PRAGMA user_version` and ordered migrations run at open.

Each store lists its migrations, oldest first; migration N turns a version N-1 file into a
version N file. Opening a store runs, in order, every migration above the file's version,
each in its own `BEGIN IMMEDIATE` transaction together with the version bump, so a crash or
a failing migration leaves the file at the last version it reached, and two processes
opening one file at once apply each migration once. A file newer than the code refuses to
open (`SchemaTooNew`) rather than be misread.

A store's first migration creates its tables with `IF NOT EXISTS`, so a file made before
stores carried a version (user_version 0) at that first shape is adopted as version 1.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass


class SchemaError(Exception):
    """A store's schema cannot be brought to the version this code needs."""


class SchemaTooNew(SchemaError):
    """The file was written by a newer version of mash-hub (its schema version is higher)."""


@dataclass(frozen=True)
class Migration:
    """One step of a store's schema: `version` is the version it produces."""

    version: int
    description: str
    #: SQL statements (no transaction control; triggers allowed) or a function of the connection.
    change: str | Callable[[sqlite3.Connection], None]


def schema_version(conn: sqlite3.Connection) -> int:
    """The file's schema version (`PRAGMA user_version`; 0 for a file that never had one)."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    return int(version)


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration], *, store: str) -> int:
    """Bring the database on `conn` to the newest version in `migrations`; return that version."""
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(migrations) + 1)):
        raise SchemaError(f"{store}: migrations must be numbered 1, 2, ... in order: {versions}")
    latest = len(migrations)
    current = schema_version(conn)
    if current > latest:
        raise SchemaTooNew(f"{store}: schema version {current} is newer than this mash-hub "
                           f"understands ({latest}); upgrade mash-hub to open it")
    if conn.in_transaction:
        conn.commit()
    for migration in migrations[current:]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) < migration.version:  # another process may have done it
                if isinstance(migration.change, str):
                    for statement in _statements(migration.change):
                        conn.execute(statement)
                else:
                    migration.change(conn)
                conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return latest


def _statements(script: str) -> list[str]:
    """The statements of `script`, split where SQLite says one is complete (triggers stay whole)."""
    out: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n\t;"):
                out.append(buffer)
            buffer = ""
    if buffer.strip(" \n\t;"):
        raise SchemaError(f"incomplete SQL statement in a migration: {buffer.strip()[:60]!r}")
    return out
