"""An adapter's health, as an operator sees it: gRPC health statuses, a status file, log lines.

Health checking (`grpc.health.v1.Health/Check`) answers for these service names:

- `""`: the process is up (liveness; always SERVING while it serves).
- `mash.v1.AgencyAdapter`: queries can be answered. NOT_SERVING when the backend's
  probe fails (queries are then answered `unavailable` with the reason).
- `mash.v1.AgencyAdapter/backend`: the backend has no fault. NOT_SERVING while a
  fault stands that the operator must see even though queries are still answered
  (a refused extract while the previous one stays in use, a query that timed out).
- `mash.v1.AgencyAdapter/credentials`: the adapter's certificate and trust store files
  are the ones in force. NOT_SERVING while a new file is refused (the adapter serves on
  the ones it holds; `HOME/run/<adapter>.credentials.json` says what is wrong).

gRPC health carries no text, so the reasons are in `HOME/run/<adapter>.health.json`
(written atomically on every change) and in the log (`health_changed`). The file names the
process that wrote it and, once the adapter has stopped, says so (`stopped_at`), so that
`mash adapter status` never reads a stopped adapter's last state as a live one.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from agency_adapters.backend import AsyncAgencyBackend, BackendError, BackendState
from mash.canonical import JsonValue
from mash.clock import Clock, utc_now
from mash.files import write_text
from mash.grpc_server import HealthPublisher
from mash.logs import get_logger
from mash.processes import gone, this_host

log = get_logger("adapter")

SERVICE = "mash.v1.AgencyAdapter"
BACKEND = "backend"
#: the adapter's own TLS certificate and trust store (`certs.live`)
CREDENTIALS = "credentials"


def component_service(component: str) -> str:
    """The health-checking service name of one component."""
    return f"{SERVICE}/{component}"


@dataclass(frozen=True)
class ComponentHealth:
    """One component's health: can it serve, and what (if anything) is wrong."""

    serving: bool = True
    #: a fault found by the last probe
    probe_fault: str = ""
    #: a fault seen by the last query that used the component (cleared by one that succeeds)
    call_fault: str = ""
    data_as_of: str | None = None
    since: str = ""

    @property
    def fault(self) -> str:
        """Everything wrong with the component, or "" when nothing is."""
        return "; ".join(f for f in (self.probe_fault, self.call_fault) if f)


