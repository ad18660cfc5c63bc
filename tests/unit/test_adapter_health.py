"""The adapter's health: statuses published per component, the status file, fault transitions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from grpc_health.v1 import health_pb2

from agency_adapters.adapter_health import BACKEND, AdapterHealth, probe_backend, read_status
from agency_adapters.backend import BackendState, BackendUnavailable

UP = health_pb2.HealthCheckResponse.SERVING
DOWN = health_pb2.HealthCheckResponse.NOT_SERVING


class RecordingServicer:
    """Stands in for grpc's HealthServicer: remembers the last status set per service."""

    def __init__(self) -> None:
        self.statuses: dict[str, Any] = {}

    async def set(self, service: str, status: Any) -> None:
        self.statuses[service] = status


def test_faults_and_recovery_reach_the_servicer_and_the_status_file(tmp_path: Path) -> None:
    status_file = tmp_path / "run" / "adapter-police.health.json"
    health = AdapterHealth("adapter-police", status_file)
    servicer = RecordingServicer()

    async def scenario() -> None:
        await health.attach(servicer)
        assert servicer.statuses == {"mash.v1.AgencyAdapter": UP,
                                     "mash.v1.AgencyAdapter/backend": UP,
                                     "mash.v1.AgencyAdapter/credentials": UP}
        # a refused extract: still serving the old data, but a fault the operator must see
        await health.probed(BACKEND, BackendState(True, "extract refused: people.csv header",
                                                  data_as_of="2026-11-01T02:00:00+00:00"))
        assert servicer.statuses["mash.v1.AgencyAdapter"] == UP
        assert servicer.statuses["mash.v1.AgencyAdapter/backend"] == DOWN
        written = read_status(status_file)
        assert written is not None
        assert written["components"]["backend"]["fault"] == "extract refused: people.csv header"
        assert written["components"]["backend"]["data_as_of"] == "2026-11-01T02:00:00+00:00"
        # a query timing out adds to the fault; the next good query clears its part
        await health.call_failed(BACKEND, "backend_timeout: candidates took longer than 500 ms")
        assert "candidates took longer" in health.components[BACKEND].fault
        await health.call_succeeded(BACKEND)
        assert health.components[BACKEND].fault == "extract refused: people.csv header"
        # the system of record is down: not serving
        await health.probed(BACKEND, BackendState(False, "backend_unavailable: refused"))
        assert servicer.statuses["mash.v1.AgencyAdapter"] == DOWN
        written = read_status(status_file)
        assert written is not None and written["serving"] is False
        await health.probed(BACKEND, BackendState(True))
        assert servicer.statuses == {"mash.v1.AgencyAdapter": UP,
                                     "mash.v1.AgencyAdapter/backend": UP,
                                     "mash.v1.AgencyAdapter/credentials": UP}

    asyncio.run(scenario())


class _Refusing:
    async def probe(self) -> BackendState:
        raise BackendUnavailable("connection refused by db.council.example:5432")


class _Hanging:
    async def probe(self) -> BackendState:
        await asyncio.sleep(30)
        return BackendState(True)


class _Buggy:
    async def probe(self) -> BackendState:
        raise KeyError("Jane Smith")


def test_probe_failures_become_states_naming_the_cause() -> None:
    refused = asyncio.run(probe_backend(_Refusing(), 1.0))  # type: ignore[arg-type]
    assert refused == BackendState(False, "backend_unavailable: connection refused by "
                                          "db.council.example:5432")
    hung = asyncio.run(probe_backend(_Hanging(), 0.05))  # type: ignore[arg-type]
    assert not hung.serving and "took longer than 50 ms" in hung.fault
    buggy = asyncio.run(probe_backend(_Buggy(), 1.0))  # type: ignore[arg-type]
    assert not buggy.serving and "KeyError" in buggy.fault and "Smith" not in buggy.fault
