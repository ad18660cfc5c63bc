"""What the audit writer's queue carries, and how each item learns its fate.

`AuditLog.submit` queues (event, Future); `submit_many` a `Group` with one
Future for all; `checkpoint_now`, `redact` and `close` queue their requests.
The writer thread resolves each through the `Sink` interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol

from audit.errors import AuditWriteError
from audit.events import AuditEvent


class Stop:
    """Queue marker: flush, checkpoint and stop."""


class CheckpointRequest:
    """Queue marker: write a checkpoint now (if anything is unanchored)."""

    def __init__(self) -> None:
        self.future: Future[int] = Future()
        self.future.set_running_or_notify_cancel()


class Redact:
    """Queue marker: record a redaction of these entries, then drop their personal parts."""

    def __init__(self, event: AuditEvent, entry_ids: tuple[int, ...]) -> None:
        self.event = event
        self.entry_ids = entry_ids
        self.future: Future[int] = Future()
        self.future.set_running_or_notify_cancel()


class Sink(Protocol):
    """Where the writer reports one entry's fate (a Future, or one member of a group)."""

    def set_result(self, entry_id: int) -> None: ...
    def set_exception(self, exc: BaseException) -> None: ...
    def done(self) -> bool: ...


class Group:
    """Queue item: several events whose single Future resolves when all are durable."""

    def __init__(self, events: Sequence[AuditEvent]) -> None:
        self.events = tuple(events)
        self.future: Future[list[int]] = Future()
        self.future.set_running_or_notify_cancel()
        self.ids: list[int | None] = [None] * len(self.events)
        self.left = len(self.events)

    def member(self, index: int) -> Sink:
        """The sink for event `index` (used only on the writer thread)."""
        return GroupMember(self, index)


class GroupMember:
    """One event of a `Group`: the group's Future resolves when every member has."""

    __slots__ = ("group", "index")

    def __init__(self, group: Group, index: int) -> None:
        self.group = group
        self.index = index

    def set_result(self, entry_id: int) -> None:
        """This member is durable as `entry_id`."""
        g = self.group
        g.ids[self.index] = entry_id
        g.left -= 1
        if g.left == 0 and not g.future.done():
            g.future.set_result([i for i in g.ids if i is not None])

    def set_exception(self, exc: BaseException) -> None:
        """This member failed: so does the whole group."""
        if not self.group.future.done():
            self.group.future.set_exception(exc)

    def done(self) -> bool:
        """True once the group has an outcome."""
        return self.group.future.done()


Item = tuple[AuditEvent, "Sink"] | Stop | CheckpointRequest | Redact | Group


def fail_item(item: Item, err: AuditWriteError) -> None:
    """Fail `item` with `err` unless it already has an outcome."""
    fut: Sink | Future[int] | Future[list[int]] | None = (
        item[1] if isinstance(item, tuple) else getattr(item, "future", None))
    if fut is not None and not fut.done():
        fut.set_exception(err)
