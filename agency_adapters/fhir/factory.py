"""`backend = "fhir"`: a health adapter reading a FHIR R4 server.

Adapter config::

    backend = "fhir"

    [backend_options]
    mapping = "/srv/mash-adapter/fhir-mapping.toml"      # which searches give which categories
    base_url = "https://fhir.trust.example/R4"
    ca_file = "/srv/mash-adapter/fhir-ca.pem"           # the server's CA (default: system CAs)
    token_file = "/srv/mash-adapter/secrets/fhir-token"  # bearer token, 0600 (optional)
    timeout_s = 5                                        # per HTTP request
    retries = 2                                          # on connection failures and 502-504
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agency_adapters.config import AdapterConfig
from agency_adapters.fhir.backend import FhirBackend
from agency_adapters.fhir.client import FhirClient
from agency_adapters.fhir.mapping import FhirMapping
from agency_adapters.http_source import read_secret
from mash.config import ConfigError, Fields

_OPTIONS = {"mapping", "base_url", "ca_file", "token_file", "timeout_s", "retries"}


def open_backend(config: AdapterConfig, options: Mapping[str, Any]) -> FhirBackend:
    """The FHIR backend of `config`; a bad option or mapping is a `ConfigError` naming it."""
    f = Fields("backend_options", options, "backend_options.")
    f.unknown(_OPTIONS)
    mapping = FhirMapping.load(Path(f.get("mapping", str)), config.agency)
    ca_file = options.get("ca_file")
    if ca_file is not None and not Path(f.get("ca_file", str)).is_file():
        raise ConfigError("backend_options", "backend_options.ca_file", f"no such file: {ca_file}")
    token = None
    if "token_file" in options:
        token = read_secret(Path(f.get("token_file", str)), "backend_options.token_file")
    timeout = f.get("timeout_s", float, 5.0)
    retries = f.get("retries", int, 2)
    if timeout <= 0 or not 0 <= retries <= 5:
        raise ConfigError("backend_options", "backend_options.timeout_s",
                          "timeout_s must be > 0 and retries between 0 and 5")
    client = FhirClient(f.get("base_url", str), ca_file=ca_file, token=token, timeout_s=timeout,
                        retries=retries)
    return FhirBackend(client, mapping)
