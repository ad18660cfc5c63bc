"""What a subject's recorded date of birth says about the role a requester gave them.

A requester names each subject's role (child, parent or carer, household member,
adult at risk), and agreements release different categories by role. The role is a
claim; a date of birth is evidence. A `child` is under 18 on the day of the query
(Children Act 1989 s105) and an `adult_at_risk` is 18 or over (Care Act 2014), so a
role the date of birth contradicts is replaced by the role it supports. The broker
applies this to the dates of birth it was given, each adapter to the person it matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mash.vocab import SubjectRole

ADULT_AGE = 18


def age_on(date_of_birth: date, today: date) -> int:
    """Whole years of age on `today` (a 29 February birthday counts from 1 March)."""
    years = today.year - date_of_birth.year
    if (today.month, today.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def supported_role(claimed: SubjectRole, date_of_birth: date, today: date) -> SubjectRole:
    """The role a person of this date of birth can hold, keeping `claimed` when it fits.

    An adult named as a child becomes a household member (the role that claims nothing
    about age); a minor named as an adult at risk becomes a child. Other roles carry no
    age rule here.
    """
    adult = age_on(date_of_birth, today) >= ADULT_AGE
    if claimed is SubjectRole.CHILD and adult:
        return SubjectRole.HOUSEHOLD_MEMBER
    if claimed is SubjectRole.ADULT_AT_RISK and not adult:
        return SubjectRole.CHILD
    return claimed


@dataclass(frozen=True)
class RoleCorrection:
    """A subject whose claimed role their date of birth contradicts."""

    subject_id: str
    claimed: SubjectRole
    supported: SubjectRole

    def text(self) -> str:
        """`subject_id:claimed->supported` (ids and vocabulary only, never the date)."""
        return f"{self.subject_id}:{self.claimed}->{self.supported}"
