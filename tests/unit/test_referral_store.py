"""The referral store: record, re-rate, move, decide, keep summaries, delete on retention."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from broker.referral_record import (
    InvalidReferral,
    InvalidTransition,
    ReferralSubject,
    SummaryDeletion,
    rag_direction,
)
from broker.referrals import (
    RETENTION_DELETED,
    DuplicateReferral,
    DuplicateSummary,
    NewReferral,
    ReferralNotFound,
    RetentionByAgreement,
    SqliteReferralStore,
    UnknownRetention,
    open_store,
    referral_db_path,
    subjects_from_specs,
)
from mash.home import Home
from mash.vocab import LevelOfNeed, Outcome, Rag, ReferralSource, ReferralStatus, SubjectRole
from tests.referral_factories import RECEIVED, full_summary, new_referral, sparse_summary

pytestmark = pytest.mark.clock_sensitive


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(RECEIVED + timedelta(minutes=5))


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteReferralStore]:
    s = SqliteReferralStore(tmp_path / "referrals.sqlite", clock=clock)
    yield s
    s.close()


RETAIN = RetentionByAgreement(days={"police-mash-dsa": 30, "health-mash-dsa": 90},
                              default_days=60)


def test_create_and_get_round_trip(store: SqliteReferralStore) -> None:
    created = store.create(new_referral())
    got = store.get("REF-0001")
    assert got == created
    assert got.status == ReferralStatus.SCREENING
    assert got.rag == Rag.AMBER
    assert got.source == ReferralSource.POLICE
    assert got.received_at == RECEIVED
    assert [s.subject_id for s in got.subjects] == ["child-1", "parent_carer-1"]
    assert got.subject("child-1") is not None
    assert got.subjects[0].identifiers["given_name"] == "Poppy"
    assert got.decision is None


def test_generated_id(tmp_path: Path, clock: FakeClock) -> None:
    s = SqliteReferralStore(tmp_path / "r.sqlite", clock=clock, new_id=lambda: "REF-GEN")
    new = new_referral()
    made = s.create(NewReferral(new.received_at, new.source, new.reason, new.subjects, new.rag,
                                new.by))
    assert made.referral_id == "REF-GEN"


def test_duplicate_id_is_refused(store: SqliteReferralStore) -> None:
    store.create(new_referral())
    with pytest.raises(DuplicateReferral):
        store.create(new_referral())


def test_missing_referral(store: SqliteReferralStore) -> None:
    with pytest.raises(ReferralNotFound):
        store.get("REF-NOPE")


def test_rerate_keeps_history_with_who_when_why(store: SqliteReferralStore,
                                                clock: FakeClock) -> None:
    store.create(new_referral())
    clock.advance(hours=2)
    referral = store.rerate("REF-0001", Rag.RED, "tm-007", "police disclosed high-risk DA")
    assert referral.rag == Rag.RED
    assert [(h.rag, h.by) for h in referral.rag_history] == [(Rag.AMBER, "sw-001"),
                                                             (Rag.RED, "tm-007")]
    assert referral.rag_history[-1].at == clock.now
    assert referral.rag_history[-1].reason == "police disclosed high-risk DA"


def test_rerate_needs_a_reason(store: SqliteReferralStore) -> None:
    store.create(new_referral())
    with pytest.raises(InvalidReferral):
        store.rerate("REF-0001", Rag.RED, "tm-007", "  ")


def test_raising_never_makes_work_due_later(store: SqliteReferralStore,
                                            clock: FakeClock) -> None:
    store.create(new_referral(rag=Rag.AMBER))  # received Tue 24 Nov 10:00 -> due Wed 10:00
    assert store.get("REF-0001").due_at().isoformat() == "2026-11-25T10:00:00+00:00"
    clock.now = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    raised = store.rerate("REF-0001", Rag.RED, "tm-007", "new information")
    # Red from the raise would be Wed 12:00; the Amber due (Wed 10:00) is earlier.
    assert raised.due_at().isoformat() == "2026-11-25T10:00:00+00:00"


def test_raising_early_brings_the_due_time_forward(store: SqliteReferralStore,
                                                   clock: FakeClock) -> None:
    store.create(new_referral(rag=Rag.GREEN))
    clock.now = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    raised = store.rerate("REF-0001", Rag.RED, "tm-007", "disclosure from school")
    assert raised.due_at().isoformat() == "2026-11-24T15:00:00+00:00"


def test_lowering_counts_from_receipt(store: SqliteReferralStore, clock: FakeClock) -> None:
    store.create(new_referral(rag=Rag.RED))
    clock.now = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    lowered = store.rerate("REF-0001", Rag.GREEN, "tm-007", "no current risk")
    assert lowered.due_at().isoformat() == "2026-11-27T10:00:00+00:00"


def test_rag_direction() -> None:
    assert rag_direction(Rag.AMBER, Rag.RED) == "raised"
    assert rag_direction(Rag.RED, Rag.GREEN) == "lowered"
    assert rag_direction(Rag.GREEN, Rag.GREEN) == "unchanged"


def test_workflow_from_screening_to_closed(store: SqliteReferralStore) -> None:
    store.create(new_referral())
    store.set_status("REF-0001", ReferralStatus.RESEARCHING, "sw-001")
    decided = store.decide("REF-0001", LevelOfNeed.CHILD_PROTECTION,
                           Outcome.STRATEGY_DISCUSSION, "High-risk DA and injury to a toddler",
                           "tm-007")
    assert decided.status == ReferralStatus.DECIDED
    assert decided.decision is not None
    assert decided.decision.outcome == Outcome.STRATEGY_DISCUSSION
    assert decided.decision.by == "tm-007"
    closed = store.set_status("REF-0001", ReferralStatus.CLOSED, "tm-007", "passed to CP team")
    assert [s.status for s in closed.status_history] == [
        ReferralStatus.SCREENING, ReferralStatus.RESEARCHING, ReferralStatus.DECIDED,
        ReferralStatus.CLOSED]


@pytest.mark.parametrize("path, target", [
    ([], ReferralStatus.SCREENING),
    ([ReferralStatus.RESEARCHING], ReferralStatus.SCREENING),
    ([ReferralStatus.CLOSED], ReferralStatus.RESEARCHING),
])
def test_invalid_transitions(store: SqliteReferralStore, path: list[ReferralStatus],
                             target: ReferralStatus) -> None:
    store.create(new_referral())
    for status in path:
        store.set_status("REF-0001", status, "sw-001")
    with pytest.raises(InvalidTransition):
        store.set_status("REF-0001", target, "sw-001")


def test_decided_only_through_decide(store: SqliteReferralStore) -> None:
    store.create(new_referral())
    with pytest.raises(InvalidTransition):
        store.set_status("REF-0001", ReferralStatus.DECIDED, "tm-007")


def test_closed_referral_cannot_be_decided_or_rerated(store: SqliteReferralStore) -> None:
    store.create(new_referral())
    store.set_status("REF-0001", ReferralStatus.CLOSED, "sw-001", "duplicate referral")
    with pytest.raises(InvalidTransition):
        store.decide("REF-0001", LevelOfNeed.UNIVERSAL, Outcome.UNIVERSAL_SERVICES_NFA, "x", "t")
    with pytest.raises(InvalidTransition):
        store.rerate("REF-0001", Rag.RED, "tm-007", "late info")


def test_decision_needs_rationale_and_consistent_outcome(store: SqliteReferralStore) -> None:
    store.create(new_referral())
    with pytest.raises(InvalidReferral, match="rationale"):
        store.decide("REF-0001", LevelOfNeed.EARLY_HELP, Outcome.EARLY_HELP, " ", "tm-007")
    with pytest.raises(InvalidReferral, match="decision.outcome"):
        store.decide("REF-0001", LevelOfNeed.UNIVERSAL, Outcome.STRATEGY_DISCUSSION, "r", "t")
    assert store.get("REF-0001").status == ReferralStatus.SCREENING  # nothing half-written


def test_step_up_reopens_research_and_keeps_both_decisions(store: SqliteReferralStore) -> None:
    store.create(new_referral(rag=Rag.GREEN))
    store.decide("REF-0001", LevelOfNeed.EARLY_HELP, Outcome.EARLY_HELP, "low level", "tm-007")
    store.set_status("REF-0001", ReferralStatus.RESEARCHING, "tm-007", "step-up: new concern")
    store.rerate("REF-0001", Rag.AMBER, "tm-007", "school reports injury")
    final = store.decide("REF-0001", LevelOfNeed.CHILD_IN_NEED,
                         Outcome.CHILD_AND_FAMILY_ASSESSMENT, "needs assessment", "tm-008")
    assert [d.outcome for d in final.decisions] == [Outcome.EARLY_HELP,
                                                    Outcome.CHILD_AND_FAMILY_ASSESSMENT]


def test_list_by_status(store: SqliteReferralStore) -> None:
    store.create(new_referral("REF-A"))
    store.create(new_referral("REF-B"))
    store.set_status("REF-B", ReferralStatus.RESEARCHING, "sw-001")
    assert [r.referral_id for r in store.referrals()] == ["REF-A", "REF-B"]
    assert [r.referral_id for r in store.referrals(ReferralStatus.RESEARCHING)] == ["REF-B"]


def test_new_referral_validation() -> None:
    base = new_referral()
    with pytest.raises(InvalidReferral, match="received_at"):
        NewReferral(base.received_at.replace(tzinfo=None), base.source, base.reason,
                    base.subjects, base.rag, base.by)
    with pytest.raises(InvalidReferral, match="subjects"):
        NewReferral(base.received_at, base.source, base.reason, (), base.rag, base.by)
    with pytest.raises(InvalidReferral, match="subject_id"):
        NewReferral(base.received_at, base.source, base.reason,
                    (base.subjects[0], base.subjects[0]), base.rag, base.by)
    with pytest.raises(InvalidReferral, match="identifiers.shoe_size"):
        ReferralSubject("child-1", SubjectRole.CHILD, {"shoe_size": "9"})


def test_subjects_from_specs_and_proto() -> None:
    subjects = subjects_from_specs([
        {"role": "child", "given_name": "Poppy", "date_of_birth": "2025-06-01"},
        {"role": "parent_carer", "given_name": "Jade", "other_names": "J Smyth;Jayde"},
        {"role": "child", "subject_id": "sib", "given_name": "Alfie"},
    ])
    assert [s.subject_id for s in subjects] == ["child-1", "parent_carer-1", "sib"]
    proto = subjects[1].to_proto()
    assert proto.role == "parent_carer"
    assert list(proto.identifiers.other_names) == ["J Smyth", "Jayde"]


def test_store_lives_in_home(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    s = open_store(home)
    s.create(new_referral())
    s.close()
    assert referral_db_path(home) == tmp_path / "broker" / "referrals.sqlite"
    assert referral_db_path(home).is_file()


# ---------------------------------------------------------------- summaries and retention

def test_summary_round_trip(store: SqliteReferralStore) -> None:
    store.create(new_referral())
    summary = full_summary()
    stored = store.save_summary(summary, RETAIN)
    assert stored.summary == summary
    assert [s.lookup_id for s in store.summaries("REF-0001")] == ["LK-1"]


def test_summary_for_unknown_referral_is_refused(store: SqliteReferralStore) -> None:
    with pytest.raises(ReferralNotFound):
        store.save_summary(full_summary(referral_id="REF-NOPE"), RETAIN)


def test_unknown_retention_stores_nothing(store: SqliteReferralStore) -> None:
    store.create(new_referral())
    with pytest.raises(UnknownRetention):
        store.save_summary(full_summary(), RetentionByAgreement(days={"police-mash-dsa": 30}))
    assert store.summaries("REF-0001") == []


def test_parts_without_facts_need_no_retention(store: SqliteReferralStore) -> None:
    store.create(new_referral())
    stored = store.save_summary(sparse_summary(), RetentionByAgreement())
    assert len(stored.summary.agencies) == 3


def test_retention_deletes_each_agency_part_on_its_own_schedule(
        store: SqliteReferralStore, clock: FakeClock) -> None:
    seen: list[SummaryDeletion] = []
    store.on_delete = seen.append
    store.create(new_referral())
    store.save_summary(full_summary(), RETAIN)
    clock.advance(days=29)
    assert store.purge_expired() == []
    clock.advance(days=1)
    police = store.purge_expired()
    assert [(d.agency, d.agreement_id) for d in police] == [("police", "police-mash-dsa")]
    assert seen == police
    kept = store.summaries("REF-0001")[0]
    by_agency = {a.agency: a for a in kept.summary.agencies}
    assert not by_agency["police"].subjects  # the facts are gone ...
    assert by_agency["police"].status == "disclosed"  # ... the fact of the answer is not
    assert by_agency["police"].reasons[-1].code == RETENTION_DELETED
    assert by_agency["health"].subjects  # 90 days: still kept
    assert kept.deletions == tuple(police)
    clock.advance(days=31)  # day 60: CSC, education, housing (default 60)
    assert sorted(d.agency for d in store.purge_expired()) == [
        "childrens_social_care", "education", "housing"]
    clock.advance(days=30)
    assert [d.agency for d in store.purge_expired()] == ["health"]
    assert store.purge_expired() == []  # nothing deleted twice
    assert len(store.deletions("REF-0001")) == 5
    assert all(not a.subjects for a in store.summaries("REF-0001")[0].summary.agencies)


def test_deleted_facts_are_gone_from_the_file(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "r.sqlite"
    s = SqliteReferralStore(path, clock=clock)
    s.create(new_referral())
    s.save_summary(full_summary(), RetentionByAgreement(default_days=1))
    clock.advance(days=2)
    s.purge_expired()
    s.close()
    assert b"PN-1001" not in path.read_bytes()
    assert b"Domestic incident" not in path.read_bytes()


def test_summary_is_never_overwritten(store: SqliteReferralStore) -> None:
    store.create(new_referral())
    store.save_summary(full_summary(), RETAIN)
    changed = full_summary()
    changed.agencies[1].status = "not_known"
    with pytest.raises(DuplicateSummary):
        store.save_summary(changed, RETAIN)
    assert store.summaries("REF-0001")[0].summary == full_summary()


def test_retention_from_agreements_takes_the_shorter_version() -> None:
    from policy.engine import load_engine

    shipped = load_engine(Home.at(Path("/nonexistent-mash-home"))).agreements
    rule = RetentionByAgreement.from_agreements(shipped)
    assert rule.days["dsa-mash-demo-police"] == 730

    class Terms:
        def __init__(self, days: int) -> None:
            self.disclosed_summary_days = days

    class Agreement:
        def __init__(self, days: int) -> None:
            self.id, self.retention = "dsa-x", Terms(days)

    rule = RetentionByAgreement.from_agreements([Agreement(90), Agreement(30), Agreement(60)])
    assert rule.days == {"dsa-x": 30} and rule.default_days is None
    overridden = rule.overridden({"dsa-y": 7}, 14)
    assert overridden.days == {"dsa-x": 30, "dsa-y": 7} and overridden.default_days == 14


def test_the_broker_files_under_the_retention_of_the_shipped_agreements(
        tmp_path: Path) -> None:
    from broker.referral_lookup import file_summary
    from policy.engine import load_engine

    home = Home.at(tmp_path)
    s = open_store(home)
    s.create(new_referral())
    summary = full_summary()
    for result in summary.agencies:
        result.agreement_id = f"dsa-mash-demo-{result.agency.replace('_', '-')}"
    file_summary(s, summary, load_engine(Home.at(Path("/nonexistent-mash-home"))).agreements,
                 "sw-1")
    assert len(s.summaries("REF-0001")) == 1
    assert s.get("REF-0001").status == ReferralStatus.RESEARCHING
    s.close()


def _statements(store: SqliteReferralStore) -> list[str]:
    """Every SQL statement the store runs from now on (collected by SQLite itself)."""
    seen: list[str] = []
    store.db.conn.set_trace_callback(seen.append)
    return seen


def test_listing_referrals_is_one_query_however_many(store: SqliteReferralStore) -> None:
    for n in range(6):
        store.create(new_referral(f"REF-{n}"))
        store.rerate(f"REF-{n}", Rag.RED, "tm-1", "more worry")
    store.set_status("REF-1", ReferralStatus.RESEARCHING, "sw-1")
    store.decide("REF-2", LevelOfNeed.CHILD_PROTECTION, Outcome.STRATEGY_DISCUSSION, "risk", "tm-1")
    store.set_status("REF-2", ReferralStatus.CLOSED, "tm-1")
    store.set_status("REF-3", ReferralStatus.RESEARCHING, "sw-1")
    store.edit("REF-3", by="sw-1", reason="corrected reason")
    expected = {rid: store.get(rid) for rid in (f"REF-{n}" for n in range(6))}

    seen = _statements(store)
    everyone = store.referrals()
    assert len(seen) == 1
    assert everyone == [expected[f"REF-{n}"] for n in range(6)]  # histories read whole

    seen.clear()
    researching = store.referrals(ReferralStatus.RESEARCHING)
    assert len(seen) == 1
    assert [r.referral_id for r in researching] == ["REF-1", "REF-3"]
    assert researching[1].edits[0].change == "corrected reason"
    # a referral that passed through `decided` is listed only under where it is now
    assert [r.referral_id for r in store.referrals(ReferralStatus.DECIDED)] == []
    assert [r.referral_id for r in store.referrals(ReferralStatus.CLOSED)] == ["REF-2"]
    assert store.get("REF-2").decision is not None


def test_referrals_received_with_different_offsets_sort_by_the_moment(
        store: SqliteReferralStore) -> None:
    bst = timezone(timedelta(hours=1))
    # 10:30 BST (09:30 UTC) came before 10:00 UTC, though it sorts after it as text
    for rid, at in (("REF-UTC", datetime(2026, 7, 6, 10, 0, tzinfo=UTC)),
                    ("REF-BST", datetime(2026, 7, 6, 10, 30, tzinfo=bst)),
                    ("REF-NY", datetime(2026, 7, 6, 4, 45, tzinfo=timezone(timedelta(hours=-5))))):
        store.create(dataclasses.replace(new_referral(rid), received_at=at))
    assert [r.referral_id for r in store.referrals()] == ["REF-BST", "REF-NY", "REF-UTC"]
    assert store.get("REF-BST").received_at == datetime(2026, 7, 6, 9, 30, tzinfo=UTC)


def test_reading_summaries_is_three_queries_however_many(
        store: SqliteReferralStore, clock: FakeClock) -> None:
    store.create(new_referral())
    store.create(new_referral("REF-0002"))
    saved = [store.save_summary(full_summary(lookup_id=f"LK-{n}"), RETAIN) for n in range(5)]
    store.save_summary(full_summary(referral_id="REF-0002", lookup_id="LK-other"), RETAIN)
    clock.advance(days=30)
    deleted = store.purge_expired()  # police parts become stubs, with a deletion each
    assert {d.lookup_id for d in deleted} >= {"LK-0", "LK-4"}

    seen = _statements(store)
    kept = store.summaries("REF-0001")
    assert len([q for q in seen if q.lower().startswith("select")]) == 3
    assert [k.lookup_id for k in kept] == [s.lookup_id for s in saved]
    for k in kept:
        assert [a.agency for a in k.summary.agencies] == [
            a.agency for a in saved[0].summary.agencies]
        assert [d.lookup_id for d in k.deletions] == [k.lookup_id]
