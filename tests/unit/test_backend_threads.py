"""The thread pool that keeps synchronous backends off the event loop, and call budgets."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Collection

import pytest

from agency_adapters.backend import (
    AsyncAgencyBackend,
    BackendState,
    BackendTimeout,
    Person,
    QueryIdentifiers,
    Record,
)
from agency_adapters.backend_threads import CallBudget, ThreadedBackend
from mash.vocab import Category

PERSON = Person("P-1", "Amelia", "Shaw", date_of_birth="2015-03-02")


class GatedSystem:
    """A synchronous system of record whose reads wait for the test to open a gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.calls = 0
        self.closed = False

    def candidates(self, query: QueryIdentifiers) -> list[Person]:
        self.calls += 1
        self.entered.set()
        assert self.gate.wait(10), "the test never opened the gate"
        return [PERSON]

    def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        return []

    def probe(self) -> BackendState:
        return BackendState(serving=True, fault="index rebuild pending")

    def close(self) -> None:
        self.closed = True


def test_a_blocked_read_leaves_the_event_loop_free() -> None:
    system = GatedSystem()
    backend = ThreadedBackend(system, threads=2)
    assert isinstance(backend, AsyncAgencyBackend)

    async def scenario() -> list[Person]:
        read = asyncio.create_task(backend.view().candidates(QueryIdentifiers()))
        await asyncio.to_thread(system.entered.wait, 5)
        # the read is blocked in a pool thread: this coroutine still runs, and opens the gate
        assert not read.done()
        system.gate.set()
        return await read

    assert asyncio.run(scenario()) == [PERSON]
    asyncio.run(backend.aclose())
    assert system.closed


def test_a_stuck_read_times_out_and_the_bounded_pool_queues_the_next() -> None:
    system = GatedSystem()
    backend = ThreadedBackend(system, threads=1)

    async def scenario() -> None:
        budget = CallBudget.within(0.2, None, 0.0)
        with pytest.raises(BackendTimeout, match="candidates took longer than 200 ms"):
            await budget.run("candidates", backend.candidates(QueryIdentifiers()))
        # the only thread is still held by the stuck read: the next call waits, and times out
        with pytest.raises(BackendTimeout):
            await budget.run("candidates", backend.candidates(QueryIdentifiers()))
        system.gate.set()
        assert await budget.run("candidates", backend.candidates(QueryIdentifiers())) == [PERSON]

    asyncio.run(scenario())
    asyncio.run(backend.aclose())


def test_the_budget_is_cut_to_the_query_deadline() -> None:
    now = [100.0]
    budget = CallBudget.within(2.0, remaining_s=0.5, reserve_s=0.2, clock=lambda: now[0])
    assert budget.timeout() == pytest.approx(0.3)
    now[0] += 0.25
    assert budget.timeout() == pytest.approx(0.05)
    now[0] += 1
    assert budget.timeout() == 0.0
    assert CallBudget.within(2.0, None, 0.2, clock=lambda: now[0]).timeout() == 2.0


def test_no_time_left_means_the_backend_is_not_called() -> None:
    system = GatedSystem()
    backend = ThreadedBackend(system, threads=1)
    budget = CallBudget.within(2.0, remaining_s=0.1, reserve_s=0.2)

    async def scenario() -> None:
        with pytest.raises(BackendTimeout, match="no time left for candidates"):
            await budget.run("candidates", backend.candidates(QueryIdentifiers()))

    asyncio.run(scenario())
    assert system.calls == 0
    asyncio.run(backend.aclose())


def test_probe_reports_the_backends_own_state() -> None:
    backend = ThreadedBackend(GatedSystem(), threads=1)
    state = asyncio.run(backend.probe())
    assert state == BackendState(serving=True, fault="index rebuild pending")
    asyncio.run(backend.aclose())
