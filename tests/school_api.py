"""School MIS middleware standing in for a local authority's, holding the synthetic pupils.

Outside mash-hub, so faked -- but as a real HTTPS server on loopback that the REST backend
reaches with its real HTTP client: pupils searched by UPN, former UPN or surname and date of
birth, paged two to a page; per-pupil enrolments, attendance, exclusions, SEN and
safeguarding lists; an API key in a header. `fault` makes every answer go wrong.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from agency_adapters.backend import Person, Record
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.vocab import AGENCY_CATEGORIES, Agency, Category
from tests.tls_files import TlsFiles, TlsHttpServer

API_KEY = "test-api-key-7f3a"
PAGE = 2
ENDPOINTS = {Category.SCHOOL_ENROLMENT: "enrolments", Category.ATTENDANCE: "attendance",
             Category.EXCLUSIONS: "exclusions", Category.SEN_EHCP: "sen",
             Category.DSL_CONCERNS: "safeguarding"}
_DATE_FIELD = {"enrolments": "start_date", "attendance": "period_start",
               "exclusions": "start_date", "sen": "recorded_on", "safeguarding": "date"}


def pupil_json(person: Person) -> dict[str, Any]:
    """A pupil as the middleware lists them (one in four has a former UPN)."""
    former = []
    if person.upn and zlib.crc32(person.person_id.encode()) % 4 == 0:
        former = ["X" + person.upn[1:]]
    return {"id": person.person_id, "upn": person.upn, "former_upns": former,
            "legal_forename": person.given_name, "legal_surname": person.family_name,
            "preferred_surname": person.other_names[0] if person.other_names else None,
            "dob": person.date_of_birth, "gender": {"female": "F", "male": "M"}.get(person.sex, "U"),
            "address": {"line1": person.address, "postcode": person.postcode}}


def record_json(record: Record) -> dict[str, Any]:
    """A record in its endpoint's shape."""
    endpoint = ENDPOINTS[record.category]
    item: dict[str, Any] = {"id": record.record_id.rsplit("/", 1)[-1],
                            _DATE_FIELD[endpoint]: record.occurred_on,
                            "description": record.summary, **record.attributes}
    if endpoint == "enrolments":
        item["school_name"] = record.attributes.get("school", "")
    return item


class SchoolApi:
    """The HTTPS server."""

    def __init__(self, store: Path, tls: TlsFiles) -> None:
        self.pupils: dict[str, dict[str, Any]] = {}
        self.records: dict[tuple[str, str], list[dict[str, Any]]] = {}
        s = SqliteAgencyStore(store)
        try:
            for person in s.iter_people():
                self.pupils[person.person_id] = pupil_json(person)
                for r in s.records_for(person.person_id, AGENCY_CATEGORIES[Agency.EDUCATION]):
                    key = (person.person_id, ENDPOINTS[r.category])
                    self.records.setdefault(key, []).append(record_json(r))
        finally:
            s.close()
        self.fault: str | None = None
        self.requests: list[str] = []
        handler = type("Handler", (_Handler,), {"api": self})
        self._http = TlsHttpServer(("127.0.0.1", 0), handler, tls)
        self.base_url = f"https://127.0.0.1:{self._http.server_address[1]}/api/v1"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def search(self, q: dict[str, str]) -> list[dict[str, Any]]:
        found = []
        for p in self.pupils.values():
            if "upn" in q and p["upn"] != q["upn"]:
                continue
            if "former_upn" in q and q["former_upn"] not in p["former_upns"]:
                continue
            if "surname" in q and p["legal_surname"].casefold() != q["surname"].casefold():
                continue
            if "dob" in q and p["dob"] != q["dob"]:
                continue
            found.append(p)
        return found


class _Handler(BaseHTTPRequestHandler):
    api: SchoolApi

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        self.api.requests.append(url.path)
        if self.headers.get("X-API-Key") != API_KEY:
            self._send(401, "application/json", {"error": "unauthorised"})
            return
        if self.api.fault == "slow":
            time.sleep(3)
        if self.api.fault == "500":
            self._send(500, "application/json", {"error": "internal"})
            return
        if self.api.fault == "html":
            self._raw(200, "text/html", b"<html>maintenance</html>")
            return
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.removeprefix("/api/v1/").split("/")
        if parts == ["pupils"]:
            page = int(q.pop("page", "0"))
            found = self.api.search(q)
            body: dict[str, Any] = {"data": found[page * PAGE:(page + 1) * PAGE], "links": {}}
            if (page + 1) * PAGE < len(found):
                body["links"]["next"] = f"/api/v1/pupils?{urlencode({**q, 'page': page + 1})}"
            self._send(200, "application/json", body)
        elif (len(parts) == 3 and parts[0] == "pupils" and parts[1] in self.api.pupils
              and parts[2] in ENDPOINTS.values()):
            self._send(200, "application/json",
                       {"data": self.api.records.get((parts[1], parts[2]), [])})
        else:
            self._send(404, "application/json", {"error": "not found"})

    def _send(self, status: int, kind: str, body: Any) -> None:
        self._raw(status, kind, json.dumps(body).encode())

    def _raw(self, status: int, kind: str, payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (OSError, ssl.SSLError):
            pass  # the client gave up (a timeout test)


@contextmanager
def school_api(store: Path, tls: TlsFiles) -> Iterator[SchoolApi]:
    """A running middleware over the education store at `store`."""
    api = SchoolApi(store, tls)
    try:
        yield api
    finally:
        api.stop()
