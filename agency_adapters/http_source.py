"""JSON over HTTPS from an agency's system (a FHIR server, school middleware): one checked GET.

Shared by the HTTP backends: TLS against a pinned CA, a secret header read from a file,
timeouts, retries of connection failures and of 502-504 answers, a base URL that answers
cannot send the backend off, and errors by cause (`BackendError` subclasses) whose messages
name the request and the status but never carry the server's text, which could echo a
person's data.
"""

from __future__ import annotations

import ssl
import stat
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urljoin

import httpx

from agency_adapters.backend import (
    BackendError,
    BackendMisconfigured,
    BackendTimeout,
    BackendUnavailable,
)
from mash.config import ConfigError

_RETRY_STATUS = frozenset({502, 503, 504})
_JSON_TYPES = frozenset({"application/json", "application/fhir+json"})


class JsonHttp:
    """GETs JSON documents under one base URL."""

    def __init__(self, base_url: str, *, system: str, ca_file: str | None = None,
                 headers: Mapping[str, str] | None = None, timeout_s: float = 5.0,
                 retries: int = 2, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise BackendMisconfigured(f"{system} base URL must be http(s): {base_url!r}")
        self.base_url = base_url.rstrip("/") + "/"
        self.system = system
        self.retries = retries
        verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=ca_file) if ca_file
                                         else True)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout_s), follow_redirects=False,
            # connection failures are retried by the transport; 502-504 answers in get()
            transport=transport or httpx.AsyncHTTPTransport(verify=verify, retries=retries))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def within(self, url: str) -> str:
        """`url` made absolute against the base; refused if it leaves the base URL."""
        absolute = urljoin(self.base_url, url)
        if not absolute.startswith(self.base_url):
            raise BackendError(f"{self.system} pointed to a page off its base URL")
        return absolute

    async def get(self, path: str, params: Mapping[str, str]) -> tuple[int, object]:
        """(status, JSON body) of `GET path`: 2xx, or a 4xx other than 401/403 with a JSON body.

        The body is plain JSON for the caller to narrow (a FHIR resource, a middleware page).

        Raises `BackendTimeout`, `BackendUnavailable` (unreachable, 5xx), `BackendMisconfigured`
        (401/403: our credentials) or `BackendError` (not JSON).
        """
        what = f"GET {path.split('?')[0].split('/')[0] or '/'}"
        attempt = 0
        while True:
            try:
                # No params at all for a next-page URL: an empty mapping would drop its query.
                response = await self._http.get(path, params=dict(params) or None)
            except httpx.TimeoutException:
                raise BackendTimeout(f"{self.system} did not answer in time ({what})") from None
            except httpx.HTTPError as exc:
                raise BackendUnavailable(f"{self.system} cannot be reached "
                                         f"({what}: {type(exc).__name__})") from None
            if response.status_code in _RETRY_STATUS and attempt < self.retries:
                attempt += 1  # a gateway's passing fault: the same GET again
                continue
            return response.status_code, self._body(response, what)

    def _body(self, response: httpx.Response, what: str) -> object:
        status = response.status_code
        if status in (401, 403):
            raise BackendMisconfigured(f"{self.system} refused our credentials ({what}: HTTP {status})")
        if status >= 500:
            raise BackendUnavailable(f"{self.system} failed ({what}: HTTP {status})")
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in _JSON_TYPES:
            raise BackendError(f"{self.system} answered {kind or 'no content type'}, not JSON "
                               f"({what}: HTTP {status})")
        try:
            return response.json()
        except ValueError:
            raise BackendError(f"{self.system}'s answer is not valid JSON ({what})") from None


def read_secret(path: Path, field: str) -> str:
    """A secret from a file only its owner can read; a `ConfigError` on `field` otherwise."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError("backend_options", field, f"cannot read {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError("backend_options", field, f"{path} is readable by others (chmod 600 it)")
    if not text:
        raise ConfigError("backend_options", field, f"{path} is empty")
    return text


def entries(value: object) -> list[object]:
    """The entries of a JSON array; none where `value` is absent or not an array."""
    return value if isinstance(value, list) else []


def pick(item: object, path: str) -> str:
    """The value at dotted `path` in a JSON document as text ('' where absent; '0' indexes)."""
    node = item
    for part in path.split("."):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return ""
            node = node[int(part)]
        elif isinstance(node, Mapping):
            node = node.get(part)
        else:
            return ""
        if node is None:
            return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return node if isinstance(node, str) else str(node) if isinstance(node, int | float) else ""
