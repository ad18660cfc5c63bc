"""Reading people from the mapped tables: one row -> one `Person`, with the current address."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, TableClause, bindparam, column, select, table

from agency_adapters.backend import Person
from agency_adapters.sql.mapping import SEXES, PeopleMapping, SqlMapping, TableName
from agency_adapters.sql.templates import as_text


def lightweight(t: TableName, columns: Sequence[str]) -> TableClause:
    """A table construct naming only the columns we read (no reflection at query time)."""
    return table(t.name, *(column(c) for c in dict.fromkeys(columns)), schema=t.schema)


class PeopleReader:
    """Builds `Person`s from the mapped people (and address) tables."""

    def __init__(self, mapping: SqlMapping) -> None:
        self.mapping = mapping
        p = mapping.people
        self.people = lightweight(p.table, p.column_names())
        self._select = select(*(self.people.c[c] for c in p.column_names()))
        a = mapping.addresses
        self.addresses = lightweight(a.table, a.column_names()) if a else None

    def by_ids(self, conn: Connection, ids: Sequence[str]) -> list[Person]:
        """The people with these ids (unknown ids are skipped), with their current address."""
        if not ids:
            return []
        id_col = self.people.c[self.mapping.people.id]
        rows = conn.execute(self._select.where(id_col.in_(bindparam("ids", expanding=True))),
                            {"ids": list(ids)}).mappings().all()
        found = [dict(r) for r in rows]
        return self._people(conn, found)

    def sample(self, conn: Connection) -> Person | None:
        """One person with a date of birth (for `mash adapter check`'s sample match)."""
        cols = self.mapping.people.columns
        stmt = self._select
        if "date_of_birth" in cols:
            stmt = stmt.where(self.people.c[cols["date_of_birth"][0]].is_not(None))
        rows = conn.execute(stmt.limit(1)).mappings().all()
        people = self._people(conn, [dict(r) for r in rows])
        return people[0] if people else None

    def scan(self, conn: Connection, batch: int = 5000) -> Iterator[list[Person]]:
        """Every person, in batches (for building the key table, never for a query)."""
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(
            self._select)
        for part in result.mappings().partitions(batch):
            yield self._people(conn, [dict(r) for r in part])

    def _people(self, conn: Connection, rows: list[dict[str, object]]) -> list[Person]:
        addresses = self._addresses(conn, [as_text(r[self.mapping.people.id]) for r in rows])
        return [self._person(r, addresses) for r in rows]

    def _addresses(self, conn: Connection, ids: list[str]) -> dict[str, tuple[str, str]]:
        a, t = self.mapping.addresses, self.addresses
        if a is None or t is None or not ids:
            return {}
        stmt: Select[Any] = select(*(t.c[c] for c in a.column_names())).where(
            t.c[a.person_id].in_(bindparam("ids", expanding=True)))
        if a.current:
            stmt = stmt.where(t.c[a.current].is_(None))
        best: dict[str, tuple[str, tuple[str, str]]] = {}
        for row in conn.execute(stmt, {"ids": ids}).mappings():
            pid = as_text(row[a.person_id])
            rank = as_text(row[a.latest]) if a.latest else ""
            value = (as_text(row[a.postcode]), as_text(row[a.address]) if a.address else "")
            if pid not in best or rank > best[pid][0]:
                best[pid] = (rank, value)
        return {pid: value for pid, (_, value) in best.items()}

    def _person(self, row: Mapping[str, object], addresses: dict[str, tuple[str, str]]) -> Person:
        p: PeopleMapping = self.mapping.people
        cols = p.columns

        def joined(name: str) -> str:
            return " ".join(v for v in (as_text(row[c]) for c in cols.get(name, ())) if v)

        pid = as_text(row[p.id])
        dob = as_text(row[cols["date_of_birth"][0]]) if "date_of_birth" in cols else ""
        postcode, address = addresses.get(pid, (joined("postcode"), joined("address")))
        return Person(
            person_id=pid,
            given_name=joined("given_name"),
            family_name=joined("family_name"),
            other_names=tuple(v for v in (as_text(row[c]) for c in cols.get("other_names", ()))
                              if v),
            date_of_birth=dob[:10] or None,
            sex=_sex(joined("sex"), p.sex_values),
            postcode=postcode,
            address=address,
            nhs_number=joined("nhs_number"),
            upn=joined("upn"),
        )


def _sex(value: str, codes: Mapping[str, str]) -> str:
    if value in codes:
        return codes[value]
    low = value.lower()
    return low if low in SEXES else "unknown"
