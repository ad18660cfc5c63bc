"""A FHIR R4 server standing in for a trust's system, holding the synthetic health data.

The agency's system is outside mash-hub, so tests and the benchmark fake it -- but as a real
HTTPS server on loopback that the backend reaches with its real HTTP client. It serves the
people and records of a synthetic health store as Patient, Encounter, EpisodeOfCare and Flag
resources, with PDS-style Patient search (fuzzy matching with a score per result,
`_max-results` and TOO_MANY_MATCHES, restricted patients without an address). `fault` makes
it misbehave.

Two sources: `FhirData` holds every resource in memory (the tests edit it); `StoreSource`
reads the store on demand through indexes of its own (by date of birth, by NHS number), so
the benchmark can serve a million people. As a process, for the benchmark (its CPU is then
its own)::

    python -m tests.fhir_server --store health.sqlite --tls DIR --port-file FILE
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import ssl
import sys
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import jellyfish

from agency_adapters.backend import Person, Record
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.vocab import AGENCY_CATEGORIES, Agency, Category
from tests.tls_files import TlsFiles, TlsHttpServer, make_tls_files

NHS = "https://fhir.nhs.uk/Id/nhs-number"
#: How each health category is held: resource type and the code the template mapping reads.
HELD_AS: dict[Category, tuple[str, str]] = {
    Category.GP_REGISTRATION: ("EpisodeOfCare", "gp-registration"),
    Category.EMERGENCY_ATTENDANCES: ("Encounter", "EMER"),
    Category.MATERNITY_AND_HEALTH_VISITING: ("EpisodeOfCare", "maternity"),
    Category.CAMHS: ("EpisodeOfCare", "camhs"),
    Category.SEXUAL_HEALTH: ("EpisodeOfCare", "sexual-health"),
    Category.SUBSTANCE_MISUSE: ("EpisodeOfCare", "substance-misuse"),
    Category.WAS_NOT_BROUGHT: ("Flag", "was-not-brought"),
    Category.ADOPTION_RECORDS: ("Flag", "adoption"),
}


class PatientSource(Protocol):
    """Where the server's resources come from."""

    def born_on(self, birth_date: str) -> Iterable[dict[str, Any]]:
        """Every Patient with this birthDate."""
        ...

    def with_nhs_number(self, nhs: str) -> Iterable[dict[str, Any]]:
        """Every Patient with this NHS number."""
        ...

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        """One Patient by id, or None."""
        ...

    def records_of(self, patient_id: str) -> list[dict[str, Any]]:
        """Every record resource of one Patient."""
        ...


@dataclass
class FhirData:
    """The server's resources, built once from a health store and held in memory."""

    patients: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_patient: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def born_on(self, birth_date: str) -> Iterable[dict[str, Any]]:
        """Every Patient with this birthDate (a scan: the tests' data is small)."""
        return [p for p in self.patients.values() if p.get("birthDate") == birth_date]

    def with_nhs_number(self, nhs: str) -> Iterable[dict[str, Any]]:
        """Every Patient with this NHS number (a scan)."""
        return [p for p in self.patients.values()
                if any(i["value"] == nhs for i in p.get("identifier", []))]

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        """One Patient by id, or None."""
        return self.patients.get(patient_id)

    def records_of(self, patient_id: str) -> list[dict[str, Any]]:
        """Every record resource of one Patient."""
        return self.by_patient.get(patient_id, [])

    @classmethod
    def from_store(cls, path: Path) -> FhirData:
        data = cls()
        store = SqliteAgencyStore(path)
        try:
            for person in store.iter_people():
                data.patients[person.person_id] = patient_resource(person)
                records = store.records_for(person.person_id, AGENCY_CATEGORIES[Agency.HEALTH])
                data.by_patient[person.person_id] = [record_resource(r) for r in records]
        finally:
            store.close()
        return data


