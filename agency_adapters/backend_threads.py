"""Synchronous backends on the event loop's terms: a bounded thread pool, and call budgets.

`ThreadedBackend` runs a plain `AgencyBackend` (the SQLite demo store, a SQL
database through a blocking driver) in a pool of at most `threads` threads, so a
slow system of record holds threads, never the event loop. The pool is bounded:
a stuck database takes at most `threads` threads, and the calls that queue
behind them time out like any other.

`CallBudget` gives each backend call of one query its time limit: the per-call
limit, cut to what is left of the query's deadline.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from agency_adapters.backend import (
    AgencyBackend,
    AgencyView,
    BackendState,
    BackendTimeout,
    Person,
    QueryIdentifiers,
    Record,
)
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.matching.matcher import backend_frequencies
from mash.vocab import Category

T = TypeVar("T")


class ThreadedBackend:
    """A synchronous `AgencyBackend` served to the event loop from a bounded thread pool."""

    def __init__(self, backend: AgencyBackend, threads: int = 4) -> None:
        if threads < 1:
            raise ValueError("a backend needs at least one thread")
        self.backend = backend
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="backend")
        # Read once at start-up (a store read), never on the event loop per query.
        self._frequencies = backend_frequencies(backend)
        as_of = getattr(backend, "data_as_of", None)
        self.data_as_of: str | None = as_of if isinstance(as_of, str) else None

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    def view(self) -> AgencyView:
        """This backend (a live store is its own consistent view)."""
        return self

    async def candidates(self, query: QueryIdentifiers) -> list[Person]:
        """The wrapped backend's candidates, read in a pool thread."""
        return await self._run(self.backend.candidates, query)

    async def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        """The wrapped backend's records, read in a pool thread."""
        return await self._run(self.backend.records_for, person_id, categories)

    def name_frequencies(self) -> NameFrequencies | None:
        """The wrapped backend's name frequencies (read at start-up)."""
        return self._frequencies

    async def probe(self) -> BackendState:
        """The wrapped backend's own `probe()` if it has one, in a pool thread."""
        probe = getattr(self.backend, "probe", None)
        if not callable(probe):
            return BackendState(serving=True, data_as_of=self.data_as_of)
        state = await self._run(probe)
        return state if isinstance(state, BackendState) else BackendState(True)

    async def aclose(self) -> None:
        """Stop taking calls and close the wrapped backend (a stuck call is not waited for)."""
        self.close()

    def close(self) -> None:
        """As `aclose`, for callers outside the event loop."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.backend.close()


@dataclass
class CallBudget:
    """The time limit of each backend call of one query (seconds, monotonic clock).

    Each call gets `per_call_s`, cut to what is left before `ends_at`: the query's own
    deadline less the time the answer still needs to be signed and logged.
    """

    per_call_s: float
    ends_at: float
    clock: Callable[[], float] = field(default=time.monotonic)

    @classmethod
    def within(cls, per_call_s: float, remaining_s: float | None, reserve_s: float,
               clock: Callable[[], float] = time.monotonic) -> CallBudget:
        """A budget for a query with `remaining_s` left (None: no deadline; per-call limit only)."""
        now = clock()
        if remaining_s is None:
            return cls(per_call_s, float("inf"), clock)
        return cls(per_call_s, now + max(0.0, remaining_s - reserve_s), clock)

    def timeout(self) -> float:
        """Seconds the next call may take."""
        return max(0.0, min(self.per_call_s, self.ends_at - self.clock()))

    async def run(self, what: str, call: Awaitable[T]) -> T:
        """Await `call` within the next call's limit, or raise `BackendTimeout` naming `what`."""
        limit = self.timeout()
        if limit <= 0:
            if asyncio.iscoroutine(call):
                call.close()
            raise BackendTimeout(f"no time left for {what} within the query's deadline")
        try:
            async with asyncio.timeout(limit):
                return await call
        except TimeoutError:
            raise BackendTimeout(f"{what} took longer than {limit * 1000:.0f} ms") from None
