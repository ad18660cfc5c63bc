"""The lookup benchmark's CPU accounting (per process, per lookup, over the measured window)."""

import os

from bench.lookup import _cpu_per_lookup, _cpu_s


def test_cpu_per_lookup_is_per_process_delta_over_lookups_with_a_total() -> None:
    got = _cpu_per_lookup({"broker": 1.0, "client": 0.5}, {"broker": 3.0, "client": 1.0}, 1000)
    assert got == {"broker": 2.0, "client": 0.5, "total": 2.5}


def test_cpu_per_lookup_is_unknown_without_lookups_or_readings() -> None:
    assert _cpu_per_lookup({"a": 1.0}, {"a": 2.0}, 0) is None
    assert _cpu_per_lookup({"a": None}, {"a": 2.0}, 10) is None


def test_own_cpu_reading_grows_with_work() -> None:
    before = _cpu_s(os.getpid())
    if before is None:  # not Linux: nothing to check
        return
    x = 0
    for i in range(2_000_000):
        x += i
    after = _cpu_s(os.getpid())
    assert after is not None and after > before
