"""`SqlBackend`: the `AgencyBackend` of an agency's reporting database, through its mapping.

Synchronous (SQLAlchemy Core with a blocking driver): the adapter runs it in its bounded
thread pool, and its connection pool has as many connections as that pool has threads.
Every statement is built from the mapping's names with values bound as parameters; a
records query written in the mapping gets the person's id as the parameter :person_id.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    Select,
    TextClause,
    bindparam,
    column,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy import exc as sa_exc

from agency_adapters.backend import BackendState, Person, QueryIdentifiers, Record
from agency_adapters.matching.blocking import query_keys
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.matching.normalise import (
    format_nhs_number,
    normalise_nhs_number,
    normalise_postcode,
    normalise_upn,
    parse_dob,
    swapped_dob,
)
from agency_adapters.sql import match_keys
from agency_adapters.sql.errors import from_database
from agency_adapters.sql.mapping import RecordsMapping, SqlMapping
from agency_adapters.sql.people import PeopleReader, lightweight
from agency_adapters.sql.templates import as_text
from mash.clock import Clock, utc_now
from mash.errors import present
from mash.vocab import Category

T = TypeVar("T")


class SqlBackend:
    """Reads people and records from a reporting database as `mapping` says."""

    def __init__(self, engine: Engine, mapping: SqlMapping, *,
                 frequencies: NameFrequencies | None = None, max_key_age_h: float = 36.0,
                 clock: Clock = utc_now) -> None:
        self.engine = engine
        self.mapping = mapping
        self.reader = PeopleReader(mapping)
        self._frequencies = frequencies
        self.max_key_age_h = max_key_age_h
        self._clock = clock
        self._names = _mapping_names(mapping)
        self._records = {r.name: _records_statement(r) for r in mapping.records}

    def _run(self, what: str, work: Callable[[Connection], T]) -> T:
        try:
            with self.engine.connect() as conn:
                return work(conn)
        except sa_exc.SQLAlchemyError as exc:
            raise from_database(exc, what, self._names) from None

    # ------------------------------------------------------------------ AgencyBackend

    def candidates(self, query: QueryIdentifiers) -> list[Person]:
        """People sharing a blocking key with `query`, through the key table or indexes."""
        def work(conn: Connection) -> list[Person]:
            if self.mapping.blocking.method == "match_keys":
                ids = match_keys.candidate_ids(conn, self.mapping.blocking.schema,
                                               query_keys(query))
            else:
                ids = self._indexed_ids(conn, query)
            return self.reader.by_ids(conn, ids)
        return self._run("reading candidates", work)

    def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        """The person's records in `categories` from every mapped source, newest first."""
        wanted = set(categories)
        sources = [r for r in self.mapping.records if r.category in wanted]

        def work(conn: Connection) -> list[Record]:
            out: list[Record] = []
            for src in sources:
                rows = conn.execute(self._records[src.name], {"person_id": person_id})
                out.extend(_record(src, person_id, row) for row in rows.mappings())
            out.sort(key=lambda r: r.record_id)
            out.sort(key=lambda r: r.occurred_on, reverse=True)
            return out
        return self._run("reading records", work) if sources else []

    def name_frequencies(self) -> NameFrequencies | None:
        """Name counts from the kit's key table (None with the `columns` method)."""
        return self._frequencies

    def probe(self) -> BackendState:
        """The database answers; with match keys, their age (a stale table is a fault)."""
        def work(conn: Connection) -> BackendState:
            conn.execute(text("SELECT 1")).scalar_one()
            if self.mapping.blocking.method != "match_keys":
                return BackendState(serving=True)
            info = match_keys.read_build_info(conn, self.mapping.blocking.schema)
            if info is None:
                return BackendState(True, "match keys: the key table is empty; run "
                                          "`mash adapter build-keys`")
            built_at, _people = info
            age = self._clock() - datetime.fromisoformat(built_at)
            if age > timedelta(hours=self.max_key_age_h):
                return BackendState(True, f"match keys built {built_at}, more than "
                                          f"{self.max_key_age_h:g} h ago: people added since "
                                          "are not found; run `mash adapter build-keys`")
            return BackendState(serving=True)
        return self._run("health probe", work)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # ------------------------------------------------------------------ indexed columns

    def _indexed_ids(self, conn: Connection, query: QueryIdentifiers) -> list[str]:
        """Ids found through the database's own indexed columns (no key table)."""
        people = self.mapping.people
        parts: list[Select[Any]] = []
        params: dict[str, object] = {}
        for i, name in enumerate(self.mapping.blocking.fields):
            values = _lookup_values(name, query)
            if not values:
                continue
            if name == "postcode" and "postcode" not in people.columns:
                a = present(self.mapping.addresses, "the addresses mapping")
                t, id_col, col = lightweight(a.table, [a.person_id, a.postcode]), a.person_id, \
                    a.postcode
            else:
                col = people.columns[name][0]
                t, id_col = lightweight(people.table, [people.id, col]), people.id
            one = (select(literal_column(str(i)).label("ord"), t.c[id_col].label("person_id"))
                   .where(t.c[col].in_(bindparam(f"v{i}", expanding=True)))
                   .limit(match_keys.PER_KEY_LIMIT).subquery(f"b{i}"))
            parts.append(select(one.c.ord, one.c.person_id))
            params[f"v{i}"] = values
        if not parts:
            return []
        found = union_all(*parts).subquery("found")
        ids: dict[str, None] = {}
        for (pid,) in conn.execute(select(found.c.person_id).order_by(found.c.ord), params):
            ids.setdefault(as_text(pid), None)
            if len(ids) >= match_keys.MAX_CANDIDATES:
                break
        return list(ids)


