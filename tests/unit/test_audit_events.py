import pytest

from audit.events import AuditEvent, EventKind, PersonalDataInEvent, canonical_parts
from mash.vocab import Decision, Purpose, UnknownVocabulary


def test_enum_values_are_stored_as_plain_strings_and_round_trip() -> None:
    e = AuditEvent(kind="policy_decision", purpose=Purpose.EARLY_HELP, decision=Decision.DENY,
                   reasons=["purpose_not_permitted"], categories=("camhs",), latency_ms=3.5,
                   subject_pseudonyms=["abc"], detail={"note": "manager informed"})
    core, personal = canonical_parts(e, "2026-11-25T10:00:00.000000Z")
    assert '"purpose":"early_help"' in core and '"decision":"DENY"' in core
    assert "abc" not in core and personal is not None and "abc" in personal
    import json
    back = AuditEvent.from_parts(json.loads(core), json.loads(personal))
    assert back == e


def test_canonical_form_is_independent_of_argument_order() -> None:
    a = AuditEvent(kind=EventKind.QUERY_SENT, agency="police", referral_id="R1")
    b = AuditEvent(referral_id="R1", agency="police", kind=EventKind.QUERY_SENT)
    assert canonical_parts(a, "t") == canonical_parts(b, "t")


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(UnknownVocabulary):
        AuditEvent(kind="lookup_happened")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["nhs_number", "date_of_birth", "Family_Name", "postcode"])
def test_identifiers_cannot_be_smuggled_into_detail(key: str) -> None:
    with pytest.raises(PersonalDataInEvent):
        AuditEvent(kind=EventKind.ALERT, detail={key: "x"})


def test_event_without_personal_part_stores_none() -> None:
    assert canonical_parts(AuditEvent(kind=EventKind.QUERY_SENT), "t")[1] is None
