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
from typing import Annotated

import msgspec
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
from mash.config import ConfigError, Strict, decode


class SqlOptions(Strict, frozen=True):
    """`[backend_options]` of `backend = "sql"` (see the module docstring)."""

    mapping: str = ""
    url: str | None = None
    url_file: str | None = None
    password_file: str | None = None
    connect_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    max_key_age_h: Annotated[float, msgspec.Meta(gt=0)] = 36.0


def sql_options(options: Mapping[str, object], source: str = "backend_options") -> SqlOptions:
    """`options` decoded, or ConfigError naming the `backend_options.` field."""
    return decode(SqlOptions, options, source, prefix="backend_options")


def database_url(options: Mapping[str, object], source: str = "backend_options") -> URL:
    """The URL from `url` (+ `password_file`) or `url_file`, secrets read from their files."""
    o = sql_options(options, source)
    if (o.url is None) == (o.url_file is None):
        raise ConfigError(source, "backend_options.url", "give url or url_file (not both)")
    try:
        text = _secret(source, "url_file", Path(o.url_file)) if o.url_file else o.url or ""
        url = make_url(text)
    except sa_exc.ArgumentError as exc:
        raise ConfigError(source, "backend_options.url", f"not a database URL: {exc}") from None
    if o.password_file is not None:
        url = url.set(password=_secret(source, "password_file", Path(o.password_file)))
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
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "postgresql":
        options = f"-c statement_timeout={timeout_ms}"
        if read_only:
            # Defence in depth: the account is checked to have no write grant anyway.
            options += " -c default_transaction_read_only=on"
        connect_args = {"connect_timeout": max(1, int(connect_timeout_s)), "options": options,
                        "application_name": application_name}
    kwargs: dict[str, object] = {}
    if url.get_backend_name() != "sqlite":
        kwargs = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": timeout_ms / 1000}
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True,
                         hide_parameters=True, **kwargs)


def open_backend(config: AdapterConfig, options: Mapping[str, object]) -> SqlBackend:
    """The SQL backend of `config` (see the module docstring)."""
    o = sql_options(options)
    if not o.mapping:
        raise ConfigError("backend_options", "backend_options.mapping", "is required")
    mapping = SqlMapping.load(Path(o.mapping))
    mapping.check_agency(config.agency)
    engine = make_engine(database_url(options), pool_size=config.backend_threads,
                         timeout_ms=config.backend_timeout_ms,
                         connect_timeout_s=o.connect_timeout_s,
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
                      max_key_age_h=o.max_key_age_h)


def open_mapping(config: AdapterConfig) -> SqlMapping:
    """The mapping named by `config` (for tools that need it without a connection)."""
    path = config.backend_options.get("mapping")
    if not isinstance(path, str):
        raise BackendMisconfigured("backend_options.mapping is not set")
    mapping = SqlMapping.load(Path(path))
    mapping.check_agency(config.agency)
    return mapping
