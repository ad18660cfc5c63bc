"""A small FHIR R4 search client over httpx: TLS, timeouts, retries, paging, checked answers.

Every answer is checked before it is used: HTTP status, content type, JSON, resource type,
and each resource validated as FHIR (`fhir.resources`, R4B models, which R4 servers' JSON
fits for the resources read here). Anything else is a `BackendError` by cause whose message
names what was wrong and never carries the server's text (it could echo a person's data).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import httpx
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from agency_adapters.backend import (
    BackendError,
    BackendMisconfigured,
    BackendTimeout,
    BackendUnavailable,
)

#: Search result pages followed at the most for one search (a page holds `_count` entries).
MAX_PAGES = 5
PAGE_SIZE = 100
_RETRY_STATUS = frozenset({502, 503, 504})


class TooManyMatches(Exception):
    """The server found more patients than `_max-results` (PDS's TOO_MANY_MATCHES)."""


class FhirClient:
    """Searches one FHIR server's base URL."""

    def __init__(self, base_url: str, *, ca_file: str | None = None, token: str | None = None,
                 timeout_s: float = 5.0, retries: int = 2,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise BackendMisconfigured(f"FHIR base URL must be http(s): {base_url!r}")
        self.base_url = base_url.rstrip("/") + "/"
        verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=ca_file) if ca_file
                                         else True)
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.retries = retries
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=httpx.Timeout(timeout_s),
            # connection failures are retried by the transport; 502-504 answers below
            transport=transport or httpx.AsyncHTTPTransport(verify=verify, retries=retries),
            follow_redirects=False)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def read(self, resource: str, rid: str) -> dict[str, Any]:
        """One resource by id (`GET /<resource>/<id>`)."""
        body = await self._get(f"{resource}/{rid}", {})
        if body.get("resourceType") != resource:
            raise BackendError(f"GET {resource}/<id> answered a {_kind(body)}, not a {resource}")
        _validate(body)
        return body

    async def capability(self) -> dict[str, Any]:
        """The server's CapabilityStatement (`GET /metadata`): a cheap health probe."""
        body = await self._get("metadata", {})
        if body.get("resourceType") != "CapabilityStatement":
            raise BackendError(f"GET metadata answered a {_kind(body)}, not a CapabilityStatement")
        return body

    async def search(self, resource: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """The matching resources with their search entries (`{"resource":..., "search":...}`).

        Follows `next` links within the server's base URL, at most `MAX_PAGES` pages.
        Raises `TooManyMatches` where the server says so.
        """
        entries: list[dict[str, Any]] = []
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
            for entry in bundle.get("entry") or []:
                found = entry.get("resource") if isinstance(entry, Mapping) else None
                if not isinstance(found, dict):
                    raise BackendError(f"a {resource} search answered an entry without a resource")
                if found.get("resourceType") == "OperationOutcome":
                    continue  # PDS puts warnings in the bundle as entries of their own
                if found.get("resourceType") != resource:
                    raise BackendError(f"a {resource} search answered a {_kind(found)}")
                _validate(found)
                entries.append(entry)
            path, query = self._next_page(bundle), {}
        return entries

    def _next_page(self, bundle: Mapping[str, Any]) -> str | None:
        for link in bundle.get("link") or []:
            if isinstance(link, Mapping) and link.get("relation") == "next":
                url = str(link.get("url", ""))
                absolute = urljoin(self.base_url, url)
                # Never follow a link off the configured server (an answer cannot send us on).
                if not absolute.startswith(self.base_url):
                    raise BackendError("a search's next page points off the FHIR server")
                return absolute
        return None

    async def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                response = await self._http.get(path, params=dict(params))
            except httpx.TimeoutException:
                raise BackendTimeout("the FHIR server did not answer in time") from None
            except httpx.HTTPError as exc:
                raise BackendUnavailable(f"the FHIR server cannot be reached "
                                         f"({type(exc).__name__})") from None
            if response.status_code in _RETRY_STATUS and attempt < self.retries:
                attempt += 1  # a gateway's passing fault: the same GET again
                continue
            return _body(response, path)


def _body(response: httpx.Response, path: str) -> dict[str, Any]:
    what = f"GET {path.split('/')[0].split('?')[0]}"
    status = response.status_code
    if status in (401, 403):
        raise BackendMisconfigured(f"the FHIR server refused our credentials ({what}: HTTP {status})")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if status >= 500:
        raise BackendUnavailable(f"the FHIR server failed ({what}: HTTP {status})")
    if kind not in ("application/fhir+json", "application/json"):
        raise BackendError(f"the FHIR server answered {kind or 'no content type'}, not FHIR JSON "
                           f"({what}: HTTP {status})")
    try:
        body = response.json()
    except ValueError:
        raise BackendError(f"the FHIR server's answer is not valid JSON ({what})") from None
    if not isinstance(body, dict):
        raise BackendError(f"the FHIR server's answer is not a FHIR resource ({what})")
    if status == 404:
        raise BackendMisconfigured(f"the FHIR server has no such endpoint or resource ({what})")
    if status >= 400 and body.get("resourceType") != "OperationOutcome":
        raise BackendError(f"the FHIR server refused the search ({what}: HTTP {status})")
    if status >= 400 and not _too_many(body):
        raise BackendMisconfigured(f"the FHIR server refused the search ({what}: HTTP {status}, "
                                   f"{_issue_codes(body)})")
    return body


def _validate(resource: dict[str, Any]) -> None:
    try:
        get_fhir_model_class(str(resource["resourceType"])).model_validate(resource)
    except (KeyError, ValidationError) as exc:
        where = ""
        if isinstance(exc, ValidationError) and exc.errors():
            where = " at " + ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise BackendError(f"a {_kind(resource)} from the FHIR server is not valid FHIR{where}"
                           ) from None


def _kind(body: Mapping[str, Any]) -> str:
    kind = body.get("resourceType")
    return kind if isinstance(kind, str) and kind.isalnum() and len(kind) < 40 else "non-resource"


def _issue_codes(outcome: Mapping[str, Any]) -> str:
    codes = []
    for issue in outcome.get("issue") or []:
        if isinstance(issue, Mapping):
            codes.append(str(issue.get("code", "?"))[:40])
            for coding in (issue.get("details") or {}).get("coding") or []:
                if isinstance(coding, Mapping) and coding.get("code"):
                    codes.append(str(coding["code"])[:40])
    return ", ".join(codes) or "no issue codes"


def _too_many(outcome: Mapping[str, Any]) -> bool:
    return outcome.get("resourceType") == "OperationOutcome" and "TOO_MANY_MATCHES" in _issue_codes(outcome)
