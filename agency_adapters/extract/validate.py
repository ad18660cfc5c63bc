"""Reading one extract against its declared schema into a new snapshot store.

A bad row (wrong number of fields, a required value missing, a malformed date, an
undeclared code, a duplicate id, a record for nobody in the people file) is reported by
file, line and column and skipped. The extract as a whole is refused -- nothing of it
used -- when a file is missing, unreadable or not UTF-8, when a header differs from the
declared one, when a file has more bad rows than `max_bad_row_fraction`, or when it
holds far fewer people than the extract in use (a truncated export). Problems never
quote a value from the file: line and column are enough to find it, and the value may
be a name or a date of birth.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from agency_adapters.backend import Person, Record
from agency_adapters.extract.schema import ExtractSchema, FileSchema, PeopleFile, RecordsFile
from agency_adapters.sqlite_store import StoreWriter
from mash.clock import Clock
from mash.errors import present
from mash.vocab import Category

_BATCH = 20_000
ISO_DATE = "%Y-%m-%d"


class ExtractRefused(Exception):
    """The extract does not pass as a whole (the message says why)."""

    def __init__(self, message: str, outcome: Outcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class Problem:
    """One problem found in an extract (never with a value from the file)."""

    file: str
    line: int
    column: str
    text: str

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}"
        return f"{where}, column {self.column}: {self.text}" if self.column else \
            f"{where}: {self.text}"


@dataclass
class Outcome:
    """What one extract held and what was wrong with it."""

    data_as_of: str
    rows: dict[str, int] = field(default_factory=dict)
    bad_rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    people: int = 0
    records: int = 0
    seconds: float = 0.0


class _Rows:
    """Rows of one CSV file checked against its declared header and columns."""

    def __init__(self, folder: Path, spec: FileSchema, outcome: Outcome) -> None:
        self.path = folder / spec.file
        self.spec = spec
        self.outcome = outcome
        outcome.rows[spec.file] = 0
        outcome.bad_rows[spec.file] = 0

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        spec = self.spec
        if not self.path.is_file():
            raise ExtractRefused(f"{spec.file}: missing from the extract")
        try:
            with self.path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.reader(fh)
                header = next(reader, None)
                if header is None:
                    raise ExtractRefused(f"{spec.file}: empty (no header line)")
                self._check_header([h.strip() for h in header])
                for row in reader:
                    line = reader.line_num
                    if not row or row == [""]:
                        continue
                    self.outcome.rows[spec.file] += 1
                    values = self._row(line, row)
                    if values is None:
                        self.bad(line, "", "")  # already reported
                        continue
                    yield line, values
        except UnicodeDecodeError as exc:
            raise ExtractRefused(f"{spec.file}: not UTF-8 text (byte {exc.start} of a "
                                 "line is not valid UTF-8)") from None
        except csv.Error as exc:
            raise ExtractRefused(f"{spec.file}: not readable as CSV: {exc}") from None
        except OSError as exc:
            raise ExtractRefused(f"{spec.file}: cannot be read: {exc.strerror}") from None

    def _check_header(self, header: list[str]) -> None:
        want = list(self.spec.header)
        if header == want:
            return
        for i, (got, declared) in enumerate(zip(header, want, strict=False), start=1):
            if got != declared:
                raise ExtractRefused(f"{self.spec.file} line 1: header column {i} is {got!r}, "
                                     f"the schema declares {declared!r}")
        raise ExtractRefused(f"{self.spec.file} line 1: the header has {len(header)} columns, "
                             f"the schema declares {len(want)}")

    def _row(self, line: int, row: list[str]) -> dict[str, str] | None:
        spec = self.spec
        if len(row) != len(spec.header):
            self.problem(line, "", f"{len(row)} fields, the header has {len(spec.header)}")
            return None
        values = {name: value.strip() for name, value in zip(spec.header, row, strict=True)}
        for col in spec.required:
            if not values[col]:
                self.problem(line, col, "required, but empty")
                return None
        for col, fmt in spec.dates.items():
            if values[col]:
                try:
                    values[col] = datetime.strptime(values[col], fmt).date().isoformat()
                except ValueError:
                    self.problem(line, col, f"not a date in the declared format {fmt}")
                    return None
        return values

    def problem(self, line: int, column: str, text: str) -> None:
        """Report a problem with one row."""
        self.outcome.problems.append(Problem(self.spec.file, line, column, text))

    def bad(self, line: int, column: str, text: str) -> None:
        """Count one skipped row (reporting it when `text` says why)."""
        if text:
            self.problem(line, column, text)
        self.outcome.bad_rows[self.spec.file] += 1


def _iso_date(rows: _Rows, line: int, column: str, value: str) -> str | None:
    """`value` as YYYY-MM-DD (columns without a declared format must already be)."""
    if not value or column in rows.spec.dates:
        return value
    try:
        return datetime.strptime(value, ISO_DATE).date().isoformat()
    except ValueError:
        rows.bad(line, column, f"not a date in the format {ISO_DATE} (declare its format "
                               "under dates)")
        return None


def _people(folder: Path, spec: PeopleFile, outcome: Outcome, writer: StoreWriter) -> set[str]:
    rows = _Rows(folder, spec, outcome)
    ids: dict[str, int] = {}
    batch: list[Person] = []
    f = spec.fields
    for line, v in rows:
        pid = v[spec.person_id]
        if not pid:
            rows.bad(line, spec.person_id, "required, but empty")
            continue
        if pid in ids:
            rows.bad(line, spec.person_id, f"the same id as line {ids[pid]}")
            continue
        dob = _iso_date(rows, line, f["date_of_birth"], v[f["date_of_birth"]]) \
            if "date_of_birth" in f else ""
        if dob is None:
            continue
        sex = v[f["sex"]] if "sex" in f else ""
        if sex and spec.sex_values:
            if sex not in spec.sex_values:
                rows.bad(line, f["sex"], "not one of the declared codes "
                                         f"({', '.join(spec.sex_values)})")
                continue
            sex = spec.sex_values[sex]
        ids[pid] = line
        batch.append(Person(
            person_id=pid, given_name=v[f["given_name"]], family_name=v[f["family_name"]],
            other_names=tuple(n.strip() for n in v[f["other_names"]].split(";") if n.strip())
            if "other_names" in f else (),
            date_of_birth=dob or None, sex=sex or "unknown",
            postcode=v[f["postcode"]] if "postcode" in f else "",
            address=v[f["address"]] if "address" in f else "",
            nhs_number=v[f["nhs_number"]] if "nhs_number" in f else "",
            upn=v[f["upn"]] if "upn" in f else ""))
        if len(batch) >= _BATCH:
            writer.add_people(batch)
            batch = []
    writer.add_people(batch)
    return set(ids)


def _records(folder: Path, spec: RecordsFile, outcome: Outcome, writer: StoreWriter,
             people: set[str], seen: set[str], people_file: str) -> None:
    rows = _Rows(folder, spec, outcome)
    batch: list[Record] = []
    for line, v in rows:
        pid = v[spec.person_id]
        if pid not in people:
            rows.bad(line, spec.person_id, f"no such person in {people_file}")
            continue
        rid = v[spec.record_id]
        if not rid:
            rows.bad(line, spec.record_id, "required, but empty")
            continue
        if rid in seen:
            rows.bad(line, spec.record_id, "the same record id as an earlier row")
            continue
        occurred = _iso_date(rows, line, spec.occurred_on, v[spec.occurred_on])
        if occurred is None:
            continue
        if not occurred:
            rows.bad(line, spec.occurred_on, "required, but empty")
            continue
        category: Category | None = spec.category
        if spec.category_column is not None:
            category = spec.category_values.get(v[spec.category_column])
            if category is None:
                rows.bad(line, spec.category_column, "not one of the declared codes "
                                                     f"({', '.join(spec.category_values)})")
                continue
        category = present(category, "category")
        seen.add(rid)
        attributes = {name: v[col] for name, col in spec.attributes.items() if v[col]}
        batch.append(Record(rid, pid, category, occurred, spec.summary.render(v), attributes))
        if len(batch) >= _BATCH:
            writer.add_records(batch)
            batch = []
    writer.add_records(batch)


def build_snapshot(folder: Path, schema: ExtractSchema, target: Path, *, agency: str,
                   data_as_of: str, people_in_use: int | None) -> Outcome:
    """Validate the extract in `folder` and write it as a store at `target`.

    Raises `ExtractRefused` (and leaves nothing at `target`) when it does not pass; the
    partial outcome is on the exception's `outcome` attribute.
    """
    t0 = time.perf_counter()
    outcome = Outcome(data_as_of)
    writer = StoreWriter(target, agency, meta={"data_as_of": data_as_of, "extract": "yes"})
    try:
        ids = _people(folder, schema.people, outcome, writer)
        seen: set[str] = set()
        for spec in schema.records:
            _records(folder, spec, outcome, writer, ids, seen, schema.people.file)
        _check_totals(schema, outcome, len(ids), people_in_use)
    except ExtractRefused as exc:
        writer.abort()
        raise ExtractRefused(str(exc), outcome) from None
    except BaseException:
        writer.abort()
        raise
    writer.finish()
    outcome.people, outcome.records = writer.people, writer.records
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _check_totals(schema: ExtractSchema, outcome: Outcome, people: int,
                  people_in_use: int | None) -> None:
    for name, rows in outcome.rows.items():
        bad = outcome.bad_rows[name]
        if rows and bad / rows > schema.max_bad_row_fraction:
            raise ExtractRefused(
                f"{name}: {bad:,} of {rows:,} rows are bad ({bad / rows:.1%}), more than "
                f"max_bad_row_fraction {schema.max_bad_row_fraction:.1%}")
    if people == 0:
        raise ExtractRefused(f"{schema.people.file}: no person passed")
    if people_in_use and people < schema.min_people_fraction * people_in_use:
        raise ExtractRefused(
            f"{schema.people.file}: {people:,} people, fewer than "
            f"{schema.min_people_fraction:.0%} of the {people_in_use:,} in the extract in use "
            "(a truncated export?)")


def read_ready(path: Path, clock: Clock) -> str:
    """The extract time the ready file gives (RFC 3339), or its modification time."""
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if not text:
        from datetime import UTC

        return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ExtractRefused(f"{path.name}: {text[:40]!r} is not an RFC 3339 time "
                             "(e.g. 2026-11-02T02:00:00+00:00), and not empty") from None
    if when.tzinfo is None:
        raise ExtractRefused(f"{path.name}: the extract time has no time zone")
    if when > clock():
        raise ExtractRefused(f"{path.name}: the extract time {when.isoformat()} is in the future")
    return when.isoformat(timespec="seconds")
