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
from typing import Any

from agency_adapters.config import AdapterConfig
from agency_adapters.http_source import JsonHttp, read_secret
from agency_adapters.rest.backend import RestBackend
from agency_adapters.rest.mapping import RestMapping
from mash.config import ConfigError, Fields

_OPTIONS = {"mapping", "base_url", "ca_file", "auth_header", "secret_file", "timeout_s", "retries"}
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def open_backend(config: AdapterConfig, options: Mapping[str, Any]) -> RestBackend:
    """The REST backend of `config`; a bad option or mapping is a `ConfigError` naming it."""
    f = Fields("backend_options", options, "backend_options.")
    f.unknown(_OPTIONS)
    mapping = RestMapping.load(Path(f.get("mapping", str)), config.agency)
    ca_file = f.get("ca_file", str, "") or None
    if ca_file and not Path(ca_file).is_file():
        raise ConfigError("backend_options", "backend_options.ca_file", f"no such file: {ca_file}")
    headers = {"Accept": "application/json"}
    if "secret_file" in options:
        header = f.get("auth_header", str, "Authorization")
        if not _HEADER.match(header):
            raise ConfigError("backend_options", "backend_options.auth_header",
                              "not an HTTP header name")
        headers[header] = read_secret(Path(f.get("secret_file", str)),
                                      "backend_options.secret_file")
    timeout = f.get("timeout_s", float, 5.0)
    retries = f.get("retries", int, 2)
    if timeout <= 0 or not 0 <= retries <= 5:
        raise ConfigError("backend_options", "backend_options.timeout_s",
                          "timeout_s must be > 0 and retries between 0 and 5")
    http = JsonHttp(f.get("base_url", str), system="the school middleware", ca_file=ca_file,
                    headers=headers, timeout_s=timeout, retries=retries)
    return RestBackend(http, mapping)
