"""The append-only, hash-chained, Merkle-checkpointed audit log shared by broker and adapters.

How a service uses it::

    log = AuditLog.open(home.audit_log(name), owner=name,
                        checkpoint_key=<Ed25519 key from home.signing_key(f"audit-{name}")>,
                        on_commit=[monitor])          # optional AlertMonitor
    monitor.attach(log)                               # alerts recorded in the same log
    log.recover_unfinished()                          # once, before serving: intents left
                                                      # by a crash become outcome_unknown
    entry_id = await asyncio.wrap_future(log.submit(event))   # intent BEFORE acting;
    # AuditWriteError here means: do not act (fail closed)
    ids = await asyncio.wrap_future(log.submit_many(events))  # several at once: one Future,
    # one loop wake-up (bench/audit_asyncio.py: ~40% less CPU than a Future per entry)
    ...
    log.close()                                       # flush + final signed checkpoint

Import from the modules (`audit.log`, `audit.events`, ...); the
names below are re-exported for convenience.
"""

from audit.errors import AuditError, AuditLogClosed, AuditWriteError
from audit.events import AuditEvent, EventKind
from audit.log import AuditLog
from audit.pseudonyms import Pseudonymiser
from audit.verify import VerifyReport, verify_log

__all__ = ["AuditError", "AuditEvent", "AuditLog", "AuditLogClosed", "AuditWriteError",
           "EventKind", "Pseudonymiser", "VerifyReport", "verify_log"]
