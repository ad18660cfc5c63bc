"""Re-rating: raising asks for newly permitted categories only; lowering asks nothing."""

from __future__ import annotations

from collections.abc import Collection

from broker.rerating import Refetch, already_permitted, plan_refetch
from mash.v1 import mash_pb2
from mash.vocab import Agency, Category, Rag

C = Category
#: A toy policy: what each agency may share at each rating.
POLICY: dict[Rag, dict[Agency, frozenset[Category]]] = {
    Rag.GREEN: {Agency.POLICE: frozenset(), Agency.HEALTH: frozenset({C.GP_REGISTRATION})},
    Rag.AMBER: {Agency.POLICE: frozenset({C.DOMESTIC_ABUSE_INCIDENTS}),
                Agency.HEALTH: frozenset({C.GP_REGISTRATION, C.EMERGENCY_ATTENDANCES})},
    Rag.RED: {Agency.POLICE: frozenset({C.DOMESTIC_ABUSE_INCIDENTS, C.MISSING_EPISODES,
                                        C.MARAC_CASES}),
              Agency.HEALTH: frozenset({C.GP_REGISTRATION, C.EMERGENCY_ATTENDANCES})},
}
AGENCIES = (Agency.POLICE, Agency.HEALTH)


def permitted(rag: Rag, agency: Agency) -> Collection[Category]:
    return POLICY[rag][agency]


def lookup(rag: Rag, statuses: dict[Agency, str]) -> mash_pb2.ReferralSummary:
    summary = mash_pb2.ReferralSummary(referral_id="R", lookup_id=f"L-{rag}", rag=rag.value)
    for agency, status in statuses.items():
        result = summary.agencies.add(agency=agency.value, status=status)
        result.subjects.add(subject_id="child-1",
                            permitted_categories=[c.value for c in POLICY[rag][agency]])
    return summary


def test_amber_to_red_fetches_only_newly_permitted_categories() -> None:
    first = lookup(Rag.AMBER, {Agency.POLICE: "disclosed", Agency.HEALTH: "not_known"})
    plan = plan_refetch(Rag.AMBER, Rag.RED, AGENCIES, permitted, already_permitted([first]))
    assert plan == (Refetch(Agency.POLICE, (C.MISSING_EPISODES, C.MARAC_CASES)),)


def test_red_to_green_fetches_nothing() -> None:
    first = lookup(Rag.RED, {Agency.POLICE: "disclosed", Agency.HEALTH: "disclosed"})
    assert plan_refetch(Rag.RED, Rag.GREEN, AGENCIES, permitted, already_permitted([first])) == ()


def test_lowering_fetches_nothing_even_if_nothing_was_asked() -> None:
    assert plan_refetch(Rag.RED, Rag.AMBER, AGENCIES, permitted, {}) == ()


def test_same_rating_fetches_nothing() -> None:
    assert plan_refetch(Rag.AMBER, Rag.AMBER, AGENCIES, permitted, {}) == ()


def test_unanswered_agency_is_asked_everything_now_permitted() -> None:
    first = lookup(Rag.AMBER, {Agency.POLICE: "timed_out", Agency.HEALTH: "disclosed"})
    plan = plan_refetch(Rag.AMBER, Rag.RED, AGENCIES, permitted, already_permitted([first]))
    assert plan == (Refetch(Agency.POLICE, (C.DOMESTIC_ABUSE_INCIDENTS, C.MISSING_EPISODES,
                                            C.MARAC_CASES)),)


def test_step_up_from_green() -> None:
    first = lookup(Rag.GREEN, {Agency.POLICE: "not_known", Agency.HEALTH: "disclosed"})
    plan = plan_refetch(Rag.GREEN, Rag.AMBER, AGENCIES, permitted, already_permitted([first]))
    assert plan == (Refetch(Agency.POLICE, (C.DOMESTIC_ABUSE_INCIDENTS,)),
                    Refetch(Agency.HEALTH, (C.EMERGENCY_ATTENDANCES,)))


def test_already_permitted_ignores_unknown_names() -> None:
    summary = mash_pb2.ReferralSummary()
    result = summary.agencies.add(agency="probation", status="disclosed")
    result.subjects.add(permitted_categories=["x"])
    police = summary.agencies.add(agency="police", status="disclosed")
    police.subjects.add(permitted_categories=["nonsense", "marac_cases"])
    assert already_permitted([summary]) == {Agency.POLICE: frozenset({C.MARAC_CASES})}