class StoreSource:
    """Resources read from a health store on demand, through the server's own indexes.

    The indexes (person ids by date of birth and by NHS number) are built once at start;
    the resources are made from the store's rows when asked for, as a FHIR server reads its
    own database: a million people are served without holding their resources in memory.
    """

    def __init__(self, path: Path) -> None:
        self.store = SqliteAgencyStore(path)
        self._by_dob: dict[str, list[str]] = defaultdict(list)
        self._by_nhs: dict[str, list[str]] = defaultdict(list)
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            for pid, dob, nhs in conn.execute(
                    "SELECT person_id, date_of_birth, nhs_number FROM people"):
                if dob:
                    self._by_dob[dob].append(pid)
                digits = "".join(ch for ch in nhs or "" if ch.isdigit())
                if digits:
                    self._by_nhs[digits].append(pid)
        finally:
            conn.close()

    def _patients(self, ids: list[str]) -> list[dict[str, Any]]:
        return [patient_resource(p) for p in self.store.people(ids)]

    def born_on(self, birth_date: str) -> Iterable[dict[str, Any]]:
        """Every Patient with this birthDate (by the index)."""
        return self._patients(self._by_dob.get(birth_date, []))

    def with_nhs_number(self, nhs: str) -> Iterable[dict[str, Any]]:
        """Every Patient with this NHS number (by the index)."""
        return self._patients(self._by_nhs.get(nhs, []))

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        """One Patient by id, or None."""
        found = self._patients([patient_id])
        return found[0] if found else None

    def records_of(self, patient_id: str) -> list[dict[str, Any]]:
        """Every record resource of one Patient."""
        return [record_resource(r) for r in
                self.store.records_for(patient_id, AGENCY_CATEGORIES[Agency.HEALTH])]


def patient_resource(person: Person) -> dict[str, Any]:
    """A person as a FHIR Patient (one in twenty restricted: no address)."""
    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": person.person_id,
        "name": [{"use": "official", "family": person.family_name,
                  "given": person.given_name.split()}],
        "gender": person.sex if person.sex in ("female", "male") else "unknown",
    }
    patient["name"] += [{"use": "old", "family": n} for n in person.other_names]
    if person.date_of_birth:
        patient["birthDate"] = person.date_of_birth
    nhs = "".join(ch for ch in person.nhs_number if ch.isdigit())
    if nhs:  # a FHIR server holds the ten digits, however the number was keyed
        patient["identifier"] = [{"system": NHS, "value": nhs}]
    if zlib.crc32(person.person_id.encode()) % 20 == 0:
        patient["meta"] = {"security": [{"code": "R"}]}
    elif person.postcode:
        patient["address"] = [{"line": [person.address] if person.address else [],
                               "postalCode": person.postcode}]
    return patient


def record_resource(record: Record) -> dict[str, Any]:
    """A health record as the resource the template mapping reads it from."""
    kind, code = HELD_AS[record.category]
    rid = record.record_id.replace("/", "-")
    ref = {"reference": f"Patient/{record.person_id}"}
    period = {"start": record.occurred_on}
    if kind == "Encounter":
        return {"resourceType": "Encounter", "id": rid, "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                          "code": code}, "subject": ref, "period": period,
                "type": [{"text": record.summary}]}
    if kind == "EpisodeOfCare":
        return {"resourceType": "EpisodeOfCare", "id": rid, "status": "finished",
                "patient": ref, "period": period,
                "type": [{"coding": [{"code": code}], "text": record.summary}]}
    return {"resourceType": "Flag", "id": rid, "status": "active", "subject": ref,
            "period": period, "code": {"coding": [{"code": code}], "text": record.summary}}


class FhirServer:
    """The HTTPS server; `fault` in (None, "500", "html", "slow") makes every answer go wrong."""

    def __init__(self, data: FhirData | PatientSource, tls: TlsFiles, *,
                 keep_alive: bool = False) -> None:
        self.data = data
        self.fault: str | None = None
        self.requests: list[str] = []
        server = self
        # HTTP/1.1 keeps a client's connection (and its TLS session) open between requests,
        # as a production FHIR server does; one thread serves each connection.
        # Headers and body go out in two writes: without TCP_NODELAY a kept-alive connection
        # waits on the client's delayed ACK (tens of ms) for every answer.
        handler = type("Handler", (_Handler,), {
            "fhir": server, "protocol_version": "HTTP/1.1" if keep_alive else "HTTP/1.0",
            "disable_nagle_algorithm": keep_alive})
        self._http = TlsHttpServer(("127.0.0.1", 0), handler, tls)
        self.base_url = f"https://127.0.0.1:{self._http.server_address[1]}/R4"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def start(self) -> FhirServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    # ------------------------------------------------------------------ searches

    def search_patients(self, q: Mapping[str, str]) -> dict[str, Any]:
        if "identifier" in q:
            nhs = q["identifier"].partition("|")[2]
            return _bundle([(p, 1.0) for p in self.data.with_nhs_number(nhs)])
        birthdate = q.get("birthdate", "").removeprefix("eq")
        fuzzy = q.get("_fuzzy-match") == "true"
        hits = []
        for p in self.data.born_on(birthdate):
            score = _score(p, q, fuzzy)
            if score > 0:
                hits.append((score, p))
        limit = int(q.get("_max-results", "50"))
        if len(hits) > limit:
            return {"resourceType": "OperationOutcome", "issue": [{
                "severity": "error", "code": "multiple-matches",
                "details": {"coding": [{"code": "TOO_MANY_MATCHES"}]}}]}
        hits.sort(key=lambda h: -h[0])
        return _bundle([(p, s) for s, p in hits])

    def search_records(self, kind: str, q: Mapping[str, str]) -> dict[str, Any]:
        pid = q.get("patient", "").removeprefix("Patient/")
        found = [r for r in self.data.records_of(pid) if r["resourceType"] == kind]
        if kind == "Encounter" and "class" in q:
            found = [r for r in found if r["class"]["code"] == q["class"]]
        if kind == "EpisodeOfCare" and "type" in q:
            found = [r for r in found if r["type"][0]["coding"][0]["code"] == q["type"]]
        return _bundle([(r, None) for r in found])


