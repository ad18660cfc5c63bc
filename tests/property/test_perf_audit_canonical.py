"""The faster canonical encoding of audit events is byte-for-byte the original one.

Stored hashes cover these bytes, so any difference would break verification of
existing logs: the reference below is the original implementation, verbatim.
"""

import json
from dataclasses import fields
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.events import PERSONAL_PART_FIELDS, AuditEvent, EventKind, canonical_parts
from mash.vocab import Agency, Rag


def _reference_core(event: AuditEvent) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(event):
        if f.name in PERSONAL_PART_FIELDS:
            continue
        value = getattr(event, f.name)
        if value is None or value == ():
            continue
        if isinstance(value, tuple):
            out[f.name] = [v if isinstance(v, int) else str(v) for v in value]
        elif isinstance(value, float | int) and not isinstance(value, bool):
            out[f.name] = value
        else:
            out[f.name] = str(value)
    return out


def _reference_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def _reference_parts(event: AuditEvent, ts: str) -> tuple[str, str | None]:
    core = _reference_core(event)
    core["ts"] = ts
    personal = event.personal_dict()
    return _reference_json(core), (_reference_json(personal) if personal is not None else None)


text = st.text(max_size=12)
maybe = st.none() | text | st.sampled_from([Agency.POLICE, Rag.RED, "é\u2028\"\\"])

events = st.builds(
    AuditEvent,
    kind=st.sampled_from(list(EventKind)) | st.sampled_from([k.value for k in EventKind]),
    actor_id=maybe, referral_id=maybe, agency=maybe, outcome=maybe, decision=maybe,
    categories=st.lists(text | st.sampled_from([Agency.HEALTH]), max_size=3).map(tuple),
    reasons=st.lists(text, max_size=3),
    latency_ms=st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
    refers_to=st.lists(st.integers(min_value=1, max_value=10**9), max_size=3).map(tuple),
    subject_pseudonyms=st.lists(text, max_size=3).map(tuple),
    detail=st.dictionaries(st.sampled_from(["review_id", "until", "note_code"]), text, max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(events, text)
def test_canonical_parts_are_unchanged(event: AuditEvent, ts: str) -> None:
    assert canonical_parts(event, ts) == _reference_parts(event, ts)


def test_values_orjson_would_write_differently_go_through_the_reference() -> None:
    # tiny floats (orjson: 0.00001, json: 1e-05) and integers beyond 64 bits (orjson refuses)
    for latency in (1e-05, 2.5e-7, -3e-5, 2**70, 0.0, 12.5, 1e16):
        event = AuditEvent(kind=EventKind.LOOKUP_COMPLETED, latency_ms=latency)
        assert canonical_parts(event, "t") == _reference_parts(event, "t")


def test_nan_is_refused_as_before() -> None:
    # orjson would write NaN as null; the reference (allow_nan=False) refuses it
    import pytest

    with pytest.raises(ValueError):
        canonical_parts(AuditEvent(kind=EventKind.LOOKUP_COMPLETED, latency_ms=float("nan")), "t")
