"""A synthetic social care reporting warehouse, shaped like a council's (for tests and the guide).

Children's social care systems (Liquidlogic, Mosaic) publish a reporting database that
an adapter reads with the SQL backend. This module creates one such schema -- people,
addresses, cases with open and closed dates, child-protection plans, looked-after
episodes -- and fills it from the same synthetic population as `mash seed`, so at one
seed and size it holds exactly the people of the SQLite demo store
(`mash seed warehouse --url URL`). Synthetic data only.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    CHAR,
    Column,
    Connection,
    Date,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    text,
)
from sqlalchemy.schema import CreateSchema

from agency_adapters.backend import Person, Record
from agency_adapters.seed.build import build_population, project_agency
from agency_adapters.seed.demo import demo_citizens
from mash.clock import london_today
from mash.vocab import Agency

SCHEMA = "social_care"
_SEX_CODES = {"female": "F", "male": "M"}
_LEGAL_STATUS = ("C2", "V2", "J2", "L2")  # full care order, s20, remand, emergency protection
_PLACEMENT = ("U1", "U3", "K2", "R1")     # foster care with relative, foster, children's home, parent


def warehouse_tables(schema: str | None = SCHEMA) -> tuple[MetaData, dict[str, Table]]:
    """The warehouse's tables (a schema of its own on PostgreSQL / SQL Server)."""
    md = MetaData(schema=schema)
    people = Table(
        "people", md,
        Column("person_id", String(20), primary_key=True),
        Column("forename", String(100), nullable=False),
        Column("middle_names", String(100)),
        Column("surname", String(100), nullable=False),
        Column("previous_surname", String(100)),
        Column("date_of_birth", Date),
        Column("gender", CHAR(1), nullable=False),
        Column("nhs_number", String(12)),
        Column("upn", String(13)),
        Index("people_dob", "date_of_birth"), Index("people_nhs", "nhs_number"),
        Index("people_upn", "upn"))
    pid = f"{schema}.people.person_id" if schema else "people.person_id"
    addresses = Table(
        "addresses", md,
        Column("address_id", Integer, primary_key=True),
        Column("person_id", String(20), ForeignKey(pid), nullable=False),
        Column("line_1", String(200), nullable=False),
        Column("postcode", String(8), nullable=False),
        Column("start_date", Date, nullable=False),
        Column("end_date", Date),
        Index("addresses_person", "person_id"), Index("addresses_postcode", "postcode"))
    cases = Table(
        "cases", md,
        Column("case_id", String(30), primary_key=True),
        Column("person_id", String(20), ForeignKey(pid), nullable=False),
        Column("referral_date", Date, nullable=False),
        Column("close_date", Date),
        Column("case_type", String(60), nullable=False),
        Column("team", String(80), nullable=False),
        Column("closure_reason", String(80)),
        Index("cases_person", "person_id"))
    plans = Table(
        "cp_plans", md,
        Column("plan_id", String(30), primary_key=True),
        Column("person_id", String(20), ForeignKey(pid), nullable=False),
        Column("start_date", Date, nullable=False),
        Column("end_date", Date),
        Column("category_of_abuse", String(40), nullable=False),
        Index("cp_plans_person", "person_id"))
    episodes = Table(
        "lac_episodes", md,
        Column("episode_id", String(30), primary_key=True),
        Column("person_id", String(20), ForeignKey(pid), nullable=False),
        Column("start_date", Date, nullable=False),
        Column("end_date", Date),
        Column("legal_status", String(4), nullable=False),
        Column("placement_type", String(4), nullable=False),
        Index("lac_episodes_person", "person_id"))
    return md, {t.name: t for t in (people, addresses, cases, plans, episodes)}


@dataclass(frozen=True)
class WarehouseReport:
    """What was written."""

    people: int
    cases: int
    cp_plans: int
    lac_episodes: int
    seconds: float


