"""Identifiers for lookups and queries: UUIDv7 (RFC 9562), time-ordered.

Lookup and query ids are keys of the audit logs' indexes (`lookup_id` at the
broker, `query_id` at every adapter). A random UUIDv4 lands on a random page of
those B-trees, so every commit dirties (and fsyncs) one more page; a UUIDv7
starts with the time in milliseconds, so new ids go to the right-hand edge of
the index. 74 random bits keep them unique; they are not secrets (the query's
replay nonce is a separate `secrets.token_hex`). Python's `uuid.uuid7` arrives
only in 3.14, hence these few lines.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    """A UUID version 7: 48-bit Unix time in ms, version, 74 random bits, variant."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits, 74 of them used
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 \
        | 0b10 << 62 | rand & 0x3FFF_FFFF_FFFF_FFFF
    return uuid.UUID(int=value)


def new_id() -> str:
    """A new lookup or query id: 32 lower-case hex digits (a UUIDv7 without dashes)."""
    return uuid7().hex
