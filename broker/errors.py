"""Broker errors, by cause (mapped to gRPC status codes by mash.grpc_server)."""

from __future__ import annotations

from mash.errors import AuditUnavailable, InvalidRequest, MashError, NotAuthenticated, NotPermitted

__all__ = ["AuditUnavailable", "BrokerError", "InvalidRequest", "NotAuthenticated", "NotPermitted"]


class BrokerError(MashError):
    """Base for broker-specific failures."""