class WarehouseWriter:
    """Takes people and CSC records as the seed projects them, writes warehouse rows.

    Has the two methods `seed.build.project_agency` calls on a store writer.
    """

    def __init__(self, conn: Connection, tables: dict[str, Table], seed: int,
                 as_of: date) -> None:
        self.conn = conn
        self.t = tables
        self.seed = seed
        self.as_of = as_of
        self.counts = {name: 0 for name in tables}
        self._address_id = 0

    def _insert(self, name: str, rows: Sequence[Mapping[str, object]]) -> None:
        if rows:
            self.conn.execute(insert(self.t[name]), rows)
            self.counts[name] += len(rows)

    def add_people(self, people: Iterable[Person]) -> None:
        """One people row each, with the current address (and, for some, an older one)."""
        rows, addresses = [], []
        for p in people:
            given = p.given_name.split(" ", 1)
            rows.append({
                "person_id": p.person_id, "forename": given[0],
                "middle_names": given[1] if len(given) > 1 else None,
                "surname": p.family_name,
                "previous_surname": p.other_names[0] if p.other_names else None,
                "date_of_birth": date.fromisoformat(p.date_of_birth) if p.date_of_birth else None,
                "gender": _SEX_CODES.get(p.sex, "U"), "nhs_number": p.nhs_number or None,
                "upn": p.upn or None})
            rng = random.Random(f"{self.seed}:address:{p.person_id}")
            moved_in = self.as_of - timedelta(days=rng.randint(30, 3000))
            if rng.random() < 0.3:
                addresses.append(self._address(p.person_id, f"{rng.randint(1, 99)} Old Mill Lane",
                                               "S10 9ZZ", moved_in - timedelta(days=700), moved_in))
            addresses.append(self._address(p.person_id, p.address, p.postcode, moved_in, None))
        self._insert("people", rows)
        self._insert("addresses", addresses)

    def _address(self, person_id: str, line: str, postcode: str, start: date,
                 end: date | None) -> dict[str, object]:
        self._address_id += 1
        return {"address_id": self._address_id, "person_id": person_id, "line_1": line or "-",
                "postcode": postcode, "start_date": start, "end_date": end}

    def add_records(self, records: Iterable[Record]) -> None:
        """A case per CSC record; a child-protection plan and looked-after episode where due."""
        cases, plans, episodes = [], [], []
        for r in records:
            a = dict(r.attributes)
            opened = date.fromisoformat(r.occurred_on)
            closed = date.fromisoformat(a["closed_on"]) if a.get("closed_on") else None
            kind = a.get("plan") or a.get("outcome") or "assessment"
            cases.append({"case_id": r.record_id, "person_id": r.person_id,
                          "referral_date": opened, "close_date": closed,
                          "case_type": kind, "team": a.get("team", "Assessment Team North"),
                          "closure_reason": a.get("outcome")})
            if "child protection plan" not in kind:
                continue
            category = kind.split("(")[1].rstrip(")") if "(" in kind else "neglect"
            start = opened + timedelta(days=21)
            plans.append({"plan_id": f"{r.record_id}/CP", "person_id": r.person_id,
                          "start_date": start, "end_date": closed,
                          "category_of_abuse": category})
            rng = random.Random(f"{self.seed}:lac:{r.record_id}")
            if rng.random() < 0.25:
                episodes.append({"episode_id": f"{r.record_id}/LAC", "person_id": r.person_id,
                                 "start_date": start + timedelta(days=rng.randint(10, 90)),
                                 "end_date": closed,
                                 "legal_status": rng.choice(_LEGAL_STATUS),
                                 "placement_type": rng.choice(_PLACEMENT)})
        self._insert("cases", cases)
        self._insert("cp_plans", plans)
        self._insert("lac_episodes", episodes)


def create_warehouse(engine: Engine, *, seed: int = 7, people: int = 10_000,
                     schema: str | None = SCHEMA, reader_role: str | None = None,
                     as_of: date | None = None,
                     agency: Agency = Agency.CHILDRENS_SOCIAL_CARE) -> WarehouseReport:
    """Create the warehouse schema (dropping an older copy) and fill it for `seed`.

    Dated relative to `as_of` (default: today in England), as `mash seed` is. It holds
    `agency`'s projection of the population: children's social care's (a few per cent of
    it, with cases), or another's (health holds nearly everyone) to give a warehouse of
    the same people as that agency's demo store, for benchmarks.
    """
    t0 = time.perf_counter()
    md, tables = warehouse_tables(schema)
    pop, red = build_population(seed, people, as_of or london_today())
    # The same choices as `seed_agencies`, so the warehouse holds the demo store's people.
    chosen = demo_citizens(pop, red)
    forced = frozenset(chosen["red"])
    protected = frozenset(cid for cids in chosen.values() for cid in cids)
    with engine.begin() as conn:
        if schema and schema not in conn.dialect.get_schema_names(conn):
            conn.execute(CreateSchema(schema))
        md.drop_all(conn, checkfirst=True)
        md.create_all(conn)
        writer = WarehouseWriter(conn, tables, seed, pop.as_of)
        project_agency(pop, agency, writer, seed=seed,
                       demo_citizens=forced, keep_single=protected)
        if reader_role and conn.dialect.name == "postgresql":
            conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{reader_role}"'))
            conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" '
                              f'TO "{reader_role}"'))
    c = writer.counts
    return WarehouseReport(c["people"], c["cases"], c["cp_plans"], c["lac_episodes"],
                           time.perf_counter() - t0)
