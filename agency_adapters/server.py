"""Run one agency adapter as a process: `mash adapter serve --config FILE`."""

from __future__ import annotations

import importlib

from agency_adapters.backend import AgencyBackend
from agency_adapters.config import AdapterConfig
from agency_adapters.matching import MatchThresholds
from agency_adapters.replay import ReplayGuard
from agency_adapters.scheduling import DueOrderedGate
from agency_adapters.service import AdapterParts, AdapterService
from agency_adapters.sqlite_store import SqliteAgencyStore
from certs.reloading import ReloadingTrustStore
from certs.signing import SigningKey
from certs.tls import server_credentials
from mash import aio, grpc_server, logs
from mash.audit.log import AuditLog
from mash.audit.pseudonyms import Pseudonymiser
from mash.v1 import mash_pb2, mash_pb2_grpc
from policy import load_engine

SERVICE_NAME = mash_pb2.DESCRIPTOR.services_by_name["AgencyAdapter"].full_name


def open_backend(config: AdapterConfig) -> AgencyBackend:
    """The agency's system of record: the SQLite reference store, or a plug-in factory."""
    if config.backend == "sqlite":
        return SqliteAgencyStore(config.store)
    module_name, _, attr = config.backend.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    backend: AgencyBackend = factory(config, dict(config.backend_options))
    return backend


def build_parts(config: AdapterConfig) -> AdapterParts:
    """Open the store, policy, keys and audit log an adapter needs (fails fast, naming the cause)."""
    home = config.home
    name = config.name
    return AdapterParts(
        agency=config.agency,
        name=name,
        trusted_brokers=frozenset(config.trusted_brokers),
        backend=open_backend(config),
        engine=load_engine(home, config.policy_dir),
        # follows the file: revocations and new pins apply without a restart
        trust=ReloadingTrustStore(home.trust_store),
        signing_key=SigningKey.load(home.signing_key(name)),
        audit=AuditLog.open(
            home.audit_log(name), owner=name,
            checkpoint_key=SigningKey.load(home.signing_key(f"audit-{name}")).private_key,
        ),
        pseudonyms=Pseudonymiser.for_home(home),
        thresholds=MatchThresholds(**config.matching) if config.matching else MatchThresholds(),
        replay=ReplayGuard(config.max_clock_skew_s),
        delay_ms=config.delay_ms,
        gate=DueOrderedGate(config.max_concurrent_queries),
    )


async def serve(config: AdapterConfig) -> None:
    """Serve until SIGTERM/SIGINT, then drain and close the audit log."""
    log = logs.get_logger("adapter")
    parts = build_parts(config)
    server = grpc_server.build_server(config.max_message_bytes)
    mash_pb2_grpc.add_AgencyAdapterServicer_to_server(AdapterService(parts), server)
    async for port in grpc_server.serve_until_signalled(
            server, service_name=SERVICE_NAME, listen=config.listen,
            credentials=server_credentials(config.home, config.name),
            port_file=config.home.run_dir / f"{config.name}.port"):
        log.info("adapter_started", agency=str(config.agency), port=port)
    log.info("adapter_stopped", agency=str(config.agency))
    parts.audit.close()
    parts.backend.close()


def run(config: AdapterConfig) -> None:
    """Configure logging and serve (blocking)."""
    logs.configure(json=config.json_logs)
    aio.run(serve(config))
