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

from mash.audit.events import AuditEvent


class _GroupWriter(Protocol):
    def submit(self, event: AuditEvent) -> Future[int]: ...

    def submit_many(self, events: list[AuditEvent]) -> Future[list[int]]: ...


class LoopBatchingSink:
    """Batches `submit` calls made on one event loop into one durable group write per turn."""

    def __init__(self, log: _GroupWriter) -> None:
        self._log = log
        self._pending: list[tuple[AuditEvent, asyncio.Future[int]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def submit(self, event: AuditEvent) -> Future[int]:
        """Queue `event`; the returned future resolves to its entry id once durable.

        On an event loop the future is an `asyncio.Future` (which
        `asyncio.wrap_future` passes through unchanged); off a loop this is
        plain `AuditLog.submit`.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self._log.submit(event)
        if self._loop is not loop:
            # A different loop (tests run several): never mix their futures in one group.
            self._flush()
            self._loop = loop
        fut: asyncio.Future[int] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((event, fut))
        # Duck-typed: callers only await it through asyncio.wrap_future, which returns it as is.
        return cast("Future[int]", fut)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        loop = self._loop
        assert loop is not None
        group = self._log.submit_many([e for e, _ in pending])
        futures = [f for _, f in pending]

        def settle(done: Future[list[int]]) -> None:
            # Runs on the writer thread: hand the outcome to the loop in ONE call.
            if loop.is_closed():
                return
            loop.call_soon_threadsafe(_resolve, futures, done)

        group.add_done_callback(settle)


def _resolve(futures: list[asyncio.Future[int]], done: Future[list[int]]) -> None:
    error = done.exception()
    ids = done.result() if error is None else []
    for i, fut in enumerate(futures):
        if fut.done():  # cancelled by its caller: nothing to deliver
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(ids[i])
