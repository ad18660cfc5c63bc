"""Run the broker as a process: `mash broker serve --config FILE`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json

import jwt
from grpc_health.v1 import health as grpc_health
from grpc_health.v1 import health_pb2

from audit.alerts import AlertMonitor, default_rules
from audit.log import AuditLog
from audit.loop_sink import LoopBatchingSink
from audit.pseudonyms import Pseudonymiser
from audit.witness import Witness, pinned_from
from broker.auth import Authenticator
from broker.config import BrokerConfig, IdentityProvider
from broker.fanout import AdapterClients
from broker.governance_service import GovernanceService
from broker.referral_service import ReferralsService
from broker.referrals import SqliteReferralStore
from broker.refusal_log import RefusalLog
from broker.research_pending import PendingResearchStore
from broker.research_sweep import sweep_forever
from broker.reviews import ReviewStore
from broker.service import AuditSink, BrokerParts, BrokerService
from broker.timescales import due_at
from certs.live import CREDENTIALS_INTERVAL_S, LiveCredentials, ServerCertificate
from certs.reloading import ReloadingTrustStore
from certs.signing import SigningKey
from identity.tokens import TokenValidator, jwks_path
from mash import aio, grpc_server, logs
from mash.errors import present
from mash.v1 import (
    governance_pb2,
    governance_pb2_grpc,
    mash_pb2,
    mash_pb2_grpc,
    referrals_pb2,
    referrals_pb2_grpc,
)
from mash.working_calendar import home_calendar
from policy import load_engine
from policy.reloading import start_reloading

SERVICE_NAME = mash_pb2.DESCRIPTOR.services_by_name["Broker"].full_name
#: Health of the broker's own certificate and trust store: NOT_SERVING while a new file is
#: refused (the broker still serves, on the ones in force; the reason is in the status file).
CREDENTIALS_SERVICE = f"{SERVICE_NAME}/credentials"
#: Every service the broker serves: each is in health checking and server reflection.
SERVICE_NAMES = (SERVICE_NAME,
                 referrals_pb2.DESCRIPTOR.services_by_name["Referrals"].full_name,
                 governance_pb2.DESCRIPTOR.services_by_name["Governance"].full_name)

class IdentityProviderUnavailable(RuntimeError):
    """The configured identity provider's keys could not be read at start-up."""


