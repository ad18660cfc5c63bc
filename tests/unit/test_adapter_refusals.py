"""The adapter's refusal records: bounded fields, and the per-peer budget with its counters."""

from __future__ import annotations

from audit.refusals import RefusalLimiter, Sent, bounded_id, refusal_events


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_ids_are_kept_only_when_they_look_like_ids() -> None:
    assert bounded_id("q-1a2b.3:4@x") == "q-1a2b.3:4@x"
    for bad in ("", "x" * 65, "a\nb", "a b", "-lead", "é"):
        assert bounded_id(bad) is None


def test_a_malformed_key_id_is_kept_as_its_hash_and_size() -> None:
    sent = Sent.of(b"payload", "k" * 1000)
    assert sent.key_id is None and sent.key_id_size == 1000 and sent.key_id_sha256
    assert Sent.of(b"payload", "0123456789abcdef").key_id == "0123456789abcdef"


def test_the_budget_trips_once_then_counts_and_reports_the_count_next_window() -> None:
    clock = Clock()
    limiter = RefusalLimiter(limit=3, window_s=60, clock=clock)
    results = [limiter.admit("client-staff") for _ in range(6)]
    assert [r.log for r in results] == [True, True, True, False, False, False]
    assert [r.tripped for r in results] == [False, False, False, True, False, False]
    assert limiter.admit("broker-mash-demo").log  # another peer has its own budget
    clock.t += 61
    nxt = limiter.admit("client-staff")
    assert nxt.log and nxt.not_logged_before == 3
    events = refusal_events(nxt, code="untrusted_peer", peer="client-staff", agency="police",
                            sent=Sent.of(b"q"), query_id="x" * 500, limiter=limiter)
    assert [e.outcome for e in events] == ["refusals_not_logged", "rejected"]
    assert events[0].detail == {"count": "3"}
    assert events[1].query_id is None  # not an id: left out, the hash says what was sent


def test_a_tripping_refusal_writes_the_counter_entry_only() -> None:
    limiter = RefusalLimiter(limit=1, window_s=60, clock=Clock())
    limiter.admit("p")
    events = refusal_events(limiter.admit("p"), code="c", peer="p", agency="police",
                            sent=Sent.of(b"q"), limiter=limiter)
    assert [e.outcome for e in events] == ["refusal_log_rate_limited"]
    assert events[0].detail == {"limit": "1/60s"}
