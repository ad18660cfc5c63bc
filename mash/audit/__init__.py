"""The append-only, hash-chained, Merkle-checkpointed audit log shared by broker and adapters.

Import from the modules (`mash.audit.log`, `mash.audit.events`, ...); the
names below are re-exported for convenience.
"""

from mash.audit.errors import AuditError, AuditLogClosed, AuditWriteError
from mash.audit.events import AuditEvent, EventKind
from mash.audit.log import AuditLog
from mash.audit.pseudonyms import Pseudonymiser
from mash.audit.verify import VerifyReport, verify_log

__all__ = ["AuditError", "AuditEvent", "AuditLog", "AuditLogClosed", "AuditWriteError",
           "EventKind", "Pseudonymiser", "VerifyReport", "verify_log"]
