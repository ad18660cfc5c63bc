"""What to ask the agencies again when a referral is re-rated.

Raising the rating (Amber -> Red, or a step-up from early help) re-evaluates
policy at the new rating and asks each agency only for the categories that are
newly permitted -- those not already permitted in an earlier lookup for the
referral. Lowering the rating, or re-rating to the same rating, asks nothing:
a lower rating never widens disclosure.

The planner is pure: policy comes in as a function `permitted(rag, agency)`,
so the broker wires it to the policy engine and tests wire it to a table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from broker.referral_record import rag_direction
from mash.v1 import mash_pb2
from mash.vocab import Agency, AgencyStatus, Category, Rag, parse

#: Policy as the planner sees it: the categories permitted for `agency` at `rag`.
Permitted = Callable[[Rag, Agency], Collection[Category]]


@dataclass(frozen=True)
class Refetch:
    """Ask `agency` again, for these newly permitted categories only."""

    agency: Agency
    categories: tuple[Category, ...]


def already_permitted(summaries: Iterable[mash_pb2.ReferralSummary]
                      ) -> dict[Agency, frozenset[Category]]:
    """Per agency, the categories an earlier lookup was already permitted and answered.

    Only answered lookups count (disclosed, not known, possible match): a
    timed-out or unavailable agency was never answered, so it is asked again.
    """
    answered = {AgencyStatus.DISCLOSED, AgencyStatus.NOT_KNOWN, AgencyStatus.POSSIBLE_MATCH}
    out: dict[Agency, set[Category]] = {}
    for summary in summaries:
        for result in summary.agencies:
            if result.status not in answered:
                continue
            try:
                agency = parse(Agency, result.agency)
            except ValueError:
                continue
            seen = out.setdefault(agency, set())
            for subject in result.subjects:
                for name in subject.permitted_categories:
                    try:
                        seen.add(parse(Category, name))
                    except ValueError:
                        continue
    return {agency: frozenset(categories) for agency, categories in out.items()}


def plan_refetch(old: Rag, new: Rag, agencies: Iterable[Agency], permitted: Permitted,
                 already: Mapping[Agency, Collection[Category]]) -> tuple[Refetch, ...]:
    """The agencies to ask again after re-rating `old` -> `new`, each with its new categories.

    Empty unless the rating was raised. Categories keep the order of the
    agency's category list so queries are deterministic.
    """
    if rag_direction(parse(Rag, old), parse(Rag, new)) != "raised":
        return ()
    plan = []
    for agency in agencies:
        now_allowed = set(permitted(new, agency))
        fresh = now_allowed - set(already.get(agency, ()))
        if fresh:
            order = {c: i for i, c in enumerate(Category)}
            plan.append(Refetch(agency, tuple(sorted(fresh, key=order.__getitem__))))
    return tuple(plan)
