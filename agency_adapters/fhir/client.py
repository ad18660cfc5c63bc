"""A FHIR R4 search client: paging, TOO_MANY_MATCHES, and every resource validated.

HTTP itself (TLS, timeouts, retries, status and content checks) is `JsonHttp`'s. Each
resource is validated as FHIR (`fhir.resources`, R4B models, which R4 servers' JSON fits for
the resources read here) before it is used; anything else is a `BackendError` by cause whose
message never carries the server's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

import httpx
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from agency_adapters.backend import BackendError, BackendMisconfigured
from agency_adapters.http_source import JsonHttp, entries

#: Search result pages followed at the most for one search (a page holds `_count` entries).
MAX_PAGES = 5
PAGE_SIZE = 100

#: A FHIR resource's JSON, read field by field (it has been validated as FHIR where used).
FhirJson: TypeAlias = Mapping[str, object]


@dataclass(frozen=True)
class SearchHit:
    """One resource a search found, with the server's match score where it gives one."""

    resource: FhirJson
    #: `entry.search.score` (PDS scores a demographic match from 0 to 1)
    score: float | None = None


class TooManyMatches(Exception):
    """The server found more patients than `_max-results` (PDS's TOO_MANY_MATCHES)."""


class FhirClient:
    """Searches one FHIR server's base URL."""

    def __init__(self, base_url: str, *, ca_file: str | None = None, token: str | None = None,
                 timeout_s: float = 5.0, retries: int = 2,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = JsonHttp(base_url, system="the FHIR server", ca_file=ca_file, headers=headers,
                             timeout_s=timeout_s, retries=retries, transport=transport)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    async def read(self, resource: str, rid: str) -> FhirJson:
        """One resource by id (`GET /<resource>/<id>`)."""
        body = await self._get(f"{resource}/{rid}", {})
        if body.get("resourceType") != resource:
            raise BackendError(f"GET {resource}/<id> answered a {_kind(body)}, not a {resource}")
        _validate(body)
        return body

    async def capability(self) -> FhirJson:
        """The server's CapabilityStatement (`GET /metadata`): a cheap health probe."""
        body = await self._get("metadata", {})
        if body.get("resourceType") != "CapabilityStatement":
            raise BackendError(f"GET metadata answered a {_kind(body)}, not a CapabilityStatement")
        return body

    async def search(self, resource: str, params: Mapping[str, str]) -> list[SearchHit]:
        """The matching resources, each with its search score.

        Follows `next` links within the server's base URL, at most `MAX_PAGES` pages.
        Raises `TooManyMatches` where the server says so.
        """
        hits: list[SearchHit] = []
        path: str | None = resource
        query: Mapping[str, str] = {**params, "_count": str(PAGE_SIZE)}
        for _ in range(MAX_PAGES):
            if path is None:
                break
            bundle = await self._get(path, query)
            if bundle.get("resourceType") == "OperationOutcome":
                if _too_many(bundle):
                    raise TooManyMatches
                raise BackendError(f"a {resource} search answered an OperationOutcome "
                                   f"({_issue_codes(bundle)})")
            if bundle.get("resourceType") != "Bundle":
                raise BackendError(f"a {resource} search answered a {_kind(bundle)}, not a Bundle")
            listed = bundle.get("entry") or []
            if not isinstance(listed, list):
                raise BackendError(f"a {resource} search answered an entry without a resource")
            for entry in listed:
                found = entry.get("resource") if isinstance(entry, Mapping) else None
                if not isinstance(found, dict):
                    raise BackendError(f"a {resource} search answered an entry without a resource")
                if found.get("resourceType") == "OperationOutcome":
                    continue  # PDS puts warnings in the bundle as entries of their own
                if found.get("resourceType") != resource:
                    raise BackendError(f"a {resource} search answered a {_kind(found)}")
                _validate(found)
                hits.append(SearchHit(found, _score(entry)))
            path, query = self._next_page(bundle), {}
        return hits

    def _next_page(self, bundle: FhirJson) -> str | None:
        for link in entries(bundle.get("link")):
            if isinstance(link, Mapping) and link.get("relation") == "next":
                return self.http.within(str(link.get("url", "")))
        return None

    async def _get(self, path: str, params: Mapping[str, str]) -> FhirJson:
        status, body = await self.http.get(path, params)
        what = f"GET {path.split('/')[0].split('?')[0]}"
        if not isinstance(body, dict):
            raise BackendError(f"the FHIR server's answer is not a FHIR resource ({what})")
        if status == 404:
            raise BackendMisconfigured(f"the FHIR server has no such endpoint or resource ({what})")
        if status >= 400 and not _too_many(body):
            raise BackendMisconfigured(f"the FHIR server refused the search ({what}: HTTP {status}, "
                                       f"{_issue_codes(body)})")
        return body


def _score(entry: FhirJson) -> float | None:
    search = entry.get("search")
    score = search.get("score") if isinstance(search, Mapping) else None
    return score if isinstance(score, int | float) else None


def _validate(resource: FhirJson) -> None:
    try:
        get_fhir_model_class(str(resource["resourceType"])).model_validate(resource)
    except (KeyError, ValidationError) as exc:
        where = ""
        if isinstance(exc, ValidationError) and exc.errors():
            where = " at " + ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise BackendError(f"a {_kind(resource)} from the FHIR server is not valid FHIR{where}"
                           ) from None


def _kind(body: FhirJson) -> str:
    kind = body.get("resourceType")
    return kind if isinstance(kind, str) and kind.isalnum() and len(kind) < 40 else "non-resource"


def _issue_codes(outcome: FhirJson) -> str:
    codes = []
    for issue in entries(outcome.get("issue")):
        if isinstance(issue, Mapping):
            codes.append(str(issue.get("code", "?"))[:40])
            details = issue.get("details")
            for coding in entries(details.get("coding") if isinstance(details, Mapping) else None):
                if isinstance(coding, Mapping) and coding.get("code"):
                    codes.append(str(coding["code"])[:40])
    return ", ".join(codes) or "no issue codes"


def _too_many(outcome: FhirJson) -> bool:
    return (outcome.get("resourceType") == "OperationOutcome"
            and "TOO_MANY_MATCHES" in _issue_codes(outcome))
