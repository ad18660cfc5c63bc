"""The mapping checked against the live database: every table, column, index and query.

Run at start-up and by `mash adapter check`. All problems are collected and reported
at once, each naming the mapping field and the table or column it points at, so an
operator fixes the mapping in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, inspect, text
from sqlalchemy import exc as sa_exc

from agency_adapters.backend import BackendMisconfigured
from agency_adapters.sql.errors import from_database
from agency_adapters.sql.mapping import SqlMapping, TableName
from mash.errors import present

#: The kit's own tables in the blocking schema (built by `mash adapter build-keys`).
KIT_TABLES = ("match_keys", "name_freq", "build_info")


class SchemaMismatch(BackendMisconfigured):
    """The mapping names tables, columns or queries the live database does not have."""

    def __init__(self, mapping: SqlMapping, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        lines = "\n  ".join(self.problems)
        super().__init__(f"mapping {mapping.path} does not fit the database:\n  {lines}")


class _Columns:
    """Column names of live tables, read once each."""

    def __init__(self, engine: Engine) -> None:
        self.inspector = inspect(engine)
        self._cache: dict[TableName, list[str] | None] = {}

    def of(self, table: TableName) -> list[str] | None:
        if table not in self._cache:
            try:
                cols = self.inspector.get_columns(table.name, schema=table.schema)
                self._cache[table] = [str(c["name"]) for c in cols]
            except sa_exc.NoSuchTableError:
                self._cache[table] = None
        return self._cache[table]


def _missing_column(field: str, table: TableName, column: str, have: list[str]) -> str:
    near = [c for c in have if c.lower() == column.lower()]
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return f"{field}: column {column!r} not found in {table}{hint}"


def check_schema(engine: Engine, mapping: SqlMapping) -> None:
    """Raise `SchemaMismatch` listing every way `mapping` does not fit the database."""
    try:
        problems = list(_problems(engine, mapping))
    except sa_exc.SQLAlchemyError as exc:
        raise from_database(exc, "reading the database schema") from None
    if problems:
        raise SchemaMismatch(mapping, problems)


def _problems(engine: Engine, mapping: SqlMapping) -> Iterable[str]:
    live = _Columns(engine)

    def table_columns(field: str, table: TableName, wanted: Iterable[tuple[str, str]]
                      ) -> Iterable[str]:
        have = live.of(table)
        if have is None:
            yield f"{field}: table or view {table} not found"
            return
        for sub, col in wanted:
            if col not in have:
                yield _missing_column(f"{field}.{sub}", table, col, have)

    people = mapping.people
    yield from table_columns("people", people.table, [("id", people.id)] + [
        (name, col) for name, cols in people.columns.items() for col in cols])
    a = mapping.addresses
    if a is not None:
        yield from table_columns("addresses", a.table, [
            (k, c) for k, c in (("person_id", a.person_id), ("postcode", a.postcode),
                                ("address", a.address), ("current", a.current),
                                ("latest", a.latest)) if c])
    for i, r in enumerate(mapping.records):
        field = f"records[{i}] ({r.name})"
        if r.table is not None:
            yield from table_columns(field, r.table, [("person_id", present(r.person_id, field))] + [
                ("columns", c) for c in r.output_columns()])
        else:
            yield from _query_problems(engine, field, r.sql or "", r.output_columns())
    b = mapping.blocking
    if b.method == "match_keys":
        for name in KIT_TABLES:
            if live.of(TableName(name, b.schema)) is None:
                yield (f"blocking: the kit's table {b.schema}.{name} is missing: build it with "
                       "`mash adapter build-keys --config ADAPTER.toml --writer-url-file FILE`")
    else:
        yield from _index_problems(live, mapping)


def _query_problems(engine: Engine, field: str, sql: str, needed: list[str]) -> Iterable[str]:
    """Run the records query for no rows: it must compile and give every needed column."""
    probe = text(f"SELECT * FROM ({sql}) mash_q WHERE 1 = 0")  # noqa: S608 - the operator's own query
    try:
        with engine.connect() as conn:
            got = list(conn.execute(probe, {"person_id": None}).keys())
    except sa_exc.DBAPIError as exc:
        detail = str(from_database(exc, "query")).split(": ", 1)[-1]
        yield f"{field}.sql: the database refused the query: {detail}"
        return
    for col in needed:
        if col not in got:
            yield f"{field}.sql: the query gives no column {col!r} (it gives {', '.join(got)})"


def _index_problems(live: _Columns, mapping: SqlMapping) -> Iterable[str]:
    """The `columns` blocking method reads through indexes only: each must exist."""
    people, a = mapping.people, mapping.addresses
    for name in mapping.blocking.fields:
        if name == "postcode" and "postcode" not in people.columns and a is not None:
            table, col = a.table, a.postcode
        else:
            table, col = people.table, people.columns[name][0]
        if live.of(table) is None:
            continue  # reported above
        if not _leads_an_index(live, table, col):
            yield (f"blocking.columns: {name} ({table}.{col}) has no index that starts with it: "
                   "every lookup would scan the table. Create one, or use method = \"match_keys\"")
    if a is not None and "postcode" in mapping.blocking.fields and live.of(a.table) is not None \
            and not _leads_an_index(live, a.table, a.person_id):
        yield (f"addresses.person_id: {a.table}.{a.person_id} has no index that starts with it: "
               "reading a candidate's address would scan the table")


def _leads_an_index(live: _Columns, table: TableName, column: str) -> bool:
    insp = live.inspector
    leading: list[list[str]] = [
        [str(c) for c in (ix.get("column_names") or []) if c]
        for ix in insp.get_indexes(table.name, table.schema)]
    leading.append([str(c) for c in
                    insp.get_pk_constraint(table.name, table.schema).get("constrained_columns")
                    or []])
    leading.extend([str(c) for c in (u.get("column_names") or [])]
                   for u in insp.get_unique_constraints(table.name, table.schema))
    return any(cols and cols[0] == column for cols in leading)
