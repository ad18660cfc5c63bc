"""The adapter's database account must not be able to write: checked before it serves.

PostgreSQL: the catalogue says what the account may do, through every role it
inherits: superuser or CREATEROLE; INSERT, UPDATE, DELETE or TRUNCATE on any table or
view of the database (not only those the mapping names: a records query may read
others), column grants included; CREATE in any schema. Other databases (SQL Server,
SQLite, ...): each table the mapping names, and each table a records query reads FROM
or JOINs (found in its text), is tried with a write that touches no row (UPDATE ...
WHERE 1 = 0) in a transaction that is rolled back; the database refusing it is the
proof the account cannot write there.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, inspect, text
from sqlalchemy import exc as sa_exc

from agency_adapters.backend import BackendWritable
from agency_adapters.sql.errors import from_database
from agency_adapters.sql.mapping import SqlMapping, TableName
from agency_adapters.sql.schema import KIT_TABLES

_PG_WRITE = "INSERT,UPDATE,DELETE,TRUNCATE"


def checked_tables(mapping: SqlMapping) -> list[TableName]:
    """Every table the account reads: the mapping's, and the kit's key tables."""
    tables = mapping.tables()
    if mapping.blocking.method == "match_keys":
        tables.extend(TableName(t, mapping.blocking.schema) for t in KIT_TABLES)
    return tables


def check_read_only(engine: Engine, mapping: SqlMapping) -> None:
    """Raise `BackendWritable` naming what the account could write."""
    try:
        if engine.dialect.name == "postgresql":
            found = _postgresql_writes(engine, mapping)
        else:
            found = _probed_writes(engine, mapping)
    except sa_exc.SQLAlchemyError as exc:
        raise from_database(exc, "checking the account is read-only") from None
    if found:
        raise BackendWritable(
            "the database account can write, and an adapter must read with a read-only "
            "account: " + "; ".join(found)
            + ". Grant it SELECT only (see docs/operator-guide.md, 'SQL backend').")


def _quoted(engine: Engine, t: TableName) -> str:
    prep = engine.dialect.identifier_preparer
    name = prep.quote(t.name)
    return f"{prep.quote_schema(t.schema)}.{name}" if t.schema else name


_PG_WRITABLE_TABLES = text("""
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND has_schema_privilege(n.oid, 'USAGE')
  AND (has_table_privilege(c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE')
       OR has_any_column_privilege(c.oid, 'INSERT,UPDATE'))
ORDER BY 1, 2
LIMIT 20
""")
_PG_CREATE_SCHEMAS = text("""
SELECT nspname FROM pg_namespace
WHERE has_schema_privilege(oid, 'CREATE')
  AND nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
ORDER BY 1
""")


def _postgresql_writes(engine: Engine, mapping: SqlMapping) -> list[str]:
    with engine.connect() as conn:
        user = conn.execute(text("SELECT current_user")).scalar_one()
        role = conn.execute(text("SELECT rolsuper, rolcreaterole FROM pg_roles "
                                 "WHERE rolname = current_user")).one()
        found = [f"{user} is a superuser"] if role[0] else []
        if role[1]:
            found.append(f"{user} may create roles (and so grant itself more)")
        found += [f"{user} may write to {schema}.{name}"
                  for schema, name in conn.execute(_PG_WRITABLE_TABLES)]
        found += [f"{user} may create objects in schema {schema}"
                  for (schema,) in conn.execute(_PG_CREATE_SCHEMAS)]
    return found


_FROM = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?)",
                   re.IGNORECASE)


def tables_read_by(sql: str) -> list[TableName]:
    """Tables a records query names after FROM or JOIN (best effort: for the write probe)."""
    found = []
    for name in _FROM.findall(sql):
        parts = name.split(".")
        found.append(TableName(parts[-1], parts[0] if len(parts) == 2 else None))
    return found


def _probed_writes(engine: Engine, mapping: SqlMapping) -> list[str]:
    tables = checked_tables(mapping)
    for r in mapping.records:
        tables.extend(tables_read_by(r.sql or ""))
    inspector = inspect(engine)
    found: list[str] = []
    for t in dict.fromkeys(tables):
        try:
            first = str(inspector.get_columns(t.name, schema=t.schema)[0]["name"])
        except (sa_exc.NoSuchTableError, IndexError):
            continue  # a missing table is the schema check's to report
        # Names quoted by the dialect, no values at all: nothing here comes from a query.
        name = _quoted(engine, t)
        col = engine.dialect.identifier_preparer.quote(first)
        for verb, sql in (("UPDATE", f"UPDATE {name} SET {col} = {col} WHERE 1 = 0"),  # noqa: S608
                          ("DELETE", f"DELETE FROM {name} WHERE 1 = 0"),  # noqa: S608
                          ("INSERT", f"INSERT INTO {name} SELECT * FROM {name} WHERE 1 = 0")):  # noqa: S608
            if _accepted(engine, sql):
                found.append(f"an {verb} of {t} was accepted")
    return found


def _accepted(engine: Engine, sql: str) -> bool:
    """Does the database accept this no-row write? (Always rolled back.)"""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            conn.execute(text(sql))
        except sa_exc.DBAPIError:
            return False
        finally:
            trans.rollback()
    return True
