"""The fast (orjson) encoding of audit events is byte for byte RFC 8785's.

Stored hashes cover these bytes: the reference below is the event's fields put through
the `rfc8785` package directly.
"""

from collections.abc import Callable
from dataclasses import fields
from typing import Any

import rfc8785
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
    return rfc8785.dumps(value).decode("utf-8")


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
def test_canonical_parts_are_rfc8785(event: AuditEvent, ts: str) -> None:
    assert _outcome(canonical_parts, event, ts) == _outcome(_reference_parts, event, ts)


def _outcome(encode: Callable[[AuditEvent, str], tuple[str, str | None]], event: AuditEvent,
             ts: str) -> tuple[str, str | None] | str:
    try:
        return encode(event, ts)
    except ValueError:  # what RFC 8785 cannot represent exactly is refused by both
        return "refused"


def test_values_orjson_would_write_differently_go_through_the_reference() -> None:
    # integral floats (orjson 12.0, RFC 8785 12), tiny and huge floats, integers beyond 2**53
    for latency in (1e-05, 2.5e-7, -3e-5, 2**70, 2**53, 0.0, 12.0, -7.0, 12.5, 1e16, 1e21):
        event = AuditEvent(kind=EventKind.LOOKUP_COMPLETED, latency_ms=latency)
        assert _outcome(canonical_parts, event, "t") == _outcome(_reference_parts, event, "t")
    assert '"latency_ms":12,' in canonical_parts(
        AuditEvent(kind=EventKind.LOOKUP_COMPLETED, latency_ms=12.0), "t")[0]


def test_non_ascii_detail_keys_sort_as_rfc8785_says() -> None:
    event = AuditEvent(kind=EventKind.LOOKUP_COMPLETED, subject_pseudonyms=("p",),
                       detail={"\U0001f600": "a", "\ufb01": "b", "z": "c"})
    assert canonical_parts(event, "t") == _reference_parts(event, "t")


def test_nan_is_refused() -> None:
    # orjson would write NaN as null; RFC 8785 has no NaN
    import pytest

    with pytest.raises(ValueError):
        canonical_parts(AuditEvent(kind=EventKind.LOOKUP_COMPLETED, latency_ms=float("nan")), "t")
