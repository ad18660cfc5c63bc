"""Run one agency adapter as a process: `mash adapter serve --config FILE`."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json

import grpc
from grpc_health.v1 import health as grpc_health

from agency_adapters.adapter_health import (
    BACKEND,
    CREDENTIALS,
    AdapterHealth,
    probe_backend,
    watch_backend,
)
from agency_adapters.backend import (
    AsyncAgencyBackend,
    BackendFactory,
    BackendMisconfigured,
    BackendState,
)
from agency_adapters.backend_threads import ThreadedBackend
from agency_adapters.config import BUILTIN_BACKENDS, AdapterConfig
from agency_adapters.matching import MatchThresholds
from agency_adapters.matching.model import MatchModel, ModelError
from agency_adapters.matching.model import load as load_model
from agency_adapters.replay import ReplayGuard
from agency_adapters.research.backend import ResearchBackend
from agency_adapters.research.service import ResearchDesk, ResearcherAuth
from agency_adapters.scheduling import DueOrderedGate
from agency_adapters.service import AdapterParts, AdapterService
from audit.log import AuditLog
from audit.pseudonyms import Pseudonymiser
from audit.witness import Witness, pinned_from
from certs.live import CREDENTIALS_INTERVAL_S, LiveCredentials, ServerCertificate
from certs.reloading import ReloadingTrustStore
from certs.signing import SigningKey
from identity.tokens import DEV_ISSUER, TokenValidator, audience_for, jwks_path
from mash import aio, grpc_server, logs
from mash.config import ConfigError
from mash.v1 import mash_pb2, mash_pb2_grpc, research_pb2_grpc
from policy import load_engine
from policy.reloading import mash_versions, start_reloading

SERVICE_NAME = mash_pb2.DESCRIPTOR.services_by_name["AgencyAdapter"].full_name


def backend_factory(spec: str) -> BackendFactory:
    """The factory named by a config's `backend` (a built-in name or "package.module:factory")."""
    target = BUILTIN_BACKENDS.get(spec, spec)
    module_name, _, attr = target.partition(":")
    try:
        factory: BackendFactory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise BackendMisconfigured(f"backend {spec!r} cannot be loaded: {exc}") from None
    return factory


def open_backend(config: AdapterConfig) -> AsyncAgencyBackend:
    """The agency's system of record, ready for the event loop.

    A synchronous backend (the SQLite reference store, a plug-in written the plain way)
    is run in a pool of `backend_threads` threads; an asynchronous one is used as it is.
    """
    made = backend_factory(config.backend)(config, dict(config.backend_options))
    if isinstance(made, AsyncAgencyBackend):
        return made
    return ThreadedBackend(made, config.backend_threads)


def open_match_model(config: AdapterConfig) -> MatchModel | None:
    """The trained match model the config names, or None for the shipped weights.

    A named model that cannot be read stops start-up (ConfigError naming the field): an
    adapter must not silently answer with other weights than its IT team chose.
    """
    if config.match_model is None:
        return None
    try:
        return load_model(config.match_model)
    except ModelError as exc:
        raise ConfigError(config.match_model, "matching.model", str(exc)) from None


def build_parts(config: AdapterConfig, *, simulated_delay_ms: int = 0) -> AdapterParts:
    """Open the store, policy, keys and audit log an adapter needs (fails fast, naming the cause).

    `simulated_delay_ms` makes every answer slow, as a slow legacy system would: it is for
    the tests and the benchmark (`bench.serve_variant`), never a setting of the config file.
    """
    home = config.home
    name = config.name
    checkpoint_key = SigningKey.load(home.signing_key(f"audit-{name}")).private_key
    # follows the file: revocations and new pins apply without a restart
    trust = ReloadingTrustStore(home.trust_store)
    backend = open_backend(config)
    return AdapterParts(
        agency=config.agency,
        name=name,
        trusted_brokers=frozenset(config.trusted_brokers),
        backend=backend,
        research=backend.queue if isinstance(backend, ResearchBackend) else None,
        engine=load_engine(home, config.policy_dir),
        trust=trust,
        signing_key=SigningKey.load(home.signing_key(name)),
        audit=AuditLog.open(home.audit_log(name), owner=name, checkpoint_key=checkpoint_key),
        pseudonyms=Pseudonymiser.for_home(home),
        thresholds=MatchThresholds.from_settings(config.matching),
        match_model=open_match_model(config),
        replay=ReplayGuard(config.max_clock_skew_s),
        delay_ms=simulated_delay_ms,
        gate=DueOrderedGate(config.max_concurrent_queries),
        backend_timeout_s=config.backend_timeout_ms / 1000,
        health=AdapterHealth(name, home.run_dir / f"{name}.health.json"),
        witness=Witness.open(home.witness_dir / f"{name}.sqlite", owner=name,
                             key=checkpoint_key, pinned_keys=pinned_from(trust)),
    )