def _jwks(idp: IdentityProvider) -> dict[str, object]:
    """The IdP's published signing keys, from its file or its HTTPS URL."""
    try:
        if idp.jwks_file is not None:
            data = json.loads(idp.jwks_file.read_text(encoding="utf-8"))
        else:
            data = jwt.PyJWKClient(str(idp.jwks_url), cache_keys=False, timeout=10).fetch_data()
    except (OSError, ValueError, jwt.PyJWKClientError) as exc:
        where = idp.jwks_file or idp.jwks_url
        raise IdentityProviderUnavailable(f"cannot read the identity provider's keys from "
                                          f"{where}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise IdentityProviderUnavailable("the identity provider's JWKS has no 'keys' list")
    return data


def token_validator(config: BrokerConfig) -> TokenValidator:
    """Validates staff tokens from the configured IdP (the home's dev issuer in dev mode only),
    for this broker's audience and the MASH it serves (`org`, by default the broker id)."""
    idp = config.identity
    if idp is None:
        if not config.dev_mode:  # BrokerConfig refuses this too; never fall back silently
            raise IdentityProviderUnavailable("no [identity] configured and dev_mode is off")
        logs.get_logger("broker").warning("broker_dev_mode", identity="development issuer")
        path = jwks_path(config.home)
        try:
            return TokenValidator.from_home(config.home, broker_id=config.broker_id)
        except FileNotFoundError:
            raise IdentityProviderUnavailable(
                f"the development issuer's keys are missing ({path}): create them with "
                f"`mash token init --home {config.home.root}`, or name your identity provider "
                "under [identity]") from None
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise IdentityProviderUnavailable(f"cannot read the development issuer's keys from "
                                              f"{path}: {exc}") from None
    return TokenValidator(idp.issuer, idp.audience, _jwks(idp), org=idp.org or config.broker_id)


def build_parts(config: BrokerConfig, *, benchmark_audit_sink: AuditSink | None = None,
                ) -> tuple[BrokerParts, AuditLog | None]:
    """Open keys, policy, audit log and adapter channels (fails fast, naming the cause).

    `benchmark_audit_sink` replaces the audit log: it exists for the benchmark's log-off
    arm (`bench.serve_variant`) and is not a setting of the config file.
    """
    home = config.home
    name = config.name
    calendar = home_calendar(home)  # one calendar: timescales and "after hours" alike
    # break-glass, repeated denials, spikes, after hours
    monitor = AlertMonitor(default_rules(calendar), log_name=name)
    checkpoint_key = SigningKey.load(home.signing_key(f"audit-{name}")).private_key
    audit = (
        AuditLog.open(home.audit_log(name), owner=name, checkpoint_key=checkpoint_key,
                      on_commit=[monitor])
        if benchmark_audit_sink is None else None
    )
    sink: AuditSink
    if audit is not None:
        monitor.attach(audit)
        # a broker killed mid-lookup left intents without outcomes: say so before serving
        audit.recover_unfinished()
        # One writer hand-off per event-loop turn instead of one per event (see loop_sink).
        sink = LoopBatchingSink(audit)
    elif benchmark_audit_sink is not None:
        sink = benchmark_audit_sink
    else:  # pragma: no cover - the log opens whenever no benchmark sink is given
        raise RuntimeError("no audit log")
    # follows the file: revocations, rotations and new pins apply without a restart
    trust = ReloadingTrustStore(home.trust_store)
    parts = BrokerParts(
        config=config,
        auth=Authenticator(token_validator(config), trust),
        engine=load_engine(home, config.policy_dir),
        trust=trust,
        signing_key=SigningKey.load(home.signing_key(name)),
        audit=sink,
        pseudonyms=Pseudonymiser.for_home(home),
        clients=AdapterClients(home, name, config.adapters, config.max_message_bytes),
        reviews=ReviewStore(home.broker_dir / "reviews.sqlite"),
        due_at=functools.partial(due_at, calendar=calendar),
        # The broker alone opens the referral store; staff reach it through `Referrals`.
        referrals=SqliteReferralStore.in_home(home),
        # the adapters countersign this log's checkpoints, and the broker theirs
        own_checkpoint=(lambda: audit.latest_checkpoint) if audit is not None else lambda: None,
        witness=Witness.open(home.witness_dir / f"{name}.sqlite", owner=name,
                             key=checkpoint_key, pinned_keys=pinned_from(trust)),
        research=PendingResearchStore(home.broker_dir / "research.sqlite"),
    )
    return parts, audit


async def serve(config: BrokerConfig, *, benchmark_audit_sink: AuditSink | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then drain, close channels and the audit log."""
    log = logs.get_logger("broker")
    parts, audit = build_parts(config, benchmark_audit_sink=benchmark_audit_sink)
    # Every refused call is in the audit log (bounded fields, per-caller budget).
    refusals = RefusalLog(parts.audit, parts.trust)
    server = grpc_server.build_server(config.max_message_bytes, on_malformed=refusals.malformed,
                                      on_refused=refusals.refused)
    broker = BrokerService(parts)
    mash_pb2_grpc.add_BrokerServicer_to_server(broker, server)
    referrals = present(parts.referrals, "the referral store")
    referral_service = ReferralsService(parts, broker, referrals, home_calendar(config.home))
    referrals_pb2_grpc.add_ReferralsServicer_to_server(referral_service, server)
    governance_pb2_grpc.add_GovernanceServicer_to_server(GovernanceService(parts), server)
    trust = parts.trust
    if not isinstance(trust, ReloadingTrustStore):
        raise TypeError("a serving broker follows its trust store file")
    # The certificate presented (and dialled with) and the trust store follow their files.
    live = LiveCredentials(ServerCertificate(config.home, config.name), trust,
                           status_file=config.home.run_dir / f"{config.name}.credentials.json")
    health = grpc_health.aio.HealthServicer()

    async def credentials_fault(fault: str) -> None:
        await health.set(CREDENTIALS_SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING
                         if fault else health_pb2.HealthCheckResponse.SERVING)

    reloading: asyncio.Task[None] | None = None
    certificates: asyncio.Task[None] | None = None
    collecting: asyncio.Task[None] | None = None
    async for port in grpc_server.serve_until_signalled(
            server, service_name=SERVICE_NAMES, listen=config.listen,
            credentials=live.certificate.credentials(),
            port_file=config.home.run_dir / f"{config.name}.port", health_servicer=health):
        await credentials_fault("")
        certificates = asyncio.create_task(live.watch(
            interval_s=CREDENTIALS_INTERVAL_S, on_fault=credentials_fault,
            on_renewed=parts.clients.renew))
        reloading = start_reloading(parts.engine, config.home, config.policy_dir, config.name,
                                    also_on_sighup=(live.trigger,))
        # researchers' answers are filed as they arrive, not only when a summary is read
        collecting = asyncio.create_task(sweep_forever(
            referral_service.sweep_research, config.research_collect_interval_s),
            name="research-collect")
        log.info("broker_started", broker_id=config.broker_id, port=port,
                 adapters=len(config.adapters), policy_version=parts.engine.version)
    for task in (reloading, certificates, collecting):
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    log.info("broker_stopped")
    await parts.clients.close()
    parts.reviews.close()
    if parts.research is not None:
        parts.research.close()
    if parts.referrals is not None:
        parts.referrals.close()
    if parts.witness is not None:
        parts.witness.close()
    if audit is not None:
        audit.close()


def run(config: BrokerConfig, *, benchmark_audit_sink: AuditSink | None = None) -> None:
    """Configure logging and serve (blocking)."""
    logs.configure(json=config.json_logs)
    aio.run(serve(config, benchmark_audit_sink=benchmark_audit_sink))
