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
from typing import Annotated

import msgspec

from agency_adapters.config import AdapterConfig
from agency_adapters.fhir.backend import FhirBackend
from agency_adapters.fhir.client import FhirClient
from agency_adapters.fhir.mapping import FhirMapping
from agency_adapters.http_source import read_secret
from mash.config import ConfigError, Strict, decode


class FhirOptions(Strict, frozen=True):
    """`[backend_options]` of `backend = "fhir"` (see the module docstring)."""

    mapping: str
    base_url: str
    ca_file: str | None = None
    token_file: str | None = None
    timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    retries: Annotated[int, msgspec.Meta(ge=0, le=5)] = 2


def open_backend(config: AdapterConfig, options: Mapping[str, object]) -> FhirBackend:
    """The FHIR backend of `config`; a bad option or mapping is a `ConfigError` naming it."""
    o = decode(FhirOptions, options, "backend_options", prefix="backend_options")
    mapping = FhirMapping.load(Path(o.mapping), config.agency)
    if o.ca_file is not None and not Path(o.ca_file).is_file():
        raise ConfigError("backend_options", "backend_options.ca_file",
                          f"no such file: {o.ca_file}")
    token = None
    if o.token_file is not None:
        token = read_secret(Path(o.token_file), "backend_options.token_file")
    client = FhirClient(o.base_url, ca_file=o.ca_file, token=token, timeout_s=o.timeout_s,
                        retries=o.retries)
    return FhirBackend(client, mapping)
