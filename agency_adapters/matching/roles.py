"""What a subject's role in the referral says about their age, when no date of birth is given.

Used only to stop a sure match on name and address alone from landing on someone of an
impossible age for the role (the same-named father when the referral is about his son,
or the son when it is about the father). It never makes a match more likely.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from agency_adapters.backend import QueryIdentifiers
from mash.vocab import SubjectRole

#: Age bounds in whole years by role: (youngest, oldest); None = no bound.
AGE_BOUNDS: dict[SubjectRole, tuple[int | None, int | None]] = {
    SubjectRole.CHILD: (None, 17),          # under 18 (Children Act 1989 s105)
    SubjectRole.PARENT_CARER: (13, None),   # a very young parent is possible; a toddler is not
    SubjectRole.ADULT_AT_RISK: (18, None),  # Care Act 2014: adults
    SubjectRole.HOUSEHOLD_MEMBER: (None, None),
}


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def birth_range_for(role: SubjectRole, today: date) -> tuple[str, str] | None:
    """The plausible dates of birth ('YYYY-MM-DD', 'YYYY-MM-DD') for `role`, or None."""
    youngest, oldest = AGE_BOUNDS[role]
    if youngest is None and oldest is None:
        return None
    # at most `oldest` years old today: born after the day `oldest + 1` years ago
    earliest = date.min if oldest is None else _years_before(today, oldest + 1) + timedelta(days=1)
    latest = today if youngest is None else _years_before(today, youngest)
    return earliest.isoformat(), latest.isoformat()


def bounded_by_role(ids: QueryIdentifiers, role: SubjectRole | None,
                    today: date) -> QueryIdentifiers:
    """`ids` as the matcher gets them: without a date of birth, bounded by `role`'s ages.

    The adapter and the evaluation (`mash match eval`) both call this, so a measured answer
    is the one a referral naming the subject's role would get. `role` None: no bound.
    """
    if ids.date_of_birth or role is None:
        return ids
    return replace(ids, born_between=birth_range_for(role, today))
