"""`backend = "sql"`: open the reporting database, refuse a writable account, check the mapping.

Adapter config::

    backend = "sql"

    [backend_options]
    mapping = "/srv/mash-adapter/mapping.toml"
    url = "postgresql+psycopg://mash_reader@warehouse.council.example:5432/reporting"
    password_file = "/srv/mash-adapter/secrets/db-password"   # 0600, or put it in url_file
    connect_timeout_s = 5
    max_key_age_h = 36           # a key table older than this is reported in health

Start-up fails, naming the cause, if the database cannot be reached, if the account can
write, or if the mapping does not fit the live schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, make_url
from sqlalchemy import exc as sa_exc

from agency_adapters.backend import BackendMisconfigured
from agency_adapters.config import AdapterConfig
from agency_adapters.sql import match_keys
from agency_adapters.sql.backend import SqlBackend
from agency_adapters.sql.errors import from_database
from agency_adapters.sql.mapping import SqlMapping
from agency_adapters.sql.readonly import check_read_only
from agency_adapters.sql.schema import check_schema
from mash.config import ConfigError, Fields

_OPTIONS = {"mapping", "url", "url_file", "password_file", "connect_timeout_s", "max_key_age_h"}


def database_url(options: Mapping[str, Any], source: str = "backend_options") -> URL:
    """The URL from `url` (+ `password_file`) or `url_file`, secrets read from their files."""
    f = Fields(source, options, "backend_options.")
    if ("url" in options) == ("url_file" in options):
        raise ConfigError(source, "backend_options.url", "give url or url_file (not both)")
    try:
        if "url_file" in options:
            text = _secret(source, "url_file", Path(f.get("url_file", str)))
        else:
            text = f.get("url", str)
        url = make_url(text)
    except sa_exc.ArgumentError as exc:
        raise ConfigError(source, "backend_options.url", f"not a database URL: {exc}") from None
    if "password_file" in options:
        url = url.set(password=_secret(source, "password_file",
                                       Path(f.get("password_file", str))))
    return url


def _secret(source: str, field: str, path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(source, f"backend_options.{field}",
                          f"cannot read {path}: {exc.strerror}") from None


def make_engine(url: URL, *, pool_size: int, timeout_ms: int, connect_timeout_s: float,
                read_only: bool = True, application_name: str = "mash-adapter") -> Engine:
    """An engine with a bounded pool; on PostgreSQL every session read-only with a timeout."""
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        options = f"-c statement_timeout={timeout_ms}"
        if read_only:
            # Defence in depth: the account is checked to have no write grant anyway.
            options += " -c default_transaction_read_only=on"
        connect_args = {"connect_timeout": max(1, int(connect_timeout_s)), "options": options,
                        "application_name": application_name}
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() != "sqlite":
        kwargs = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": timeout_ms / 1000}
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True,
                         hide_parameters=True, **kwargs)


def open_backend(config: AdapterConfig, options: Mapping[str, Any]) -> SqlBackend:
    """The SQL backend of `config` (see the module docstring)."""
    source = "backend_options"
    f = Fields(source, options, "backend_options.")
    f.unknown(_OPTIONS)
    mapping = SqlMapping.load(Path(f.get("mapping", str)))
    mapping.check_agency(config.agency)
    engine = make_engine(database_url(options), pool_size=config.backend_threads,
                         timeout_ms=config.backend_timeout_ms,
                         connect_timeout_s=f.get("connect_timeout_s", float, 5.0),
                         application_name=f"mash-{config.name}")
    try:
        check_read_only(engine, mapping)
        check_schema(engine, mapping)
        frequencies = None
        if mapping.blocking.method == "match_keys":
            try:
                with engine.connect() as conn:
                    frequencies = match_keys.read_frequencies(conn, mapping.blocking.schema)
            except sa_exc.SQLAlchemyError as exc:
                raise from_database(exc, "reading the kit's name counts") from None
    except BaseException:
        engine.dispose()
        raise
    return SqlBackend(engine, mapping, frequencies=frequencies,
                      max_key_age_h=f.get("max_key_age_h", float, 36.0))


def open_mapping(config: AdapterConfig) -> SqlMapping:
    """The mapping named by `config` (for tools that need it without a connection)."""
    path = config.backend_options.get("mapping")
    if not isinstance(path, str):
        raise BackendMisconfigured("backend_options.mapping is not set")
    mapping = SqlMapping.load(Path(path))
    mapping.check_agency(config.agency)
    return mapping
