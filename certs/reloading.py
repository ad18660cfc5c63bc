"""A trust store that follows its file, so a running service sees new pins and revocations.

`mash pki revoke` and `mash pki rotate-signing` rewrite the trust store
atomically; a long-running broker or adapter must honour the change without a
restart. `ReloadingTrustStore` re-reads the file when its modification time or
size changes, checking at most once per `check_interval_s` (one `stat` call),
so the hot path stays a dictionary lookup; `reload_now` looks at once (SIGHUP).

A new file that does not load (a hand edit gone wrong, a truncated copy) is refused: the
store in force stays -- with every pin and revocation it held -- `fault` says what is wrong,
and the log says it once (`trust_store_reload_refused`). The next good file is taken as
usual. Writers replace the file atomically (`mash pki`), so a reader never sees half of one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certs.errors import TrustStoreError
from certs.truststore import PinnedKey, TrustStore, VerifiedKey
from mash.clock import Clock, utc_now
from mash.logs import get_logger

log = get_logger("certs")


class ReloadingTrustStore:
    """Same read API as `TrustStore`, always answering from the file's current content."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Clock = utc_now,
        check_interval_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Load `path` now (raising `TrustStoreError` if unusable) and watch it after."""
        self.path = Path(path)
        self._clock = clock
        self._interval = check_interval_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._signature = self._stat()
        self._store = TrustStore.load(self.path, clock=clock)
        #: why the file on disk is not the one in force ("" when it is)
        self.fault = ""
        self._next_check = monotonic() + check_interval_s

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return (0, -1, 0)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> TrustStore:
        """The store as the file now says (or the last good one while the file is refused)."""
        now = self._monotonic()
        if now >= self._next_check:
            self._check(now, force=False)
        return self._store

    def reload_now(self) -> bool:
        """Look at the file at once, changed or not; returns whether it is the one in force."""
        self._check(self._monotonic(), force=True)
        return not self.fault

    def _check(self, now: float, *, force: bool) -> None:
        with self._lock:
            if not force and now < self._next_check:
                return
            self._next_check = now + self._interval
            signature = self._stat()
            if signature == self._signature and not force:
                return
            self._signature = signature
            try:
                fresh = TrustStore.load(self.path, clock=self._clock)
            except (TrustStoreError, OSError) as exc:  # unreadable is refused like malformed
                if self.fault != str(exc):
                    log.warning("trust_store_reload_refused", path=str(self.path),
                                reason=str(exc))
                self.fault = str(exc)
                return
            if self.fault:
                log.info("trust_store_loaded", path=str(self.path), previous_fault=self.fault)
            self._store, self.fault = fresh, ""

    # --- TrustStore's read API, delegated -------------------------------------------------
    def verify(self, domain: bytes, payload: bytes, signature: bytes, key_id: str, *,
               expected_owner: str, purpose: str, at: datetime | None = None) -> VerifiedKey:
        """See `TrustStore.verify`."""
        return self.current().verify(domain, payload, signature, key_id,
                                     expected_owner=expected_owner, purpose=purpose, at=at)

    def is_revoked(self, serial: int) -> bool:
        """See `TrustStore.is_revoked`."""
        return self.current().is_revoked(serial)

    def public_key(self, key_id: str) -> Ed25519PublicKey:
        """See `TrustStore.public_key`."""
        return self.current().public_key(key_id)

    def keys_for(self, owner: str, purpose: str | None = None) -> tuple[PinnedKey, ...]:
        """See `TrustStore.keys_for`."""
        return self.current().keys_for(owner, purpose)


#: Either kind of trust store: what verifiers accept.
TrustSource = TrustStore | ReloadingTrustStore
