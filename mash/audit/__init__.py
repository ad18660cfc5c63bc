"""The append-only, hash-chained, Merkle-checkpointed audit log shared by broker and adapters."""
