import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.events import AuditEvent, EventKind, canonical_parts
from audit.pseudonyms import Pseudonymiser

KEY = Pseudonymiser(b"k" * 32)
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from("0123456789"), min_size=10, max_size=10),
       st.lists(st.sampled_from([" ", "-", ""]), min_size=10, max_size=10))
def test_nhs_number_formatting_never_changes_the_pseudonym(digits: list[str],
                                                           seps: list[str]) -> None:
    plain = "".join(digits)
    spaced = "".join(d + s for d, s in zip(digits, seps, strict=True))
    assert KEY.nhs_number(spaced) == KEY.nhs_number(plain) is not None


@settings(max_examples=80, deadline=None)
@given(st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True),
       st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True))
def test_name_case_and_punctuation_never_change_the_pseudonym(given_: str, family: str) -> None:
    a = KEY.name_and_dob(given_, family, "2014-06-02")
    b = KEY.name_and_dob(f" {given_.upper()} ", f"{family.lower()}'", "2014-06-02")
    assert a == b is not None


@settings(max_examples=80, deadline=None)
@given(kind=st.sampled_from(list(EventKind)), referral=st.none() | text,
       reasons=st.lists(text, max_size=3), latency=st.none() | st.floats(0, 1e6),
       pseudonyms=st.lists(text, max_size=3),
       detail=st.dictionaries(st.sampled_from(["note", "finding", "why"]), text, max_size=2))
def test_events_round_trip_through_their_canonical_form(
        kind: EventKind, referral: str | None, reasons: list[str], latency: float | None,
        pseudonyms: list[str], detail: dict[str, str]) -> None:
    e = AuditEvent(kind=kind, referral_id=referral, reasons=tuple(reasons), latency_ms=latency,
                   subject_pseudonyms=tuple(pseudonyms), detail=detail)
    core, personal = canonical_parts(e, "2026-01-01T00:00:00.000000Z")
    back = AuditEvent.from_parts(json.loads(core), json.loads(personal) if personal else None)
    assert back == e
    assert canonical_parts(back, "2026-01-01T00:00:00.000000Z") == (core, personal)


def test_key_must_be_32_bytes(tmp_path: Path) -> None:
    import pytest

    from audit.pseudonyms import PseudonymKeyError
    with pytest.raises(PseudonymKeyError):
        Pseudonymiser(b"short")
