"""How a service records the calls it refuses, without letting a caller write its log.

A refused call is logged -- every one, whatever the cause -- but the entry holds
only bounded, validated fields: the peer's certificate identity, a reason code,
ids that match the id format, the sizes of what was sent and SHA-256 hashes of
it. Nothing the caller chose is stored as it came (a 0.9 MB key id would
otherwise be a permanent, unredactable part of the log).

Refusals are rate-limited per peer: past `limit` logged refusals in `window_s`
seconds, one counter entry records that the limit tripped, further refusals
from that peer are refused but only counted, and the next refusal logged after
the window names how many were not logged one by one.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from audit.events import AuditEvent, EventKind

#: What an id (query, referral, key) may look like to be logged as it is.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")
#: Peers whose refusal budgets are tracked at once (least recently refused dropped first).
MAX_TRACKED_PEERS = 4096


def bounded_id(value: str) -> str | None:
    """`value` if it is a well-formed id (at most 64 characters of [A-Za-z0-9._:@-])."""
    return value if _ID.fullmatch(value) else None


def sha256_hex(data: bytes | str) -> str:
    """The SHA-256 of `data` (text as UTF-8), in hex."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Sent:
    """What a refused caller sent, reduced to sizes and hashes (and ids that are ids)."""

    size: int
    sha256: str
    key_id: str | None = None
    key_id_sha256: str | None = None
    key_id_size: int = 0

    @classmethod
    def of(cls, payload: bytes, key_id: str = "") -> Sent:
        """Sizes and hashes of a signed message's payload and its claimed key id."""
        kid = bounded_id(key_id) if key_id else None
        return cls(size=len(payload), sha256=sha256_hex(payload), key_id=kid,
                   key_id_sha256=None if kid or not key_id else sha256_hex(key_id),
                   key_id_size=len(key_id.encode("utf-8", "surrogatepass")))

    def detail(self) -> dict[str, str]:
        """The sizes (and the hash of a malformed key id) for the entry's detail."""
        out = {"bytes": str(self.size)}
        if self.key_id_sha256:
            out["key_id_sha256"] = self.key_id_sha256
            out["key_id_bytes"] = str(self.key_id_size)
        return out


@dataclass(frozen=True)
class Admission:
    """Whether to log this refusal, and the counter entries due with it."""

    log: bool
    tripped: bool = False  # this refusal tripped the limit: log a counter entry
    not_logged_before: int = 0  # refusals counted but not logged in the peer's last window


class RefusalLimiter:
    """A fixed-window budget of logged refusals per peer."""

    def __init__(self, limit: int = 30, window_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit and window_s must be positive")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        # peer -> [window start, logged in window, counted but not logged in window]
        self._peers: OrderedDict[str, list[float]] = OrderedDict()

    def admit(self, peer: str) -> Admission:
        """Account one refusal from `peer`."""
        now = self._clock()
        state = self._peers.get(peer)
        carried = 0
        if state is None or now - state[0] >= self.window_s:
            carried = int(state[2]) if state is not None else 0
            state = [now, 0.0, 0.0]
        self._peers[peer] = state
        self._peers.move_to_end(peer)
        while len(self._peers) > MAX_TRACKED_PEERS:
            self._peers.popitem(last=False)
        if state[1] < self.limit:
            state[1] += 1
            return Admission(log=True, not_logged_before=carried)
        state[2] += 1
        return Admission(log=False, tripped=state[2] == 1)


def refusal_events(admission: Admission, *, code: str, peer: str, sent: Sent,
                   agency: str | None = None, query_id: str = "", referral_id: str = "",
                   extra: Mapping[str, str] | None = None,
                   limiter: RefusalLimiter | None = None,
                   kind: EventKind = EventKind.QUERY_REJECTED) -> list[AuditEvent]:
    """The audit entries for one refusal under `admission` (none when it is only counted).

    `kind`: `query_rejected` at an adapter, `request_refused` at the broker.
    """
    base = AuditEvent(kind=kind, actor_org=peer, agency=agency,
                      reasons=("refusal_log_rate_limited",))
    events: list[AuditEvent] = []
    if admission.not_logged_before:
        events.append(replace(base, outcome="refusals_not_logged",
                              detail={"count": str(admission.not_logged_before)}))
    if admission.tripped:
        window = f"{limiter.limit}/{limiter.window_s:g}s" if limiter else ""
        events.append(replace(base, outcome="refusal_log_rate_limited",
                              detail={"limit": window} if window else {}))
    if admission.log:
        events.append(replace(
            base, query_id=bounded_id(query_id) if query_id else None,
            referral_id=bounded_id(referral_id) if referral_id else None,
            query_hash=sent.sha256, signer_key_id=sent.key_id, outcome="rejected",
            reasons=(code,), detail={**sent.detail(), **(extra or {})}))
    return events
