"""The audit log's errors, by cause.

Callers on the hot path catch `AuditWriteError` (and its subclasses) and fail
the operation CLOSED: no query is sent, no disclosure made, without its entry.
"""

from __future__ import annotations


class AuditError(Exception):
    """Base of every audit-log error."""


class AuditWriteError(AuditError):
    """An entry could not be made durable (disk full, database locked, I/O error)."""


class AuditLogClosed(AuditWriteError):
    """The log was closed (or its writer stopped) before the entry was written."""


class AuditLogBusy(AuditError):
    """Another process (or another `AuditLog`) already writes this log file."""


class AuditFormatError(AuditError):
    """The file is not an audit log of a format this code understands."""


class CheckpointKeyError(AuditError):
    """A checkpoint signing or verification key is missing or of an unsupported type."""


class InvalidInclusionProof(AuditError):
    """An inclusion proof does not lead to the checkpoint's signed root."""


class InvalidCheckpointSignature(AuditError):
    """A checkpoint's signature does not verify under the published checkpoint key."""


class EntryNotFound(AuditError):
    """No entry with that id in the log (or not yet covered by a checkpoint)."""
