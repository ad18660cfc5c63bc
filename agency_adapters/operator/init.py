"""`mash adapter init --agency X --backend B`: write a commented config and the backend's mapping.

Each backend kind has a writer in `WRITERS` (backends added later register theirs); a
kind that this installation does not have is refused with a clear message. Nothing is
overwritten unless asked (`--force`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mash.vocab import Agency

#: The backend kinds `mash adapter init` knows by name (the contract of the command).
BACKEND_KINDS = ("sql", "fhir", "rest", "extract", "research")


class InitError(Exception):
    """The files cannot be written as asked."""


@dataclass(frozen=True)
class InitRequest:
    """What the operator asked for."""

    agency: Agency
    backend: str
    home: Path
    folder: Path
    listen: str
    brokers: tuple[str, ...]
    force: bool = False


def _header(req: InitRequest) -> str:
    brokers = ", ".join(f'"{b}"' for b in req.brokers)
    return f'''# mash-hub adapter for {req.agency} -- written by `mash adapter init`.
# Check it with `mash adapter check --config {req.folder / "adapter.toml"}`, run it with
# `mash adapter serve --config ...` (see docs/operator-guide.md). Unknown settings are
# refused, so a typo never falls back to a default silently.

agency = "{req.agency}"
home = "{req.home}"                     # keys, trust store, audit log, run/ and data/
listen = "{req.listen}"                 # the broker connects here (0 = any free port)
trusted_brokers = [{brokers}]           # each MASH you answer, by its broker id
max_message_bytes = 1048576
max_clock_skew_s = 300                  # queries older or newer than this are refused
max_concurrent_queries = 8              # the rest wait, earliest RAG due time first
json_logs = true

backend_timeout_ms = 2000               # the longest one call to your system may take
backend_threads = 4                     # threads (and database connections) for your system
health_interval_s = 10                  # how often your system is probed for health
'''


def _write(path: Path, text: str, force: bool) -> Path:
    if path.exists() and not force:
        raise InitError(f"{path} exists: keep it, or write over it with --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _sql(req: InitRequest) -> list[Path]:
    mapping = req.folder / "mapping.toml"
    secrets = req.folder / "secrets"
    config = _header(req) + f'''
backend = "sql"

[backend_options]
mapping = "{mapping}"
# The adapter's read-only account (SELECT only; the adapter refuses one that can write).
# PostgreSQL: postgresql+psycopg://USER@HOST:5432/DATABASE
# SQL Server: mssql+pyodbc://USER@HOST/DATABASE?driver=ODBC+Driver+18+for+SQL+Server
url = "postgresql+psycopg://mash_reader@localhost:5432/reporting"
password_file = "{secrets / "db-password"}"   # the password alone, mode 0600
connect_timeout_s = 5
max_key_age_h = 36                      # a key table older than this is a fault in health
'''
    template = resources.files("agency_adapters").joinpath("templates/sql-mapping.toml")
    written = [_write(req.folder / "adapter.toml", config, req.force),
               _write(mapping, template.read_text(), req.force)]
    secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    return written


def _extract(req: InitRequest) -> list[Path]:
    from agency_adapters.extract.template import schema_text

    schema = req.folder / "extract-schema.toml"
    incoming = req.folder / "extract" / "incoming"
    config = _header(req) + f'''
backend = "extract"

[backend_options]
schema = "{schema}"                      # the declared schema of your export's files
incoming = "{incoming}"                  # your export job writes here, the ready file last
poll_interval_s = 60                    # how often to look for a new extract
max_age_h = 36                          # data older than this is a fault in health
keep_done = 7                           # processed extracts kept (in home/data) for checking
'''
    written = [_write(req.folder / "adapter.toml", config, req.force),
               _write(schema, schema_text(req.agency), req.force)]
    incoming.mkdir(parents=True, exist_ok=True)
    return written


def _fhir(req: InitRequest) -> list[Path]:
    mapping = req.folder / "fhir-mapping.toml"
    secrets = req.folder / "secrets"
    config = _header(req) + f'''
backend = "fhir"

[backend_options]
mapping = "{mapping}"             # which FHIR searches give which health categories
base_url = "https://fhir.trust.example/R4"
ca_file = "{req.folder / "fhir-ca.pem"}"   # the server's CA certificate (remove: system CAs)
token_file = "{secrets / "fhir-token"}"    # bearer token, mode 0600 (remove if none)
timeout_s = 5                           # per HTTP request
retries = 2                             # on connection failures and 502-504
'''
    template = resources.files("agency_adapters").joinpath("templates/fhir-mapping.toml")
    written = [_write(req.folder / "adapter.toml", config, req.force),
               _write(mapping, template.read_text(), req.force)]
    secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    return written


def _rest(req: InitRequest) -> list[Path]:
    mapping = req.folder / "rest-mapping.toml"
    secrets = req.folder / "secrets"
    config = _header(req) + f'''
backend = "rest"

[backend_options]
mapping = "{mapping}"             # the middleware's endpoints and fields
base_url = "https://mis-middleware.example/api/v1"
ca_file = "{req.folder / "middleware-ca.pem"}"   # the server's CA (remove: system CAs)
auth_header = "X-API-Key"               # the header the secret goes in
secret_file = "{secrets / "api-key"}"   # its value, mode 0600
timeout_s = 5
retries = 2
'''
    template = resources.files("agency_adapters").joinpath("templates/rest-mapping.toml")
    written = [_write(req.folder / "adapter.toml", config, req.force),
               _write(mapping, template.read_text(), req.force)]
    secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    return written


def _research(req: InitRequest) -> list[Path]:
    queue = req.home / "data" / f"research-{req.agency}.sqlite"
    config = _header(req) + f'''
# No system a MASH can query: each query your agreement permits waits in a queue for your
# MASH researcher, who searches the force's systems by hand and records what may be
# disclosed (`mash adapter research list|show|answer|alerts`). The adapter signs that
# answer for the MASH that asked, which collects it; until then the MASH sees
# `pending_research`.
backend = "research"

[backend_options]
queue = "{queue}"   # the queue (SQLite, 0600); keep it backed up
alert_minutes = 60                      # a pending Red item due within this raises an alert
# Researchers sign in with their MASH's staff token (role agency_researcher), bound to
# their device's client certificate. Without these two lines the tokens are checked
# against the development issuer of the home (demo and tests only):
# issuer = "https://idp.example.gov.uk"
# jwks_file = "{req.folder / "idp-jwks.json"}"   # the identity provider's public keys
'''
    return [_write(req.folder / "adapter.toml", config, req.force)]


#: backend kind -> writer of its files (the kinds this installation can run; a backend
#: added later registers its own writer here).
WRITERS: dict[str, Callable[[InitRequest], list[Path]]] = {
    "sql": _sql, "extract": _extract, "fhir": _fhir, "rest": _rest, "research": _research}


def init_adapter(req: InitRequest) -> list[Path]:
    """Write the config and mapping for `req`; the files written."""
    if req.backend not in BACKEND_KINDS:
        raise InitError(f"unknown backend {req.backend!r}: one of {', '.join(BACKEND_KINDS)}")
    writer = WRITERS.get(req.backend)
    if writer is None:
        have = ", ".join(WRITERS)
        raise InitError(f"the {req.backend} backend is not part of this installation yet "
                        f"(available: {have})")
    return writer(req)
