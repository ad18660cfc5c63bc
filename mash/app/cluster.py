"""Set up a home and run the broker and adapters as separate processes on loopback.

Used by `mash demo`, the integration tests and the benchmarks, so all three
exercise exactly the deployment path: real processes, real mTLS, real SQLite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agency_adapters.config import AdapterConfig
from broker.config import AdapterEndpoint, BrokerConfig
from certs.names import Principal
from certs.tls import channel_credentials, client_channel_options
from mash.clock import Clock, london_today, utc_now
from mash.home import Home
from mash.vocab import PARTNER_AGENCIES, Agency

#: What `mash demo` runs: the LA's own case system first, then the four partner agencies.
DEMO_AGENCIES: tuple[Agency, ...] = (Agency.CHILDRENS_SOCIAL_CARE, *PARTNER_AGENCIES)

DEFAULT_BROKER_ID = "mash-demo"


class ClusterError(RuntimeError):
    """A service did not start (its log file is named in the message)."""


def prepare_home(home: Home, *, people: int = 2000, seed: int = 7,
                 broker_id: str = DEFAULT_BROKER_ID,
                 agencies: Sequence[Agency] = tuple(Agency), clock: Clock = utc_now) -> None:
    """Dev PKI, identity provider, synthetic agency data and approved agreements (idempotent).

    The synthetic data is dated relative to today (by `clock`); a home seeded on an earlier
    day is seeded again, so the demo tells the same story whenever it runs.
    """
    from agency_adapters.seed import seed_agencies
    from certs.pki import init_pki
    from identity.tokens import init_dev_issuer
    from policy import SHIPPED_POLICY_DIR, dev_approve_all
    from policy.demo_agreements import install_demo_agreements

    home.ensure()
    init_pki(home, brokers=(broker_id,), agencies=[str(a) for a in agencies],
             clients=("staff", "console"))
    init_dev_issuer(home)
    today = london_today(clock)
    missing = [a for a in agencies if not home.agency_store(a).exists()]
    if missing or _seeded_on(home) != today:
        seed_agencies(home.data_dir, seed=seed, people=people, agencies=tuple(agencies),
                      as_of=today)
    dev_approve_all(home, install_demo_agreements(home, SHIPPED_POLICY_DIR, today))


def _seeded_on(home: Home) -> date | None:
    """The `as_of` day of the home's demo data, or None where there is none or it is unreadable."""
    try:
        doc = json.loads((home.data_dir / "demo_subjects.json").read_text(encoding="utf-8"))
        return date.fromisoformat(doc["as_of"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass
class Service:
    """One running service process."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    config: Path
    log: Path

    @property
    def address(self) -> str:
        """host:port on loopback."""
        return f"127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """The broker plus one adapter per agency, as child processes."""

    home: Home
    broker_id: str = DEFAULT_BROKER_ID
    agencies: Sequence[Agency] = DEMO_AGENCIES
    adapter_settings: Mapping[Agency, Mapping[str, Any]] = field(default_factory=dict)
    broker_settings: Mapping[str, Any] = field(default_factory=dict)
    #: extra endpoints the broker is told about (e.g. an adapter that is down)
    extra_endpoints: Sequence[AdapterEndpoint] = ()
    #: send an agency's queries somewhere other than its adapter (security tests)
    endpoint_overrides: Mapping[Agency, str] = field(default_factory=dict)
    #: tests and the benchmark only: adapters whose every answer waits this long (a slow
    #: legacy system), run through `bench.serve_variant` -- no config file can ask for it
    adapter_delays_ms: Mapping[Agency, int] = field(default_factory=dict)
    #: the benchmark's log-off arm only: a broker without an audit log (`bench.serve_variant`)
    broker_audit_log: bool = True
    json_logs: bool = True
    services: dict[str, Service] = field(default_factory=dict)
    _variants: dict[str, list[str] | None] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout_s: float = 60.0) -> Cluster:
        """Start every adapter, then the broker; return once all answer health checks."""
        try:
            for agency in self.agencies:
                cfg = AdapterConfig(agency=agency, home=self.home, store=self.home.agency_store(agency),
                                    trusted_brokers=(self.broker_id,), json_logs=self.json_logs)
                cfg = replace(cfg, **dict(self.adapter_settings.get(agency, {})))
                path = self.home.config_dir / f"{cfg.name}.toml"
                cfg.write(path)
                delay = self.adapter_delays_ms.get(agency, 0)
                self._spawn(cfg.name, ["adapter", "serve", "--config", str(path)], path,
                            variant=["--delay-ms", str(delay)] if delay else None)
            for agency in self.agencies:
                self._await_port(f"adapter-{agency}", timeout_s)
            endpoints = [
                AdapterEndpoint(a, self.endpoint_overrides.get(a, self.services[f"adapter-{a}"].address))
                for a in self.agencies
            ]
            # a development cluster: staff tokens come from the home's dev issuer unless the
            # caller configures an [identity] through broker_settings
            bcfg = BrokerConfig(broker_id=self.broker_id, home=self.home,
                                adapters=(*endpoints, *self.extra_endpoints),
                                json_logs=self.json_logs, dev_mode=True)
            bcfg = replace(bcfg, **dict(self.broker_settings))
            bpath = self.home.config_dir / f"{bcfg.name}.toml"
            bcfg.write(bpath)
            self._spawn(bcfg.name, ["broker", "serve", "--config", str(bpath)], bpath,
                        variant=None if self.broker_audit_log else ["--no-audit-log"])
            self._await_port(bcfg.name, timeout_s)
            for service in self.services.values():
                self._await_healthy(service, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def add_broker(self, broker_id: str, *, timeout_s: float = 60.0,
                   **settings: Any) -> Service:
        """Start another MASH's broker on this home, reaching this cluster's adapters.

        One adapter serves several MASHs: each broker has its own certificate and keys
        (`mash pki issue broker/<id>`), its own audit log and its own agreements (`settings`
        such as `policy_dir`); the adapters must list it in `trusted_brokers`.
        """
        endpoints = tuple(AdapterEndpoint(a, self.services[f"adapter-{a}"].address)
                          for a in self.agencies)
        cfg = replace(BrokerConfig(broker_id=broker_id, home=self.home, adapters=endpoints,
                                   json_logs=self.json_logs, dev_mode=True), **settings)
        path = self.home.config_dir / f"{cfg.name}.toml"
        cfg.write(path)
        self._spawn(cfg.name, ["broker", "serve", "--config", str(path)], path)
        self._await_port(cfg.name, timeout_s)
        self._await_healthy(self.services[cfg.name], timeout_s)
        return self.services[cfg.name]

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM every service, then SIGKILL what has not exited after `grace_s`."""
        for s in self.services.values():
            if s.process.poll() is None:
                s.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for s in self.services.values():
            try:
                s.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                s.process.kill()
                s.process.wait()

    def kill(self, name: str) -> None:
        """SIGKILL one service (crash tests): no drain, no flush, no goodbye."""
        service = self.services[name]
        service.process.kill()
        service.process.wait()

    def respawn(self, name: str, timeout_s: float = 60.0) -> Service:
        """Start a stopped service again with the same config (it may get a new port)."""
        old = self.services[name]
        args = ["broker" if name.startswith("broker-") else "adapter", "serve",
                "--config", str(old.config)]
        self._spawn(name, args, old.config, variant=self._variants.get(name))
        self._await_port(name, timeout_s)
        self._await_healthy(self.services[name], timeout_s)
        return self.services[name]

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def broker(self) -> Service:
        """The broker service."""
        return self.services[f"broker-{self.broker_id}"]

    def adapter(self, agency: Agency | str) -> Service:
        """The adapter service of `agency`."""
        return self.services[f"adapter-{agency}"]

    # ------------------------------------------------------------------ internals

    def _spawn(self, name: str, args: list[str], config: Path,
               variant: list[str] | None = None) -> None:
        self._variants[name] = variant
        self.services[name] = spawn_service(self.home, name, args, config, variant=variant)

    def _await_port(self, name: str, timeout_s: float) -> None:
        await_port(self.home, self.services[name], timeout_s)

    def _await_healthy(self, service: Service, timeout_s: float) -> None:
        creds = channel_credentials(self.home, f"broker-{self.broker_id}")
        options = client_channel_options(Principal.from_cert_name(service.name), service.address)
        with grpc.secure_channel(service.address, creds, options=options) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            raise ClusterError(f"{service.name} is not SERVING")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def spawn_service(home: Home, name: str, args: list[str], config: Path,
                  variant: list[str] | None = None) -> Service:
    """Start `mash ARGS` as service `name` of `home` (its log under the home's log folder).

    With `variant` (extra arguments), the service runs as the test/benchmark-only
    `bench.serve_variant` instead (`args` being `[broker|adapter, serve, --config, FILE]`).
    Its port is known once it has written `<run dir>/<name>.port`: see `await_port`.
    """
    port_file = home.run_dir / f"{name}.port"
    port_file.unlink(missing_ok=True)
    home.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = home.log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        command = (["-m", "mash.app", *args] if variant is None
                   else ["-m", "bench.serve_variant", args[0], *args[2:], *variant])
        process = subprocess.Popen(
            [sys.executable, *command],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return Service(name, process, 0, config, log_path)


def await_port(home: Home, service: Service, timeout_s: float) -> None:
    """Wait until `service` has written its port (set on it), or raise `ClusterError`."""
    port_file = home.run_dir / f"{service.name}.port"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise ClusterError(f"{service.name} exited with {service.process.returncode}; "
                               f"see {service.log}:\n{_tail(service.log)}")
        if port_file.exists():
            text = port_file.read_text().strip()
            if text.isdigit():
                service.port = int(text)
                return
        time.sleep(0.05)
    raise ClusterError(f"{service.name} did not start within {timeout_s}s; see {service.log}")
