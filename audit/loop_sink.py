"""`LoopBatchingSink`: an asyncio service's way into an `AuditLog`, one writer hand-off per loop turn.

A broker lookup submits ~14 events in two bursts and awaits each burst. With
`AuditLog.submit` that is 14 queue puts, 14 thread-safe Futures and 14
cross-thread wake-ups of the event loop -- measured at about half of the
broker's audit cost. This sink gathers every event submitted during one turn
of the event loop (from every concurrent request) into one `submit_many`, and
resolves all their asyncio futures with one wake-up when the group is durable.

Durability is unchanged: a future resolves only after its entry is committed
(fsync'd); if the group fails, every future in it raises `AuditWriteError` (or
`AuditLogClosed`), so callers fail closed exactly as before.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Protocol, cast

from audit.events import AuditEvent
from mash.errors import present


class _GroupWriter(Protocol):
    def submit(self, event: AuditEvent) -> Future[int]: ...

    def submit_many(self, events: list[AuditEvent]) -> Future[list[int]]: ...


class LoopBatchingSink:
    """Batches `submit` calls made on one event loop into one durable group write per turn."""

    def __init__(self, log: _GroupWriter) -> None:
        self._log = log
        # (events, their future, whether the caller asked for one id or a list)
        self._pending: list[tuple[list[AuditEvent], asyncio.Future[int | list[int]], bool]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def submit(self, event: AuditEvent) -> Future[int]:
        """Queue `event`; the returned future resolves to its entry id once durable.

        On an event loop the future is an `asyncio.Future` (which
        `asyncio.wrap_future` passes through unchanged); off a loop this is
        plain `AuditLog.submit`.
        """
        loop = self._running_loop()
        if loop is None:
            return self._log.submit(event)
        return cast("Future[int]", self._queue(loop, [event], single=True))

    def submit_many(self, events: list[AuditEvent]) -> Future[list[int]]:
        """Queue `events`; ONE future resolves to their ids once all are durable."""
        loop = self._running_loop()
        if loop is None:
            return self._log.submit_many(events)
        return cast("Future[list[int]]", self._queue(loop, list(events), single=False))

    def _running_loop(self) -> asyncio.AbstractEventLoop | None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if self._loop is not loop:
            # A different loop (tests run several): never mix their futures in one group.
            self._flush()
            self._loop = loop
        return loop

    def _queue(self, loop: asyncio.AbstractEventLoop, events: list[AuditEvent],
               *, single: bool) -> asyncio.Future[int | list[int]]:
        fut: asyncio.Future[int | list[int]] = loop.create_future()
        if not events:
            fut.set_result([])
            return fut
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((events, fut, single))
        # Duck-typed: callers only await it through asyncio.wrap_future, which returns it as is.
        return fut

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        loop = present(self._loop, "the audit sink's event loop")
        group = self._log.submit_many([e for events, _, _ in pending for e in events])
        callers = [(fut, len(events), single) for events, fut, single in pending]

        def settle(done: Future[list[int]]) -> None:
            # Runs on the writer thread: hand the outcome to the loop in ONE call.
            if loop.is_closed():
                return
            loop.call_soon_threadsafe(_resolve, callers, done)

        group.add_done_callback(settle)


def _resolve(callers: list[tuple[asyncio.Future[int | list[int]], int, bool]],
             done: Future[list[int]]) -> None:
    error = done.exception()
    ids = done.result() if error is None else []
    at = 0
    for fut, count, single in callers:
        mine, at = ids[at:at + count], at + count
        if fut.done():  # cancelled by its caller: nothing to deliver
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(mine[0] if single else mine)
