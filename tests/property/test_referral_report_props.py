"""Properties of the report over arbitrary summaries (hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.referral_record import RagChange, Referral, StatusChange
from broker.report import build_report, render_html, render_json, render_text
from mash.v1 import mash_pb2
from mash.vocab import AgencyStatus, Category, Rag, ReferralSource, ReferralStatus
from tests.referral_factories import new_referral
from tests.unit.test_referral_report import parse_html

RECEIVED = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)

text = st.text(max_size=30)
day = st.one_of(st.dates().map(lambda d: d.isoformat()), text)
facts = st.builds(
    lambda rid, cat, on, summary, attrs: mash_pb2.Fact(record_id=rid, category=cat,
                                                       occurred_on=on, summary=summary,
                                                       attributes=attrs),
    text, st.one_of(st.sampled_from([c.value for c in Category]), text), day, text,
    st.dictionaries(st.sampled_from(["dash_risk", "attendance_pct", "stage", "status",
                                     "age_months", "team", "closed_on"]), text, max_size=3))
results = st.builds(
    lambda agency, status, subject_ids, fs: mash_pb2.AgencyResult(
        agency=agency, status=status,
        subjects=[mash_pb2.SubjectResult(subject_id=s, facts=fs) for s in subject_ids]),
    st.one_of(st.sampled_from(["police", "health", "education", "housing",
                               "childrens_social_care"]), text),
    st.sampled_from([s.value for s in AgencyStatus]),
    st.lists(st.sampled_from(["child-1", "parent_carer-1", "x"]), max_size=2, unique=True),
    st.lists(facts, max_size=4))
summaries = st.lists(st.builds(
    lambda lookup, agencies: mash_pb2.ReferralSummary(referral_id="REF-0001", lookup_id=lookup,
                                                      agencies=agencies),
    text, st.lists(results, max_size=4)), max_size=3)


def referral() -> Referral:
    new = new_referral()
    return Referral("REF-0001", RECEIVED, ReferralSource.POLICE, new.reason, new.subjects,
                    (RagChange(Rag.AMBER, RECEIVED, "sw", "initial"),),
                    (StatusChange(ReferralStatus.SCREENING, RECEIVED, "sw"),))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(summaries)
def test_any_summary_renders_in_every_format(items: list[mash_pb2.ReferralSummary]) -> None:
    report = build_report(referral(), items, now=NOW)
    data = json.loads(render_json(report))
    parsed = parse_html(render_html(report))
    assert parsed.errors == [] and parsed.stack == []
    assert "\x1b" not in render_text(report)
    # Chronology newest first, undated last.
    dates = [e["occurred_on"] for e in data["chronology"]]
    dated = [d for d in dates if d is not None]
    assert dated == sorted(dated, reverse=True)
    assert dates[len(dated):] == [None] * (len(dates) - len(dated))
    # Every indicator and every chronology entry comes from a disclosed part.
    disclosed = {(a.agency, f.record_id) for s in items for a in s.agencies
                 if a.status == "disclosed" for sub in a.subjects for f in sub.facts}
    assert all((i["source"]["agency"], i["source"]["record_id"]) in disclosed
               for i in data["indicators"])
    assert all((e["agency"], e["record_id"]) in disclosed for e in data["chronology"])