def researcher_validators(config: AdapterConfig, backend: ResearchBackend,
                          ) -> list[TokenValidator]:
    """One token validator per MASH this adapter serves: a researcher presents their MASH's
    staff token (its audience and organisation are that MASH's broker's)."""
    jwks_file = jwks_path(config.home) if backend.jwks_file is None else backend.jwks_file
    try:
        jwks = json.loads(jwks_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(jwks_file, "backend_options.jwks_file",
                          f"the researchers' identity provider keys cannot be read: "
                          f"{type(exc).__name__}") from None
    issuer = backend.issuer or DEV_ISSUER
    return [TokenValidator(issuer, audience_for(b), jwks, org=b) for b in config.trusted_brokers]


def add_research(config: AdapterConfig, backend: ResearchBackend, service: AdapterService,
                 server: grpc.aio.Server) -> ResearchDesk:
    """Serve the researcher queue (`Research`) and its collection point (`ResearchDelivery`)."""
    desk = ResearchDesk(service, backend.queue,
                        ResearcherAuth(researcher_validators(config, backend), service))
    research_pb2_grpc.add_ResearchServicer_to_server(desk, server)
    research_pb2_grpc.add_ResearchDeliveryServicer_to_server(desk, server)
    backend.alert_sink = desk.raise_alerts
    return desk


async def serve(config: AdapterConfig, *, simulated_delay_ms: int = 0) -> None:
    """Serve until SIGTERM/SIGINT, then drain and close the audit log."""
    log = logs.get_logger("adapter")
    parts = build_parts(config, simulated_delay_ms=simulated_delay_ms)
    timeout_s = config.backend_timeout_ms / 1000
    # The first probe decides the health the server starts with.
    await parts.health.probed(BACKEND, await probe_backend(parts.backend, timeout_s))
    start = getattr(parts.backend, "start", None)
    if callable(start):
        await start()  # a backend's own background work (e.g. watching for a new extract)
    # The certificate presented and the trust store both follow their files (and SIGHUP).
    trust = parts.trust
    if not isinstance(trust, ReloadingTrustStore):
        raise TypeError("a serving adapter follows its trust store file")
    live = LiveCredentials(ServerCertificate(config.home, config.name), trust,
                           status_file=config.home.run_dir / f"{config.name}.credentials.json")
    service = AdapterService(parts)
    engine = parts.engine
    parts.health.policy = lambda: {"version": engine.version, "mashes": {
        m: {"version": v.version, "source": v.source,
            "bundle": v.bundle.sha256 if v.bundle else ""}
        for m, v in mash_versions(engine).items()}}

    async def credentials_fault(fault: str) -> None:
        # Still serving on the certificate and pins in force; the fault is the operator's.
        await parts.health.probed(CREDENTIALS, BackendState(True, fault))

    # A request whose bytes do not parse is refused by the interceptor, and logged here.
    server = grpc_server.build_server(config.max_message_bytes,
                                      on_malformed=service.refuse_malformed)
    mash_pb2_grpc.add_AgencyAdapterServicer_to_server(service, server)
    if isinstance(parts.backend, ResearchBackend):
        add_research(config, parts.backend, service, server)
    servicer = grpc_health.aio.HealthServicer()
    watcher: asyncio.Task[None] | None = None
    reloading: asyncio.Task[None] | None = None
    certificates: asyncio.Task[None] | None = None
    async for port in grpc_server.serve_until_signalled(
            server, service_name=SERVICE_NAME, listen=config.listen,
            credentials=live.certificate.credentials(),
            port_file=config.home.run_dir / f"{config.name}.port", health_servicer=servicer):
        await parts.health.attach(servicer)
        watcher = asyncio.create_task(watch_backend(
            parts.backend, parts.health, interval_s=config.health_interval_s,
            timeout_s=timeout_s))
        certificates = asyncio.create_task(live.watch(
            interval_s=CREDENTIALS_INTERVAL_S, on_fault=credentials_fault))
        reloading = start_reloading(parts.engine, config.home, config.policy_dir, config.name,
                                    also_on_sighup=(live.trigger,),
                                    on_loaded=parts.health.policy_changed)
        log.info("adapter_started", agency=str(config.agency), port=port,
                 backend=config.backend, serving=parts.health.serving,
                 policy_version=parts.engine.version,
                 match_model=parts.match_model.model_id() if parts.match_model else "shipped")
    for task in (watcher, reloading, certificates):
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    parts.health.stopped()
    log.info("adapter_stopped", agency=str(config.agency))
    parts.audit.close()
    if parts.witness is not None:
        parts.witness.close()
    await parts.backend.aclose()


def run(config: AdapterConfig, *, simulated_delay_ms: int = 0) -> None:
    """Configure logging and serve (blocking)."""
    logs.configure(json=config.json_logs)
    aio.run(serve(config, simulated_delay_ms=simulated_delay_ms))
