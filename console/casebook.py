"""The referrals this console has opened, until the broker's Referrals service holds them.

Kept in the console's memory, each owned by the member of staff who created it (another
social worker's request for it is refused). A lookup runs in a worker thread so the page
can show it arriving; the summary it returns is kept with the referral.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime

from broker.timescales import due_at, timescale_state
from console.forms import SubjectInput
from mash.clock import Clock, utc_now
from mash.v1 import mash_pb2 as pb
from mash.vocab import Rag


class NotYours(Exception):
    """The referral does not exist, or belongs to someone this user may not see."""


@dataclass
class LookupRun:
    """One lookup of a referral: what was asked, and the summary once it has come back."""

    run_id: str
    started_at: datetime
    purpose: str
    agencies_asked: tuple[str, ...]
    summary: pb.ReferralSummary | None = None
    error: str = ""

    @property
    def done(self) -> bool:
        """Whether the broker has answered (or refused)."""
        return self.summary is not None or bool(self.error)


@dataclass
class Referral:
    """A referral as the console holds it."""

    referral_id: str
    owner: str
    received_at: datetime
    source: str
    reason: str
    rag: Rag
    subjects: list[SubjectInput]
    lookups: list[LookupRun] = field(default_factory=list)

    @property
    def due(self) -> datetime:
        """When research is due (the RAG timescale, in working time)."""
        return due_at(self.received_at, self.rag)

    def child(self) -> SubjectInput:
        """The child the referral is about (the first person)."""
        return self.subjects[0]

    def latest_summary(self) -> pb.ReferralSummary | None:
        """The newest summary that came back."""
        for run in reversed(self.lookups):
            if run.summary is not None:
                return run.summary
        return None


def age_on(born: str, today: date) -> int | None:
    """Whole years from an ISO date of birth to `today`."""
    if not born:
        return None
    b = date.fromisoformat(born)
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


@dataclass
class QueueRow:
    """A line of the work queue."""

    referral: Referral
    state: str  # breached | at_risk | on_track
    seconds_left: float


class Casebook:
    """Referrals by id, with their owners. Thread-safe."""

    def __init__(self, clock: Clock = utc_now, workers: int = 4) -> None:
        self.clock = clock
        self._referrals: dict[str, Referral] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lookup")

    def create(self, owner: str, *, source: str, reason: str, rag: Rag,
               subjects: list[SubjectInput]) -> Referral:
        """A new referral received now."""
        now = self.clock()
        with self._lock:
            while True:
                ref_id = f"REF-{now.year}-C{secrets.randbelow(10**6):06d}"
                if ref_id not in self._referrals:
                    break
            referral = Referral(ref_id, owner, now, source, reason, rag, list(subjects))
            self._referrals[ref_id] = referral
        return referral

    def get(self, referral_id: str, viewer: str, *, any_owner: bool = False) -> Referral:
        """The referral, when `viewer` owns it (or may see every referral)."""
        with self._lock:
            referral = self._referrals.get(referral_id)
        if referral is None or not (any_owner or referral.owner == viewer):
            raise NotYours(referral_id)
        return referral

    def queue(self, viewer: str, *, any_owner: bool = False) -> list[QueueRow]:
        """The viewer's referrals, least time left first."""
        now = self.clock()
        with self._lock:
            mine = [r for r in self._referrals.values() if any_owner or r.owner == viewer]
        rows = [QueueRow(r, timescale_state(r.due, now), (r.due - now).total_seconds()) for r in mine]
        return sorted(rows, key=lambda row: row.seconds_left)

    def search(self, viewer: str, text: str, *, any_owner: bool = False) -> list[QueueRow]:
        """Referrals matching a name, ISO date of birth, NHS number or referral id."""
        needle = text.strip().lower().replace(" ", "")
        if not needle:
            return []

        def hit(r: Referral) -> bool:
            if needle in r.referral_id.lower():
                return True
            for s in r.subjects:
                values = (s.given_name, s.family_name, f"{s.given_name}{s.family_name}",
                          s.date_of_birth, s.nhs_number, s.upn)
                if any(needle in v.lower().replace(" ", "") for v in values if v):
                    return True
            return False

        return [row for row in self.queue(viewer, any_owner=any_owner) if hit(row.referral)]

    def set_household(self, referral: Referral, subjects: list[SubjectInput]) -> None:
        """Replace the household (add, correct, remove people)."""
        with self._lock:
            referral.subjects = list(subjects)

    def set_rag(self, referral: Referral, rag: Rag) -> None:
        """Re-rate the referral."""
        with self._lock:
            referral.rag = rag

    def start_lookup(self, referral: Referral, purpose: str, agencies: tuple[str, ...],
                     run: Callable[[], pb.ReferralSummary]) -> LookupRun:
        """Start `run` in a worker; the returned LookupRun fills in when it returns."""
        lookup = LookupRun(secrets.token_hex(6), self.clock(), purpose, agencies)
        with self._lock:
            referral.lookups.append(lookup)

        def work() -> None:
            try:
                summary = run()
            except Exception as exc:  # shown to the user as a refusal, never lost silently
                lookup.error = str(getattr(exc, "message", "")) or type(exc).__name__
            else:
                lookup.summary = summary

        self._pool.submit(work)
        return lookup

    def find_run(self, referral: Referral, run_id: str) -> LookupRun:
        """A lookup of the referral by id."""
        for run in referral.lookups:
            if run.run_id == run_id:
                return run
        raise NotYours(run_id)

    def close(self) -> None:
        """Stop the lookup workers."""
        self._pool.shutdown(wait=False, cancel_futures=True)
