"""A small synthetic MASH day written to real logs: a broker, two adapters, three referrals
naming one child, a break-glass, an after-hours lookup and (optionally) a planted disclosure
the broker never asked for. Synthetic people only (Faker en_GB, seeded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from faker import Faker

from audit.events import AuditEvent, EventKind
from audit.log import AuditLog
from audit.pseudonyms import Pseudonymiser
from mash.home import Home
from tests.unit.audit_helpers import FakeClock


@dataclass(frozen=True)
class Person:
    """A synthetic person's identifiers."""

    given: str
    family: str
    dob: str
    nhs: str


def synthetic_person(fake: Faker) -> Person:
    """One synthetic en_GB person with a 10-digit NHS-number-shaped id."""
    return Person(fake.first_name(), fake.last_name(),
                  fake.date_of_birth(minimum_age=2, maximum_age=15).isoformat(),
                  "".join(str(fake.random_digit()) for _ in range(10)))


@dataclass(frozen=True)
class Scenario:
    """What was written, for the tests to check against."""

    home: Home
    child: Person
    other: Person
    child_referrals: tuple[str, ...]


BROKER = "broker-northshire"  # as the broker names its log: broker-<broker id>

# Monday 9 November 2026, office hours (UTC = London time in November).
MONDAY_10 = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)
SATURDAY_23 = datetime(2026, 11, 14, 23, 0, tzinfo=UTC)


def build(home: Home, *, plant_ghost_disclosure: bool = False) -> Scenario:
    """Write the scenario's logs under `home`."""
    fake = Faker("en_GB")
    fake.seed_instance(6)
    child, parent, other = (synthetic_person(fake) for _ in range(3))
    pz = Pseudonymiser.for_home(home)

    def ids(p: Person) -> tuple[str, ...]:
        return pz.for_identifiers(nhs_number=p.nhs, given_name=p.given, family_name=p.family,
                                  date_of_birth=p.dob)

    clock = FakeClock(MONDAY_10)
    broker = AuditLog.open(home.audit_log(BROKER), owner=BROKER, clock=clock)
    adapters = {a: AuditLog.open(home.audit_log(f"adapter-{a}"), owner=f"adapter-{a}",
                                 clock=clock) for a in ("police", "health")}

    def lookup(referral: str, lookup_id: str, subjects: tuple[str, ...], *, rag: str,
               purpose: str, consent: str, reason: str | None, actor: str,
               decisions: dict[str, str]) -> None:
        broker.append(AuditEvent(
            kind=EventKind.LOOKUP_REQUESTED, actor_id=actor, actor_role="mash_social_worker",
            actor_org="la-northshire", referral_id=referral, lookup_id=lookup_id, rag=rag,
            purpose=purpose, statutory_gateway="children_act_1989_s47", consent_state=consent,
            consent_reason=reason, subject_pseudonyms=subjects))
        for agency, decision in decisions.items():
            broker.append(AuditEvent(
                kind=EventKind.POLICY_DECISION, actor_id=actor, referral_id=referral,
                lookup_id=lookup_id, agency=agency, decision=decision,
                reasons=("purpose_permitted",) if decision == "PERMIT" else ("no_consent",),
                agreement_id=f"{agency}-northshire", agreement_version="sha256:0a1b2c"))
        for agency, decision in decisions.items():
            if decision != "PERMIT":
                continue
            qid = f"{lookup_id}-{agency}"
            broker.append(AuditEvent(kind=EventKind.QUERY_SENT, referral_id=referral,
                                     lookup_id=lookup_id, query_id=qid, agency=agency))
            clock.advance(0.01)
            if agency == "health":  # adapters may log receipt first; all log what they send
                adapters[agency].append(AuditEvent(
                    kind=EventKind.QUERY_RECEIVED, referral_id=referral, query_id=qid,
                    agency=agency, actor_org="northshire", subject_pseudonyms=subjects))
            adapters[agency].append(AuditEvent(
                kind=EventKind.DISCLOSURE_SENT, referral_id=referral, query_id=qid,
                agency=agency, actor_org="northshire", match_band="high",
                categories=("domestic_abuse_incidents",), disclosure_hash=f"hash-{qid}",
                subject_pseudonyms=subjects))
            broker.append(AuditEvent(
                kind=EventKind.DISCLOSURE_VERIFIED, referral_id=referral, lookup_id=lookup_id,
                query_id=qid, agency=agency, disclosure_hash=f"hash-{qid}",
                categories=("domestic_abuse_incidents",)))
        broker.append(AuditEvent(kind=EventKind.LOOKUP_COMPLETED, referral_id=referral,
                                 lookup_id=lookup_id, outcome="completed", latency_ms=12.0))
        clock.advance(600)

    child_ids, parent_ids, other_ids = ids(child), ids(parent), ids(other)
    lookup("REF-001", "LK-1", child_ids + parent_ids, rag="red",
           purpose="child_protection_enquiry", consent="not_sought",
           reason="risk_of_significant_harm", actor="sw-anna",
           decisions={"police": "PERMIT", "health": "PERMIT"})
    broker.append(AuditEvent(kind=EventKind.SUMMARY_VIEWED, actor_id="tm-raj",
                             actor_role="mash_team_manager", actor_org="la-northshire",
                             referral_id="REF-001"))
    lookup("REF-002", "LK-2", other_ids, rag="amber", purpose="child_in_need_assessment",
           consent="given", reason=None, actor="sw-anna",
           decisions={"police": "PERMIT", "health": "DENY"})
    lookup("REF-003", "LK-3", parent_ids + child_ids, rag="green", purpose="early_help",
           consent="not_sought", reason=None, actor="sw-ben",
           decisions={"police": "DENY", "health": "DENY"})
    broker.append(AuditEvent(kind=EventKind.BREAK_GLASS, actor_id="sw-ben",
                             actor_role="mash_social_worker", actor_org="la-northshire",
                             referral_id="REF-003", reasons=("risk_of_significant_harm",),
                             subject_pseudonyms=child_ids))
    clock.now = SATURDAY_23
    lookup("REF-004", "LK-4", child_ids, rag="red", purpose="child_protection_enquiry",
           consent="refused", reason="risk_of_significant_harm", actor="edt-cara",
           decisions={"police": "PERMIT", "health": "PERMIT"})
    if plant_ghost_disclosure:
        # Information leaves the police with no broker record of anyone asking for it.
        adapters["police"].append(AuditEvent(
            kind=EventKind.DISCLOSURE_SENT, referral_id="REF-999", query_id="Q-GHOST",
            agency="police", actor_org="northshire", disclosure_hash="hash-ghost"))
    broker.close()
    for log in adapters.values():
        log.close()
    return Scenario(home, child, other, ("REF-001", "REF-003", "REF-004"))
