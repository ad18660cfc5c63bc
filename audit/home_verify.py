"""Verifying every log under a home: the one judgement `mash audit verify` and the broker's
IG API both give.

Fails closed: no home, no logs, or no usable trust store is a failure with a reason; a log is
checked only against the checkpoint keys pinned in the trust store; a log whose checkpoints
another party witnessed but which is missing from the home it belongs to is a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from audit.checkpoints import Checkpoint
from audit.errors import AuditFormatError
from audit.keys import TrustStoreUnusable, pinned_checkpoint_keys
from audit.reading import logs_in, printable
from audit.store import SqliteAuditStore
from audit.verify import VerifyReport, verify_log
from audit.witness import read_witnessed
from mash.home import Home


@dataclass(frozen=True)
class LogVerdict:
    """One line of the verification: a log (or a witness store, or a missing log)."""

    name: str
    #: OK, FAIL, MISSING or note (a log kept elsewhere, witnessed here: not a failure)
    status: str
    text: str                        # the whole line, safe to print

    @property
    def ok(self) -> bool:
        """Whether this line is no failure."""
        return self.status in ("OK", "note")


@dataclass(frozen=True)
class HomeVerification:
    """Every line, and the first failure (None when every log is intact)."""

    verdicts: tuple[LogVerdict, ...]
    first_bad: str | None
    logs: int

    @property
    def intact(self) -> bool:
        """Whether every log verified."""
        return self.first_bad is None


def verify_home(home: Home, *, published: Sequence[Checkpoint] = (),
                witness_files: Sequence[Path] = ()) -> HomeVerification:
    """Verify every log under `home` against its pinned keys, published checkpoints and
    everything witnessed (the home's own witness stores and `witness_files`)."""
    if not home.root.is_dir():
        return _failed(f"no mash home at {home.root}")
    try:
        pinned = pinned_checkpoint_keys(home.trust_store)
    except TrustStoreUnusable as exc:
        return _failed(f"{exc}: the checkpoint keys cannot be checked")
    paths = logs_in(home)
    if not paths:
        return _failed(f"no audit logs under {home.audit_dir}")
    stores = sorted(home.witness_dir.glob("*.sqlite")) if home.witness_dir.is_dir() else []
    witnessed, problems = read_witnessed([*stores, *witness_files],
                                         lambda witness: pinned.get(witness, ()))
    verdicts: list[LogVerdict] = []
    first_bad: str | None = None
    for problem in problems:
        verdicts.append(LogVerdict("witness store", "FAIL",
                                   printable(f"FAIL witness store {problem}")))
        first_bad = first_bad or f"witness store {problem}"
    owners: set[str] = set()
    for path in paths:
        owner = _owner_of(path)
        owners.add(owner or "")
        keys = pinned.get(owner or "", ())
        if owner is None:
            report = VerifyReport(ok=False, entries=0, problem="not a readable audit log")
        elif not keys:
            report = VerifyReport(ok=False, entries=0, owner=owner, problem=(
                f"no checkpoint key for audit-{owner} pinned in the trust store"))
        else:
            report = verify_log(path, checkpoint_public_key=keys,
                                trusted_checkpoint=[c for c in published if c.log == owner],
                                witnessed=witnessed.get(owner, ()))
        verdicts.append(LogVerdict(path.stem, "OK" if report.ok else "FAIL",
                                   printable(report.line(path.name))))
        if not report.ok and first_bad is None:
            where = f" entry {report.first_bad_entry}" if report.first_bad_entry else ""
            first_bad = f"{path.name}{where}: {report.problem}"
    for log in sorted(set(witnessed) - owners):
        count = len(witnessed[log])
        if (home.config_dir / f"{log}.toml").is_file():
            # The service runs from this home, so its log belongs here: it was removed.
            verdicts.append(LogVerdict(log, "MISSING", printable(
                f"MISSING {log}.sqlite: {count} of its checkpoints were witnessed, but the log "
                "is not in this home")))
            first_bad = first_bad or f"{log}.sqlite: missing"
        else:
            verdicts.append(LogVerdict(log, "note", printable(
                f"note {log}: {count} checkpoints witnessed here; verify that log where it is "
                "kept, with --witnesses pointing at this home's witness store")))
    return HomeVerification(tuple(verdicts), first_bad, len(paths))


def _failed(why: str) -> HomeVerification:
    return HomeVerification((), why, 0)


def _owner_of(path: Path) -> str | None:
    try:
        store = SqliteAuditStore.open_readonly(path)
    except AuditFormatError:
        return None
    try:
        return store.owner()
    finally:
        store.close()
