"""The hub: staff-facing gRPC API, fan-out to adapters, verification, merge, broker audit log."""
