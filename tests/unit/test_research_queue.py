"""The researcher queue and the answers it accepts: durable, private, answered once, by category.

Time is injected: due times and the alert window are set relative to a fixed clock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agency_adapters.research.answers import AnswerRefused, CategoryNotPermitted, build_answer
from agency_adapters.research.backend import ResearchBackend
from agency_adapters.research.queue import (
    AlreadyAnswered,
    QueuedQuery,
    ResearchQueue,
    UnknownItem,
)
from mash.v1 import mash_pb2 as pb
from mash.v1 import research_pb2 as rpb
from mash.vocab import Agency

pytestmark = pytest.mark.clock_sensitive

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _queued(query_id: str = "q-1", rag: str = "red", due_in: timedelta = timedelta(hours=4),
            broker: str = "mash-demo") -> QueuedQuery:
    query = pb.Query(query_id=query_id, broker_id=broker, agency="police", rag=rag,
                     categories=["domestic_abuse_incidents", "missing_episodes"],
                     subjects=[pb.Subject(subject_id="child-1", role="child",
                                          identifiers=pb.Identifiers(family_name="Testerby"))])
    return QueuedQuery(
        query_id=query_id, broker_id=broker, referral_id="REF-1", lookup_id="L-1", rag=rag,
        purpose="child_protection_enquiry", statutory_gateway="children_act_1989_s47",
        requester_role="mash_social_worker", due_at=(NOW + due_in).isoformat(),
        query=query.SerializeToString(), query_sha256=b"\x01" * 32,
        permitted={"child-1": ["domestic_abuse_incidents"]}, agreement_id="police-mash",
        agreement_version="v1")


@pytest.fixture()
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture()
def queue(tmp_path: Path, clock: Clock) -> ResearchQueue:
    return ResearchQueue(tmp_path / "data" / "research-police.sqlite", clock=clock,
                         alert_window=timedelta(minutes=60))


def test_the_queue_is_private_versioned_and_survives_reopening(
        tmp_path: Path, queue: ResearchQueue, clock: Clock) -> None:
    item = queue.enqueue(_queued())
    assert queue.enqueue(_queued()).item_id == item.item_id, "a query is queued once"
    queue.close()
    path = tmp_path / "data" / "research-police.sqlite"
    assert path.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    again = ResearchQueue(path, clock=clock)
    assert [i.item_id for i in again.items()] == [item.item_id]
    assert again.get(item.item_id).permitted == {"child-1": ("domestic_abuse_incidents",)}


def test_an_item_is_answered_once(queue: ResearchQueue) -> None:
    item = queue.enqueue(_queued())
    queue.record_answer(item.item_id, by="res-7", outcome="not_known", answer=b"signed")
    with pytest.raises(AlreadyAnswered):
        queue.record_answer(item.item_id, by="res-8", outcome="disclosed", answer=b"other")
    kept = queue.get(item.item_id)
    assert (kept.answered_by, kept.outcome, kept.answer) == ("res-7", "not_known", b"signed")
    with pytest.raises(UnknownItem):
        queue.record_answer("R-000000000000", by="res-7", outcome="not_known", answer=b"")
    assert queue.items() == [] and [i.item_id for i in queue.items("answered")] == [item.item_id]


def test_items_are_listed_earliest_due_first_and_by_mash(queue: ResearchQueue) -> None:
    late = queue.enqueue(_queued("q-late", rag="green", due_in=timedelta(days=3)))
    soon = queue.enqueue(_queued("q-soon", rag="red", due_in=timedelta(hours=2)))
    other = queue.enqueue(_queued("q-other", broker="mash-leeds"))
    assert [i.item_id for i in queue.items()] == [soon.item_id, other.item_id, late.item_id]
    assert [i.item_id for i in queue.items(broker_id="mash-leeds")] == [other.item_id]


def test_red_items_alert_as_their_deadline_nears_each_once(
        queue: ResearchQueue, clock: Clock) -> None:
    asyncio.run(_alerts(queue, clock))


async def _alerts(queue: ResearchQueue, clock: Clock) -> None:
    red = queue.enqueue(_queued("q-red", rag="red", due_in=timedelta(minutes=90)))
    queue.enqueue(_queued("q-amber", rag="amber", due_in=timedelta(minutes=30)))
    backend = ResearchBackend(queue)
    raised: list[list[str]] = []

    async def sink(items: list[object]) -> None:
        raised.append([i.item_id for i in items])  # type: ignore[attr-defined]

    backend.alert_sink = sink  # type: ignore[assignment]
    assert (await backend.probe()).fault == ""
    assert queue.alerts() == []
    clock.at = NOW + timedelta(minutes=31)  # 59 minutes left
    state = await backend.probe()
    assert state.serving and red.item_id in state.fault and "Red" in state.fault
    assert raised == [[red.item_id]]
    await backend.probe()
    assert raised == [[red.item_id]], "an alert is raised once"
    clock.at = NOW + timedelta(hours=3)  # overdue: still alerting until answered
    assert [i.item_id for i in queue.alerts()] == [red.item_id]
    assert queue.get(red.item_id).minutes_left(clock()) == -90
    queue.record_answer(red.item_id, by="res-7", outcome="not_known", answer=b"x")
    assert (await backend.probe()).fault == ""


def _answer(**fields: object) -> rpb.AnswerResearchRequest:
    return rpb.AnswerResearchRequest(item_id="R-1", **fields)  # type: ignore[arg-type]


def _fact(category: str = "domestic_abuse_incidents", on: str = "2026-01-05",
          summary: str = "Domestic abuse incident; child present") -> pb.Fact:
    return pb.Fact(category=category, occurred_on=on, summary=summary)


def test_an_answer_discloses_only_permitted_categories(queue: ResearchQueue) -> None:
    item = queue.enqueue(_queued())
    permitted_now = {"child-1": {"domestic_abuse_incidents", "missing_episodes"}}
    built = build_answer(item, _answer(findings=[rpb.ResearchFinding(
        subject_id="child-1", match_band="certain", facts=[_fact()])]), agency=Agency.POLICE,
        adapter_id="adapter-police", now=NOW, permitted_now=permitted_now)
    d = built.disclosure
    assert d.status == "disclosed" and d.query_sha256 == b"\x01" * 32
    assert d.broker_id == "mash-demo" and d.query_id == "q-1"
    assert [f.category for f in d.subjects[0].facts] == ["domestic_abuse_incidents"]
    # permitted by the agreement now, but not when the query was queued: refused
    with pytest.raises(CategoryNotPermitted, match="missing_episodes"):
        build_answer(item, _answer(findings=[rpb.ResearchFinding(
            subject_id="child-1", facts=[_fact("missing_episodes")])]), agency=Agency.POLICE,
            adapter_id="adapter-police", now=NOW, permitted_now=permitted_now)
    # permitted when queued, no longer now (the agreement narrowed): refused
    with pytest.raises(CategoryNotPermitted):
        build_answer(item, _answer(findings=[rpb.ResearchFinding(
            subject_id="child-1", facts=[_fact()])]), agency=Agency.POLICE,
            adapter_id="adapter-police", now=NOW, permitted_now={"child-1": set()})


@pytest.mark.parametrize(("request_fields", "message"), [
    ({}, "give findings"),
    ({"not_known": True, "findings": [rpb.ResearchFinding(subject_id="child-1",
                                                          facts=[_fact()])]}, "not both"),
    ({"findings": [rpb.ResearchFinding(subject_id="child-9", facts=[_fact()])]},
     "not a subject"),
    ({"findings": [rpb.ResearchFinding(subject_id="child-1", match_band="possible",
                                       facts=[_fact()])]}, "match band"),
    ({"findings": [rpb.ResearchFinding(subject_id="child-1",
                                       facts=[_fact(on="2026-03-11")])]}, "future"),
    ({"findings": [rpb.ResearchFinding(subject_id="child-1",
                                       facts=[_fact(on="05/01/2026")])]}, "YYYY-MM-DD"),
    ({"findings": [rpb.ResearchFinding(subject_id="child-1",
                                       facts=[_fact(summary="two\nlines")])]}, "one line"),
])
def test_bad_answers_are_refused_naming_what_to_change(
        queue: ResearchQueue, request_fields: dict[str, object], message: str) -> None:
    item = queue.enqueue(_queued())
    with pytest.raises(AnswerRefused, match=message):
        build_answer(item, _answer(**request_fields), agency=Agency.POLICE,
                     adapter_id="adapter-police", now=NOW,
                     permitted_now={"child-1": {"domestic_abuse_incidents"}})


def test_not_known_answers_every_subject_with_no_facts(queue: ResearchQueue) -> None:
    item = queue.enqueue(_queued())
    built = build_answer(item, _answer(not_known=True), agency=Agency.POLICE,
                         adapter_id="adapter-police", now=NOW,
                         permitted_now={"child-1": {"domestic_abuse_incidents"}})
    assert built.outcome == "not_known"
    assert [(s.subject_id, s.match_band, len(s.facts)) for s in built.disclosure.subjects] == [
        ("child-1", "none", 0)]
    assert list(built.disclosure.subjects[0].withheld_categories) == ["missing_episodes"]
