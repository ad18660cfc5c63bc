"""The extract backend: validation by line and column, atomic swaps, "data as of", health."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agency_adapters.backend import AsyncAgencyBackend, BackendUnavailable, QueryIdentifiers
from agency_adapters.extract.backend import ExtractBackend
from agency_adapters.extract.schema import ExtractSchema
from agency_adapters.extract.template import schema_text, write_extract
from agency_adapters.matching import match
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.home import Home
from mash.vocab import AGENCY_CATEGORIES, Agency

POLICE = Agency.POLICE
T1 = "2026-11-01T02:00:00+00:00"
T2 = "2026-11-02T02:00:00+00:00"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Rig:
    """An incoming folder, a work folder and the declared schema, for one test."""

    def __init__(self, tmp_path: Path, home: Home) -> None:
        self.incoming = tmp_path / "incoming"
        self.work = tmp_path / "work"
        self.incoming.mkdir()
        self.tmp_path = tmp_path
        self.declare(max_bad="0.01")
        self.store = SqliteAgencyStore(home.agency_store(POLICE))
        self.now = NOW

    def declare(self, max_bad: str) -> None:
        """(Re)write the declared schema with this max_bad_row_fraction."""
        path = self.tmp_path / "schema.toml"
        path.write_text(schema_text(POLICE).replace("max_bad_row_fraction = 0.01",
                                                    f"max_bad_row_fraction = {max_bad}"))
        self.schema = ExtractSchema.load(path, POLICE)

    def export(self, as_of: str) -> None:
        write_extract(self.store, self.incoming, POLICE, as_of)

    def backend(self) -> ExtractBackend:
        return ExtractBackend("police", self.schema, self.incoming, self.work, threads=2,
                              poll_interval_s=3600, retire_after_s=0.05,
                              clock=lambda: self.now)

    def edit(self, name: str, line: int, column: str | None, value: str) -> None:
        """Change one cell (or, with column None, the whole line) of an incoming file."""
        path = self.incoming / name
        rows = list(csv.reader(path.open(newline="")))
        if column is None:
            rows[line - 1] = value.split(",")
        else:
            rows[line - 1][rows[0].index(column)] = value
        with path.open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)


@pytest.fixture()
def rig(tmp_path: Path, home: Home) -> Rig:
    return Rig(tmp_path, home)


def test_an_extract_serves_what_the_store_holds_and_says_as_of_when(rig: Rig) -> None:
    rig.export(T1)
    backend = rig.backend()
    assert isinstance(backend, AsyncAgencyBackend)
    view = backend.view()
    assert view.data_as_of == T1
    people = list(rig.store.iter_people())[:40]

    async def answers() -> None:
        for person in people:
            found = await view.candidates(QueryIdentifiers.of_person(person))
            assert person.person_id in {p.person_id for p in found}
        held = rig.store.records_for(people[0].person_id, AGENCY_CATEGORIES[POLICE])
        got = await view.records_for(people[0].person_id, AGENCY_CATEGORIES[POLICE])
        assert [(r.record_id, r.category, r.occurred_on, r.summary) for r in got] == \
            [(r.record_id, r.category, r.occurred_on, r.summary) for r in held]
        state = await backend.probe()
        assert state.serving and state.fault == "" and state.data_as_of == T1
        await backend.aclose()

    asyncio.run(answers())
    snapshot = SqliteAgencyStore(next((rig.work / "snapshots").iterdir()))
    for person in people:
        q = QueryIdentifiers.of_person(person)
        assert match(snapshot, q).person_id == match(rig.store, q).person_id
    assert not (rig.incoming / "extract.ready").exists(), "processed files are filed away"
    assert len(list((rig.work / "done").glob("*-accepted"))) == 1


def test_a_wrong_header_refuses_the_extract_and_keeps_the_one_in_use(rig: Rig) -> None:
    rig.export(T1)
    backend = rig.backend()
    rig.export(T2)
    rig.edit("people.csv", 1, "date_of_birth", "dob")

    async def scenario() -> None:
        assert await backend.take_pending() is False
        state = await backend.probe()
        assert state.serving and state.data_as_of == T1
        assert ("people.csv line 1: header column 5 is 'dob', the schema declares "
                "'date_of_birth'") in state.fault
        assert backend.view().data_as_of == T1
        await backend.aclose()

    asyncio.run(scenario())
    refused = list((rig.work / "done").glob("*-refused"))
    assert len(refused) == 1 and (refused[0] / "people.csv").exists()


def test_bad_rows_are_reported_by_line_and_column_and_skipped(rig: Rig) -> None:
    rig.declare(max_bad="0.5")  # the test store is small: a few bad rows are a large share
    rig.export(T1)
    people = list(csv.reader((rig.incoming / "people.csv").open(newline="")))
    victim = people[6][0]
    rig.edit("people.csv", 7, "date_of_birth", "31/02/2015")
    rig.edit("people.csv", 9, "sex", "X")
    rig.edit("records.csv", 4, "record_type", "PARKING")
    rig.edit("records.csv", 5, "person_ref", "NOBODY-1")
    backend = rig.backend()
    report = next((rig.work / "reports").iterdir()).read_text()
    assert "result: accepted" in report
    assert ("people.csv line 7, column date_of_birth: not a date in the declared format "
            "%d/%m/%Y") in report
    assert "people.csv line 9, column sex: not one of the declared codes (F, M, U)" in report
    assert "records.csv line 4, column record_type: not one of the declared codes" in report
    assert "records.csv line 5, column person_ref: no such person in people.csv" in report
    assert "31/02/2015" not in report and "NOBODY-1" not in report  # no values, ever
    snapshot = SqliteAgencyStore(next((rig.work / "snapshots").iterdir()))
    assert snapshot.person(victim) is None
    assert snapshot.count_people() == rig.store.count_people() - 2
    asyncio.run(backend.aclose())


def test_too_many_bad_rows_or_too_few_people_refuse_the_extract(rig: Rig) -> None:
    rig.export(T1)
    for line in range(2, 12):
        rig.edit("people.csv", line, "surname", "")
    backend = rig.backend()
    state = asyncio.run(backend.probe())
    assert not state.serving
    assert "people.csv: 10 of" in state.fault and "more than max_bad_row_fraction 1.0%" in state.fault
    # a truncated export after a good one
    rig.declare(max_bad="0.9")
    rig.export(T1)
    good = rig.backend()
    rig.export(T2)
    lines = (rig.incoming / "people.csv").read_text().splitlines()
    (rig.incoming / "people.csv").write_text("\n".join(lines[:len(lines) // 3]) + "\n")
    asyncio.run(good.take_pending())
    fault = asyncio.run(good.probe()).fault
    assert "fewer than 50% of the" in fault and "(a truncated export?)" in fault
    asyncio.run(good.aclose())


def test_the_ready_file_must_name_a_later_extract_time(rig: Rig) -> None:
    rig.export(T2)
    backend = rig.backend()
    rig.export(T1)
    asyncio.run(backend.take_pending())
    assert "is not later than the extract in use" in asyncio.run(backend.probe()).fault
    rig.export("yesterday at two")
    asyncio.run(backend.take_pending())
    assert "is not an RFC 3339 time" in asyncio.run(backend.probe()).fault
    assert backend.view().data_as_of == T2
    asyncio.run(backend.aclose())


def test_before_any_extract_the_adapter_is_not_serving(rig: Rig) -> None:
    backend = rig.backend()
    state = asyncio.run(backend.probe())
    assert not state.serving and "no extract has been accepted yet" in state.fault
    with pytest.raises(BackendUnavailable, match="no extract has been accepted yet"):
        asyncio.run(backend.view().candidates(QueryIdentifiers(family_name="Shaw")))


def test_a_restart_serves_the_extract_in_use_and_staleness_is_a_fault(rig: Rig) -> None:
    rig.export(T1)
    asyncio.run(rig.backend().aclose())
    again = rig.backend()
    assert again.view().data_as_of == T1
    rig.now = NOW + timedelta(days=2)
    state = asyncio.run(again.probe())
    assert state.serving and "has the nightly export stopped?" in state.fault
    asyncio.run(again.aclose())


def test_a_query_reads_one_whole_extract_across_a_swap(rig: Rig) -> None:
    rig.export(T1)
    backend = rig.backend()
    person = next(rig.store.iter_people())

    async def scenario() -> None:
        before = backend.view()
        rig.export(T2)
        assert await backend.take_pending()
        # the query that began before the swap still reads its own extract
        assert before.data_as_of == T1
        assert person.person_id in {p.person_id for p in await before.candidates(
            QueryIdentifiers.of_person(person))}
        assert backend.view().data_as_of == T2
        await asyncio.sleep(0.2)  # the old extract is retired after retire_after_s
        assert len(list((rig.work / "snapshots").iterdir())) == 1
        await backend.aclose()

    asyncio.run(scenario())
