"""Threats to the privacy of the people named in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from faker import Faker

from audit.events import AuditEvent, EventKind, PersonalDataInEvent
from audit.log import AuditLog
from audit.proofs import prove
from audit.pseudonyms import Pseudonymiser, PseudonymKeyError
from audit.sar import render_html
from mash.home import Home
from tests.unit.audit_scenario import build


def test_log_files_hold_no_identifier_in_clear(tmp_path: Path) -> None:
    """Threat: someone who copies the log file learns who was looked up."""
    s = build(Home.at(tmp_path / "h").ensure())
    raw = b"".join(p.read_bytes() for p in (tmp_path / "h" / "audit").iterdir())
    for person in (s.child, s.other):
        for value in (person.nhs, person.given, person.family, person.dob):
            assert value.encode() not in raw, value


def test_pseudonyms_cannot_be_recomputed_without_the_key(tmp_path: Path) -> None:
    """Threat: a reader of the log tries every NHS number to re-identify a pseudonym."""
    fake = Faker("en_GB")
    fake.seed_instance(1)
    nhs = "".join(str(fake.random_digit()) for _ in range(10))
    theirs = Pseudonymiser.load_or_create(tmp_path / "service.key").nhs_number(nhs)
    guess = Pseudonymiser.load_or_create(tmp_path / "attacker.key").nhs_number(nhs)
    assert theirs != guess


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    """Threat: a mis-permissioned key lets any local user re-identify people."""
    path = tmp_path / "pseudonym.key"
    Pseudonymiser.load_or_create(path)
    path.chmod(0o640)
    with pytest.raises(PseudonymKeyError):
        Pseudonymiser.load_or_create(path)


def test_identifiers_cannot_be_written_through_detail(tmp_path: Path) -> None:
    """Threat: a careless caller puts a name or NHS number into the free-text detail map."""
    with pytest.raises(PersonalDataInEvent):
        AuditEvent(kind=EventKind.QUERY_SENT, detail={"nhs_number": "9434765919"})


def test_an_inclusion_proof_reveals_no_pseudonym(tmp_path: Path) -> None:
    """Threat: a proof handed to an outsider links the entry to a person."""
    path = tmp_path / "broker.sqlite"
    with AuditLog.open(path, owner="broker") as log:
        log.append(AuditEvent(kind=EventKind.LOOKUP_REQUESTED, referral_id="R1",
                              subject_pseudonyms=("secret-pseudonym",)))
    assert "secret-pseudonym" not in str(prove(path, 1).to_json_dict())


def test_sar_html_cannot_be_used_for_script_injection() -> None:
    """Threat: a crafted referral id or reason runs script in the IG lead's browser."""
    from audit.sar import AgencyAnswer, SarReport, SarRequest
    evil = '"><img src=x onerror=alert(1)>'
    report = SarReport("now", (evil,), (SarRequest(
        when=evil, referral_id=evil, lookup_id=None, organisation=evil, role=evil,
        staff_id=evil, purpose=evil, statutory_gateway=evil, consent_state=evil,
        consent_reason=evil, rag=evil, outcome=evil,
        agencies=(AgencyAnswer(agency=evil, outcome=evil, why=(evil,), categories=(evil,)),)),))
    page = render_html(report)
    assert "<img" not in page and "onerror=alert(1)>" not in page
