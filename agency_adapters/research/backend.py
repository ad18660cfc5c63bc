"""The backend kind `research`: no store to read -- permitted queries wait for a researcher.

The adapter queues a permitted query instead of matching it (`AdapterParts.research`);
this backend is what the adapter's health watch probes: the queue opens, and pending Red
items near (or past) their due time are a fault an operator sees in health and the log,
each raised once as an alert (and audited by the adapter's `ResearchDesk`).

Config (`backend = "research"`)::

    [backend_options]
    queue = "/srv/mash-adapter/data/research-police.sqlite"   # default: HOME/data/...
    alert_minutes = 60          # a pending Red item due within this alerts
    # the identity provider whose staff tokens researchers present (default: the home's
    # development issuer); a researcher's token is for the MASH they work in
    # issuer = "https://idp.example.gov.uk"
    # jwks_file = "/srv/mash-adapter/idp-jwks.json"
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import msgspec

from agency_adapters.backend import (
    BackendMisconfigured,
    BackendState,
    Person,
    QueryIdentifiers,
    Record,
)
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.research.queue import ResearchItem, ResearchQueue
from mash.config import ConfigError, Strict, decode
from mash.logs import get_logger
from mash.vocab import Category

if TYPE_CHECKING:
    from agency_adapters.config import AdapterConfig

log = get_logger("adapter")

AlertSink = Callable[[list[ResearchItem]], Awaitable[None]]


class ResearchBackend:
    """An `AsyncAgencyBackend` whose data is a researcher's search: it holds the queue."""

    data_as_of: str | None = None

    def __init__(self, queue: ResearchQueue, *, issuer: str = "",
                 jwks_file: Path | None = None) -> None:
        self.queue = queue
        self.issuer = issuer
        self.jwks_file = jwks_file
        #: told of items whose alert is newly raised (the adapter audits them)
        self.alert_sink: AlertSink | None = None

    def view(self) -> ResearchBackend:
        """Itself (never read: the adapter queues permitted queries instead)."""
        return self

    async def candidates(self, query: QueryIdentifiers) -> list[Person]:
        """Never called: a researcher searches the force's systems by hand."""
        raise BackendMisconfigured("the research backend has no store to search")

    async def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        """Never called: see `candidates`."""
        raise BackendMisconfigured("the research backend has no store to search")

    def name_frequencies(self) -> NameFrequencies | None:
        """No names are held."""
        return None

    async def probe(self) -> BackendState:
        """The queue opens; Red items near their deadline are a fault (raised once as alerts)."""
        alerts = self.queue.alerts()
        # raised (logged, audited, remembered) only by the running adapter, never by a check
        new = [i for i in alerts if i.alerted_at is None] if self.alert_sink else []
        if new:
            for item in new:
                log.warning("research_alert", item_id=item.item_id, rag=item.rag,
                            due_at=item.due_at.isoformat() if item.due_at else "",
                            minutes_left=item.minutes_left(self.queue.clock()))
            if self.alert_sink is not None:  # always, here: for the type checker
                await self.alert_sink(new)
            self.queue.mark_alerted([i.item_id for i in new])
        if not alerts:
            return BackendState(serving=True)
        minutes = int(self.queue.alert_window.total_seconds() // 60)
        ids = ", ".join(i.item_id for i in alerts[:10])
        return BackendState(serving=True, fault=(
            f"{len(alerts)} Red research item(s) due within {minutes} minutes or overdue: {ids}"))

    async def aclose(self) -> None:
        """Close the queue."""
        self.queue.close()


class ResearchOptions(Strict, frozen=True):
    """`[backend_options]` of `backend = "research"` (see the module docstring)."""

    queue: str = ""
    alert_minutes: Annotated[int, msgspec.Meta(ge=1)] = 60
    issuer: str = ""
    jwks_file: str = ""


def open_backend(config: AdapterConfig, options: Mapping[str, object]) -> ResearchBackend:
    """The research backend of an adapter config (`backend = "research"`)."""
    o = decode(ResearchOptions, options, "backend_options", prefix="backend_options")
    if bool(o.issuer) != bool(o.jwks_file):
        raise ConfigError("backend_options", "backend_options.issuer",
                          "give both issuer and jwks_file (or neither: the development issuer)")
    queue_path = Path(o.queue or str(config.home.data_dir / f"research-{config.agency}.sqlite"))
    queue = ResearchQueue(queue_path, alert_window=timedelta(minutes=o.alert_minutes))
    return ResearchBackend(queue, issuer=o.issuer,
                           jwks_file=Path(o.jwks_file) if o.jwks_file else None)
