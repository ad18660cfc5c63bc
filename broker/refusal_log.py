"""The broker's record of the calls it refuses: every one, bounded, within a per-peer budget.

The error-mapping interceptor tells `RefusalLog` of each request it refuses (a bad
token, a caller who may not do this, a request that does not validate or parse);
it writes one `request_refused` entry with the caller's certificate identity, the
reason code, the method, and the size and SHA-256 of what was sent -- never the
request's text (see `audit.refusals`).
"""

from __future__ import annotations

import asyncio

import grpc

from audit.events import EventKind
from audit.refusals import RefusalLimiter, Sent, bounded_id, refusal_events
from broker.service import AuditSink
from certs.errors import PeerError
from certs.reloading import TrustSource
from certs.tls import peer_identity
from mash.errors import MashError
from mash.logs import get_logger

log = get_logger("broker")


class RefusalLog:
    """Writes the broker's refused calls to its audit log."""

    def __init__(self, audit: AuditSink, trust: TrustSource,
                 limiter: RefusalLimiter | None = None) -> None:
        self._audit = audit
        self._trust = trust
        self.limiter = limiter or RefusalLimiter()

    async def refused(self, method: str, error: MashError, raw: bytes,
                      context: grpc.aio.ServicerContext) -> None:
        """Record a request refused with `error`."""
        await self._record(method, error.code, raw, context)

    async def malformed(self, method: str, raw: bytes,
                        context: grpc.aio.ServicerContext) -> None:
        """Record a request whose bytes did not parse."""
        await self._record(method, "malformed_request", raw, context)

    async def _record(self, method: str, code: str, raw: bytes,
                      context: grpc.aio.ServicerContext) -> None:
        try:
            peer = peer_identity(context, self._trust)
            who = bounded_id(f"{peer.kind}-{peer.name}") or "unknown"
        except PeerError:
            who = "unknown"
        admission = self.limiter.admit(who)
        events = refusal_events(admission, kind=EventKind.REQUEST_REFUSED, code=code, peer=who,
                                sent=Sent.of(raw), limiter=self.limiter,
                                extra={"method": method.rsplit("/", 1)[-1][:64]})
        if events:
            await asyncio.wrap_future(self._audit.submit_many(events))
        log.warning("request_refused", code=code, peer=who, logged=admission.log)
