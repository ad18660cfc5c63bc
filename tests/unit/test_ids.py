"""Lookup and query ids are RFC 9562 UUIDv7: unique, and ordered by creation time."""

import time
import uuid

from mash.ids import new_id, uuid7


def test_uuid7_fields() -> None:
    before = time.time_ns() // 1_000_000
    u = uuid7()
    after = time.time_ns() // 1_000_000
    assert u.version == 7
    assert u.variant == uuid.RFC_4122
    assert before <= u.int >> 80 <= after


def test_ids_are_unique_hex_and_sort_by_time() -> None:
    first = [new_id() for _ in range(2000)]
    time.sleep(0.002)
    later = new_id()
    assert len(set(first)) == 2000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in first)
    assert max(first) < later  # a later millisecond sorts after every earlier id