def _lookup_values(name: str, query: QueryIdentifiers) -> Sequence[object]:
    """The values a query looks up in one indexed column (the forms a database may hold)."""
    if name == "nhs_number":
        n = normalise_nhs_number(query.nhs_number)
        return [n, format_nhs_number(n)] if n else []
    if name == "upn":
        u = normalise_upn(query.upn)
        return [u] if u else []
    if name == "date_of_birth":
        dob = parse_dob(query.date_of_birth)
        if dob is None:
            return []
        swapped = swapped_dob(dob)
        return [dob] + ([swapped] if swapped else [])
    if name == "postcode":
        pc = normalise_postcode(query.postcode)
        return [pc, pc.replace(" ", "")] if pc else []
    raise ValueError(name)


def _records_statement(src: RecordsMapping) -> Select[Any] | TextClause:
    """The statement reading one source's records for :person_id, newest first, bounded."""
    outputs = src.output_columns()
    if src.sql is not None:
        query = text(src.sql).columns(*(column(c) for c in outputs)).subquery("src")
        return (select(*(query.c[c] for c in outputs))
                .order_by(query.c[src.occurred_on].desc()).limit(src.max_records))
    table, person_id = present(src.table, "records table"), present(src.person_id, "person_id")
    t = lightweight(table, [person_id, *outputs])
    return (select(*(t.c[c] for c in outputs))
            .where(t.c[person_id] == bindparam("person_id"))
            .order_by(t.c[src.occurred_on].desc()).limit(src.max_records))


def _record(src: RecordsMapping, person_id: str, row: RowMapping) -> Record:
    attributes = {name: as_text(row[col]) for name, col in src.attributes.items()}
    return Record(
        record_id=f"{src.name}/{as_text(row[src.record_id])}",
        person_id=person_id,
        category=src.category,
        occurred_on=as_text(row[src.occurred_on])[:10],
        summary=src.summary.render(dict(row)),
        attributes={k: v for k, v in attributes.items() if v},
    )


def _mapping_names(mapping: SqlMapping) -> frozenset[str]:
    """Names a database error may quote without leaking data: the mapping's own."""
    names: set[str] = {mapping.blocking.schema}
    for t in mapping.tables():
        names.update(filter(None, (t.name, t.schema, str(t))))
    names.update(mapping.people.column_names())
    if mapping.addresses:
        names.update(mapping.addresses.column_names())
    for r in mapping.records:
        names.update(r.output_columns())
        if r.person_id:
            names.add(r.person_id)
    names.update(("match_keys", "name_freq", "build_info", "person_id"))
    return frozenset(names)

