"""The root of mash-hub's error hierarchy and its mapping to gRPC status codes.

Each part derives its own errors by cause from `MashError`. What a client sees
(`public_message`) is short and carries no internal detail or personal data;
the full cause goes to the application log.
"""

from __future__ import annotations

from typing import TypeVar

import grpc

_T = TypeVar("_T")


class UsageError(Exception):
    """Bad input from the command line: exit code 2 with a one-line message."""


class MashError(Exception):
    """Base of every error mash-hub raises on purpose."""

    #: gRPC status a client receives for this error.
    grpc_code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    #: short machine-readable reason code (also used in audit events).
    code: str = "internal_error"

    def __init__(self, public_message: str, *, detail: str = "") -> None:
        super().__init__(public_message)
        self.public_message = public_message
        self.detail = detail


class InvalidRequest(MashError):
    """A request is malformed: missing field, unknown vocabulary, too large."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "invalid_request"


class NotAuthenticated(MashError):
    """The caller could not be identified (token or certificate)."""

    grpc_code = grpc.StatusCode.UNAUTHENTICATED
    code = "not_authenticated"


class NotPermitted(MashError):
    """The caller is identified but may not do this."""

    grpc_code = grpc.StatusCode.PERMISSION_DENIED
    code = "not_permitted"


class AuditUnavailable(MashError):
    """The audit log could not record an event: the action fails closed."""

    grpc_code = grpc.StatusCode.UNAVAILABLE
    code = "audit_unavailable"


class InvariantError(MashError):
    """A condition the code relies on does not hold: a bug, not bad input.

    Raised rather than asserted, so the check holds under `python -O` too; a client
    sees only an internal error.
    """

    code = "internal_error"


def present(value: _T | None, what: str) -> _T:
    """`value`, which the code relies on being set here; `InvariantError` naming `what` if not."""
    if value is None:
        raise InvariantError("internal error", detail=f"{what} is missing")
    return value
