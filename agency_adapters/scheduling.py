"""Earliest-due-first admission: when an adapter is busy, the most urgent referral goes next.

The broker puts each lookup's RAG due time on the query (`Query.due_at`). An
adapter works on at most `capacity` queries at once; the others wait, and a
freed slot goes to the waiting query that is due soonest (a Red referral due in
two hours before a Green one due in three days), ties in arrival order.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

#: Sort key for a query without a due time: after every dated one.
NO_DUE = float("inf")


def due_key(due_at: str) -> float:
    """A sortable key for an RFC 3339 due time ('' or unparseable: last)."""
    try:
        return datetime.fromisoformat(due_at).timestamp() if due_at else NO_DUE
    except ValueError:
        return NO_DUE


class DueOrderedGate:
    """At most `capacity` holders at once; waiters admitted earliest-due first."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._active = 0
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        """How many queries are queued."""
        return len(self._waiting)

    @asynccontextmanager
    async def slot(self, due: float) -> AsyncIterator[None]:
        """Hold one slot for the duration of the block."""
        if self._active < self.capacity and not self._waiting:
            self._active += 1
        else:
            ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (due, next(self._order), ticket))
            try:
                await ticket  # the slot is handed over by the releasing holder
            except asyncio.CancelledError:
                if ticket.done() and not ticket.cancelled():
                    self._release()  # handed a slot just as we were cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            _, _, ticket = heapq.heappop(self._waiting)
            if not ticket.done():
                ticket.set_result(None)  # hand our slot straight to the most urgent waiter
                return
        self._active -= 1
