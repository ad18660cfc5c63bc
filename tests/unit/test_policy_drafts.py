"""What a draft agreement changes against the version in force, term by term."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mash.vocab import Category, Purpose, SubjectRole
from policy.agreement import Agreement
from policy.drafts import agreement_changes
from policy.loader import load_agreements

SHIPPED = Path(__file__).resolve().parents[2] / "policy" / "agreements"


def _police() -> Agreement:
    return next(a for a in load_agreements(SHIPPED) if str(a.agency) == "police")


def test_the_same_agreement_changes_nothing() -> None:
    police = _police()
    assert agreement_changes(police, police) == []


def test_an_agreement_where_there_was_none_is_all_added() -> None:
    police = _police()
    changes = {c.term: c for c in agreement_changes(None, police)}
    assert set(changes["purposes"].added) == {str(p) for p in police.purposes}
    assert changes["purposes"].removed == ()
    assert changes["statutory gateways"].added
    assert changes["disclosed summaries kept (days)"].after == str(
        police.retention.disclosed_summary_days)


def test_a_removed_purpose_a_narrowed_category_and_a_new_expiry_are_each_named() -> None:
    police = _police()
    cpe = police.purposes[Purpose.CHILD_PROTECTION_ENQUIRY]
    narrowed = replace(cpe, subject_categories={
        **cpe.subject_categories,
        SubjectRole.HOUSEHOLD_MEMBER: frozenset({Category("domestic_abuse_incidents")})})
    gone = next(p for p in police.purposes if p is not Purpose.CHILD_PROTECTION_ENQUIRY)
    purposes = {p: t for p, t in police.purposes.items() if p is not gone}
    purposes[Purpose.CHILD_PROTECTION_ENQUIRY] = narrowed
    draft = replace(police, purposes=purposes,
                    in_force_until=police.in_force_until.replace(year=police.in_force_until.year + 1))
    changes = {c.term: c for c in agreement_changes(police, draft)}
    assert changes["purposes"].removed == (str(gone),)
    cats = changes["categories: child_protection_enquiry, about a household_member"]
    assert cats.removed == ("arrests_and_charges",) and cats.added == ()
    expiry = changes["expires (last day in force)"]
    assert int(expiry.after[:4]) == int(expiry.before[:4]) + 1
    assert set(changes) == {"purposes", "categories: child_protection_enquiry, about a household_member",
                            "expires (last day in force)"}
    assert "removes arrests_and_charges" in cats.describe()
