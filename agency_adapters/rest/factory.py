"""`backend = "rest"`: an education adapter reading school middleware over REST/JSON.

Adapter config::

    backend = "rest"

    [backend_options]
    mapping = "/srv/mash-adapter/rest-mapping.toml"     # endpoints and fields
    base_url = "https://mis-middleware.example/api/v1"
    ca_file = "/srv/mash-adapter/middleware-ca.pem"      # the server's CA (default: system CAs)
    auth_header = "X-API-Key"                            # the header the secret goes in
    secret_file = "/srv/mash-adapter/secrets/api-key"    # its value, chmod 600
    timeout_s = 5
    retries = 2
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec

from agency_adapters.config import AdapterConfig
from agency_adapters.http_source import JsonHttp, read_secret
from agency_adapters.rest.backend import RestBackend
from agency_adapters.rest.mapping import RestMapping
from mash.config import ConfigError, Strict, decode

_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class RestOptions(Strict, frozen=True):
    """`[backend_options]` of `backend = "rest"` (see the module docstring)."""

    mapping: str
    base_url: str
    ca_file: str = ""
    auth_header: str = "Authorization"
    secret_file: str | None = None
    timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    retries: Annotated[int, msgspec.Meta(ge=0, le=5)] = 2


def open_backend(config: AdapterConfig, options: Mapping[str, object]) -> RestBackend:
    """The REST backend of `config`; a bad option or mapping is a `ConfigError` naming it."""
    o = decode(RestOptions, options, "backend_options", prefix="backend_options")
    mapping = RestMapping.load(Path(o.mapping), config.agency)
    ca_file = o.ca_file or None
    if ca_file and not Path(ca_file).is_file():
        raise ConfigError("backend_options", "backend_options.ca_file", f"no such file: {ca_file}")
    headers = {"Accept": "application/json"}
    if o.secret_file is not None:
        if not _HEADER.match(o.auth_header):
            raise ConfigError("backend_options", "backend_options.auth_header",
                              "not an HTTP header name")
        headers[o.auth_header] = read_secret(Path(o.secret_file), "backend_options.secret_file")
    http = JsonHttp(o.base_url, system="the school middleware", ca_file=ca_file,
                    headers=headers, timeout_s=o.timeout_s, retries=o.retries)
    return RestBackend(http, mapping)
