"""Server-side sessions: the browser holds only a random id; everything else stays here.

A session ends when it has been idle for `idle_s`, when it is `max_s` old, when the staff
token it holds expires, or when the user signs out. The store is in memory: restarting the
console signs everyone out, which fails closed.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from mash.clock import Clock, utc_now
from mash.vocab import Role

#: Bounds the memory a flood of sign-in attempts can take.
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class StaffSession:
    """A signed-in member of staff."""

    session_id: str
    sub: str
    name: str
    role: Role
    org: str
    access_token: str
    token_expires_at: datetime
    csrf_token: str
    created_at: datetime
    last_seen: datetime


@dataclass(frozen=True)
class PendingSignIn:
    """What the console remembers between sending the browser to the IdP and its return."""

    state: str
    nonce: str
    code_verifier: str
    created_at: datetime


@dataclass
class SessionStore:
    """Sessions and pending sign-ins, by random id. Thread-safe."""

    idle_s: int
    max_s: int
    clock: Clock = utc_now
    _sessions: dict[str, StaffSession] = field(default_factory=dict)
    _pending: dict[str, PendingSignIn] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def begin_sign_in(self) -> tuple[str, PendingSignIn]:
        """A new pending sign-in and the id the browser carries back in a cookie."""
        now = self.clock()
        pending = PendingSignIn(secrets.token_urlsafe(24), secrets.token_urlsafe(24),
                                secrets.token_urlsafe(48), now)
        key = secrets.token_urlsafe(32)
        with self._lock:
            self._expire(now)
            self._pending[key] = pending
        return key, pending

    def take_sign_in(self, key: str) -> PendingSignIn | None:
        """The pending sign-in under `key`, removed (single use), or None when unknown or stale."""
        with self._lock:
            pending = self._pending.pop(key, None)
        if pending is None or self.clock() - pending.created_at > timedelta(minutes=10):
            return None
        return pending

    def create(self, *, sub: str, name: str, role: Role, org: str, access_token: str,
               token_expires_at: datetime) -> StaffSession:
        """A fresh session (new id and CSRF token: no fixation across sign-ins)."""
        now = self.clock()
        session = StaffSession(secrets.token_urlsafe(32), sub, name, role, org, access_token,
                               token_expires_at, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._expire(now)
            self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str) -> StaffSession | None:
        """The live session `session_id` (its idle timer restarted), or None."""
        now = self.clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if not self._alive(session, now):
                del self._sessions[session_id]
                return None
            session = replace(session, last_seen=now)
            self._sessions[session_id] = session
        return session

    def end(self, session_id: str) -> None:
        """Sign out: forget the session and its token."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def _alive(self, session: StaffSession, now: datetime) -> bool:
        return (now - session.last_seen < timedelta(seconds=self.idle_s)
                and now - session.created_at < timedelta(seconds=self.max_s)
                and now < session.token_expires_at)

    def _expire(self, now: datetime) -> None:
        self._sessions = {k: s for k, s in self._sessions.items() if self._alive(s, now)}
        self._pending = {k: p for k, p in self._pending.items()
                         if now - p.created_at <= timedelta(minutes=10)}
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        while len(self._pending) > MAX_SESSIONS:
            self._pending.pop(next(iter(self._pending)))