def _score(patient: Mapping[str, Any], q: Mapping[str, str], fuzzy: bool) -> float:
    name = patient["name"][0]
    family, given = name.get("family", "").casefold(), " ".join(name.get("given", [])).casefold()
    want_family, want_given = q.get("family", "").casefold(), q.get("given", "").casefold()
    exact = (not want_family or want_family == family) and (not want_given or
                                                            given.startswith(want_given))
    if not fuzzy:
        return 1.0 if exact else 0.0
    if exact:
        score = 1.0
    elif want_family and jellyfish.soundex(want_family) == jellyfish.soundex(family or "x"):
        score = 0.85
    elif want_given and given.split()[:1] == [want_given]:
        score = 0.7
    else:
        return 0.0
    postcode = (patient.get("address") or [{}])[0].get("postalCode", "")
    if q.get("address-postalcode") and postcode and q["address-postalcode"] != postcode:
        score -= 0.1
    if q.get("gender") and q["gender"] != patient.get("gender"):
        score -= 0.1
    return round(score, 2)


def _bundle(hits: list[tuple[dict[str, Any], float | None]]) -> dict[str, Any]:
    entries = []
    for resource, score in hits:
        entry: dict[str, Any] = {"fullUrl": f"{resource['resourceType']}/{resource['id']}",
                                 "resource": resource}
        if score is not None:
            entry["search"] = {"mode": "match", "score": score}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries),
            "entry": entries}


class _Handler(BaseHTTPRequestHandler):
    fhir: FhirServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        self.fhir.requests.append(url.path)
        fault = self.fhir.fault
        if fault == "slow":
            time.sleep(3)
        if fault == "500":
            self._send(500, "application/fhir+json", b'{"resourceType":"OperationOutcome"}')
            return
        if fault == "html":
            self._send(200, "text/html", b"<html><body>Service unavailable</body></html>")
            return
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.removeprefix("/R4/").split("/")
        if parts == ["metadata"]:
            body: dict[str, Any] = {"resourceType": "CapabilityStatement", "status": "active",
                                    "date": "2026-01-01", "kind": "instance",
                                    "fhirVersion": "4.0.1", "format": ["json"]}
        elif parts == ["Patient"]:
            body = self.fhir.search_patients(q)
        elif len(parts) == 2 and parts[0] == "Patient" and \
                (found := self.fhir.data.patient(parts[1])) is not None:
            body = found
        elif parts[0] in ("Encounter", "EpisodeOfCare", "Flag") and len(parts) == 1:
            body = self.fhir.search_records(parts[0], q)
        else:
            self._send(404, "application/fhir+json",
                       b'{"resourceType":"OperationOutcome","issue":[{"severity":"error",'
                       b'"code":"not-found"}]}')
            return
        self._send(200, "application/fhir+json", json.dumps(body).encode())

    def _send(self, status: int, kind: str, payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (OSError, ssl.SSLError):
            pass  # the client gave up (a timeout test): nothing to answer


@contextmanager
def fhir_server(store: Path, tls: TlsFiles) -> Iterator[FhirServer]:
    """A running FHIR server over the health store at `store`."""
    server = FhirServer(FhirData.from_store(store), tls).start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve a health store over HTTPS until SIGTERM (the benchmark's FHIR server process)."""
    parser = argparse.ArgumentParser(prog="python -m tests.fhir_server")
    parser.add_argument("--store", type=Path, required=True, help="the health store (SQLite)")
    parser.add_argument("--tls", type=Path, required=True,
                        help="folder for the throwaway CA and server certificate (written)")
    parser.add_argument("--port-file", type=Path, required=True,
                        help="written with the base URL once serving")
    args = parser.parse_args(argv)
    tls = make_tls_files(args.tls, "fhir")
    server = FhirServer(StoreSource(args.store), tls, keep_alive=True).start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    args.port_file.write_text(server.base_url + "\n")
    stopped.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
