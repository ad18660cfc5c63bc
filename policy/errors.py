"""The policy part's exceptions, one class per cause.

Callers catch `PolicyError` to handle anything from this part; the CLI maps
`InvalidRequest` and `AgreementInvalid` to exit code 2 with a one-line message.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Base class of every error raised by the policy part."""


class InvalidRequest(PolicyError):
    """A policy request is malformed (missing field, wrong type, naive time...)."""


class AgreementInvalid(PolicyError):
    """An agreement file cannot be read or breaks the agreement schema.

    Carries the file, the 1-based line (0 when unknown) and the dotted field so
    that an IG lead can find the mistake.
    """

    def __init__(self, path: str, line: int, field: str, message: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.message = message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {message}")


class AgreementConflict(PolicyError):
    """Two agreements for the same MASH and agency are in force at the same time."""


class ApprovalError(PolicyError):
    """Base class of approval problems."""


class UnknownApprover(ApprovalError):
    """The approver is not pinned in the trusted approvers file."""


class InvalidApprovalSignature(ApprovalError):
    """An approval record's signature does not verify against the pinned key."""


class MalformedApproval(ApprovalError):
    """An approval record cannot be parsed."""


class AlreadyApproved(ApprovalError):
    """This approver has already approved this exact version of the agreement."""


class ApproverAlreadyPinned(ApprovalError):
    """Pinning a key for an approver who has one needs `--replace` and another's approval."""