class AdapterHealth:
    """Collects component health and publishes it (health servicer, status file, log)."""

    def __init__(self, name: str, status_file: Path | None,
                 clock: Clock = utc_now) -> None:
        self.name = name
        self.status_file = status_file
        self._clock = clock
        self._servicer: HealthPublisher | None = None
        #: the policy in force, per MASH (`policy.reloading.mash_versions`), when serving
        self.policy: Callable[[], dict[str, JsonValue]] | None = None
        self.components: dict[str, ComponentHealth] = {BACKEND: ComponentHealth(),
                                                       CREDENTIALS: ComponentHealth()}

    @property
    def serving(self) -> bool:
        """Can the adapter answer queries (every component serving)?"""
        return all(c.serving for c in self.components.values())

    async def attach(self, servicer: HealthPublisher) -> None:
        """Publish to this gRPC health servicer from now on (and publish the current state)."""
        self._servicer = servicer
        await self._publish()

    async def probed(self, component: str, state: BackendState) -> None:
        """Record what a probe of `component` found."""
        old = self.components.get(component, ComponentHealth())
        await self._set(component, ComponentHealth(
            serving=state.serving, probe_fault=state.fault, call_fault=old.call_fault,
            data_as_of=state.data_as_of, since=old.since))

    async def call_failed(self, component: str, fault: str) -> None:
        """A query's call to `component` failed with `fault`."""
        old = self.components.get(component, ComponentHealth())
        if old.call_fault != fault:
            await self._set(component, ComponentHealth(
                serving=old.serving, probe_fault=old.probe_fault, call_fault=fault,
                data_as_of=old.data_as_of, since=old.since))

    async def call_succeeded(self, component: str) -> None:
        """A query's calls to `component` all succeeded (clears the last call fault)."""
        old = self.components.get(component, ComponentHealth())
        if old.call_fault:
            await self._set(component, ComponentHealth(
                serving=old.serving, probe_fault=old.probe_fault, call_fault="",
                data_as_of=old.data_as_of, since=old.since))

    async def _set(self, component: str, new: ComponentHealth) -> None:
        old = self.components.get(component, ComponentHealth())
        if (old.serving, old.fault, old.data_as_of) == (new.serving, new.fault, new.data_as_of):
            return
        if (old.serving, old.fault) != (new.serving, new.fault):
            new = ComponentHealth(new.serving, new.probe_fault, new.call_fault, new.data_as_of,
                                  since=self._clock().isoformat())
            event = log.warning if new.fault or not new.serving else log.info
            event("health_changed", adapter=self.name, component=component,
                  serving=new.serving, fault=new.fault)
        self.components[component] = new
        await self._publish()

    def snapshot(self) -> dict[str, JsonValue]:
        """The state written to the status file."""
        out: dict[str, JsonValue] = {
            "adapter": self.name,
            "serving": self.serving,
            "updated_at": self._clock().isoformat(),
            "host": this_host(),
            "pid": os.getpid(),
            "components": {k: {**asdict(v), "fault": v.fault}
                           for k, v in sorted(self.components.items())},
        }
        if self.policy is not None:
            out["policy"] = self.policy()
        return out

    def policy_changed(self) -> None:
        """The policy in force changed: rewrite the status file (gRPC health is unchanged)."""
        if self.status_file is not None:
            write_text(self.status_file, json.dumps(self.snapshot(), indent=2) + "\n")

    def stopped(self) -> None:
        """The adapter has stopped serving: the status file says so from now on."""
        if self.status_file is not None:
            out = self.snapshot()
            out["serving"] = False
            out["stopped_at"] = self._clock().isoformat()
            write_text(self.status_file, json.dumps(out, indent=2) + "\n")

    async def _publish(self) -> None:
        if self._servicer is not None:
            from grpc_health.v1 import health_pb2

            up, down = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
            await self._servicer.set(SERVICE, up if self.serving else down)
            for name, c in self.components.items():
                await self._servicer.set(component_service(name),
                                         up if c.serving and not c.fault else down)
        if self.status_file is not None:
            write_text(self.status_file, json.dumps(self.snapshot(), indent=2) + "\n")


def read_status(path: Path) -> dict[str, object] | None:
    """A status file written by a running adapter (None when there is none or it is not one)."""
    try:
        data: object = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def not_running(status: Mapping[str, object]) -> str:
    """Why the adapter that wrote `status` is not running, or "" when it may be."""
    if status.get("stopped_at"):
        return f"stopped at {status['stopped_at']}"
    pid = status.get("pid")
    if gone(pid, status.get("host")):
        return f"its process {pid} has gone; its last status is from {status.get('updated_at')}"
    return ""


async def probe_backend(backend: AsyncAgencyBackend, timeout_s: float) -> BackendState:
    """Probe `backend` once within `timeout_s`; every failure becomes a state naming it."""
    try:
        async with asyncio.timeout(timeout_s):
            return await backend.probe()
    except TimeoutError:
        return BackendState(False, f"backend_timeout: the health probe took longer than "
                                   f"{timeout_s * 1000:.0f} ms")
    except BackendError as exc:
        return BackendState(False, f"{exc.code}: {exc}")
    except Exception as exc:  # a plug-in's own bug: name its type, keep serving the probe loop
        return BackendState(False, f"backend_error: probe failed with {type(exc).__name__}")


async def watch_backend(backend: AsyncAgencyBackend, health: AdapterHealth, *,
                        interval_s: float, timeout_s: float) -> None:
    """Probe `backend` every `interval_s` and publish what it finds, until cancelled."""
    while True:
        await health.probed(BACKEND, await probe_backend(backend, timeout_s))
        await asyncio.sleep(interval_s)
