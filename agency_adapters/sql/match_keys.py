"""The kit's own blocking-key table: built from the mapped people, read for every query.

`mash adapter build-keys` reads every person through the mapping (with the adapter's
read-only account), computes their blocking keys (`matching.blocking.person_keys`) and
name counts, and writes them -- with a separate account that owns the kit's schema --
into `<schema>.match_keys`, `<schema>.name_freq` and `<schema>.build_info`. The new
tables are built beside the old ones and swapped in by one transaction, so a query
never sees a half-built table. Run it nightly: a person added since the last build is
found only after the next one.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    TableClause,
    bindparam,
    column,
    insert,
    literal_column,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.schema import CreateSchema

from agency_adapters.backend import Person
from agency_adapters.matching.blocking import person_keys
from agency_adapters.matching.frequencies import NameCounter, NameFrequencies
from agency_adapters.sql.people import PeopleReader
from mash.clock import Clock, utc_now
from mash.errors import present

#: At most this many people are read for one blocking key (a crowded key cannot cause a scan).
PER_KEY_LIMIT = 200
#: At most this many candidates are scored for one query.
MAX_CANDIDATES = 600
_BATCH = 5000


def key_table(schema: str) -> TableClause:
    """The key table as a lightweight construct (key, person_id)."""
    return table("match_keys", column("key"), column("person_id"), schema=schema)


@functools.lru_cache(maxsize=256)
def candidate_ids_statement(schema: str, n: int) -> Select[Any]:
    """Person ids for `n` keys (bound as k0..k{n-1}), at most PER_KEY_LIMIT each, in key order."""
    mk = key_table(schema)
    parts = []
    for i in range(n):
        one = (select(literal_column(str(i)).label("ord"), mk.c.person_id)
               .where(mk.c.key == bindparam(f"k{i}")).limit(PER_KEY_LIMIT).subquery(f"k{i}"))
        parts.append(select(one.c.ord, one.c.person_id))
    found = union_all(*parts).subquery("found")
    return select(found.c.person_id).order_by(found.c.ord)


def candidate_ids(conn: Connection, schema: str, keys: Sequence[str]) -> list[str]:
    """The first MAX_CANDIDATES distinct ids found by `keys`, most selective key first."""
    if not keys:
        return []
    rows = conn.execute(candidate_ids_statement(schema, len(keys)),
                        {f"k{i}": k for i, k in enumerate(keys)})
    ids: dict[str, None] = {}
    for (pid,) in rows:
        ids.setdefault(str(pid), None)
        if len(ids) >= MAX_CANDIDATES:
            break
    return list(ids)


def read_frequencies(conn: Connection, schema: str) -> NameFrequencies:
    """The name counts written with the key table."""
    freq = table("name_freq", column("kind"), column("name"), column("n"), schema=schema)
    rows = conn.execute(select(freq.c.kind, freq.c.name, freq.c.n))
    return NameFrequencies.from_rows((str(k), str(n), int(c)) for k, n, c in rows)


def read_build_info(conn: Connection, schema: str) -> tuple[str, int] | None:
    """(built_at, people) of the key table in use."""
    info = table("build_info", column("built_at"), column("people"), schema=schema)
    row = conn.execute(select(info.c.built_at, info.c.people)).first()
    return (str(row[0]), int(row[1])) if row else None


@dataclass(frozen=True)
class BuildReport:
    """What one build wrote."""

    people: int
    keys: int
    seconds: float
    built_at: str


def _tables(schema: str, suffix: str) -> tuple[MetaData, Table, Table, Table]:
    md = MetaData(schema=schema)
    keys = Table(f"match_keys{suffix}", md, Column("key", String(200), nullable=False),
                 Column("person_id", String(100), nullable=False))
    names = Table(f"name_freq{suffix}", md, Column("kind", String(10), nullable=False),
                  Column("name", String(200), nullable=False), Column("n", Integer, nullable=False))
    info = Table(f"build_info{suffix}", md, Column("built_at", String(40), nullable=False),
                 Column("people", Integer, nullable=False), Column("keys", Integer, nullable=False))
    return md, keys, names, info


def build_match_keys(reader_engine: Engine, writer_engine: Engine, people: PeopleReader,
                     schema: str, grant_to: str | None = None,
                     clock: Clock = utc_now) -> BuildReport:
    """Build the key tables from every mapped person and swap them in (see module docstring)."""
    t0 = time.perf_counter()
    stamp = str(int(clock().timestamp() * 1000))
    md, keys_t, names_t, info_t = _tables(schema, "_new")
    counter = NameCounter()
    n_people = n_keys = 0
    with writer_engine.begin() as w:
        if schema not in w.dialect.get_schema_names(w) and w.dialect.name != "sqlite":
            w.execute(CreateSchema(schema))
        md.drop_all(w, checkfirst=True)
        md.create_all(w)
    with reader_engine.connect() as r, writer_engine.begin() as w:
        for batch in people.scan(r, _BATCH):
            rows = [(k, p.person_id) for p in batch for k in person_keys(p)]
            for p in batch:
                counter.add(p.given_name, p.family_name)
            _bulk_insert(w, keys_t, rows)
            n_people += len(batch)
            n_keys += len(rows)
        _bulk_insert(w, names_t, list(counter.rows()))
        built_at = clock().isoformat()
        w.execute(insert(info_t).values(built_at=built_at, people=n_people, keys=n_keys))
        # Indexed after the bulk load (faster); a per-build name never collides with the
        # old table's index, which goes with it.
        Index(f"match_keys_{stamp}", keys_t.c.key, keys_t.c.person_id).create(w)
    _swap(writer_engine, schema, grant_to)
    return BuildReport(n_people, n_keys, time.perf_counter() - t0, built_at)


def _bulk_insert(conn: Connection, target: Table, rows: Sequence[tuple[object, ...]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        name = conn.dialect.identifier_preparer.format_table(target)
        cols = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in target.columns)
        raw = present(conn.connection.driver_connection, "the psycopg connection")
        with raw.cursor() as cur, cur.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    names = [c.name for c in target.columns]
    conn.execute(insert(target), [dict(zip(names, row, strict=True)) for row in rows])


def _swap(engine: Engine, schema: str, grant_to: str | None) -> None:
    """Replace the kit's tables by the new ones in one transaction (readers never see a gap)."""
    prep = engine.dialect.identifier_preparer
    with engine.begin() as conn:
        for name in ("match_keys", "name_freq", "build_info"):
            old = f"{prep.quote_schema(schema)}.{prep.quote(name)}"
            new = f"{prep.quote_schema(schema)}.{prep.quote(name + '_new')}"
            conn.execute(text(f"DROP TABLE IF EXISTS {old}"))
            conn.execute(text(f"ALTER TABLE {new} RENAME TO {prep.quote(name)}"))
            if grant_to and engine.dialect.name != "sqlite":
                conn.execute(text(f"GRANT SELECT ON {old} TO {prep.quote(grant_to)}"))
        if grant_to and engine.dialect.name == "postgresql":
            conn.execute(text(f"GRANT USAGE ON SCHEMA {prep.quote_schema(schema)} "
                              f"TO {prep.quote(grant_to)}"))


def person_key_rows(people: Iterable[Person]) -> Iterable[tuple[str, str]]:
    """(key, person_id) rows of `people` (exposed for tests and the benchmark)."""
    for p in people:
        for k in person_keys(p):
            yield (k, p.person_id)
