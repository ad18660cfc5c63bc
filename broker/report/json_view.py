"""The report as JSON (`mash summary show REFERRAL --format json`): a contract, keys are stable."""

from __future__ import annotations

import json

from broker.referral_record import Referral
from broker.report.model import REPORT_VERSION, AgencySection, Report
from mash.canonical import JsonValue


def referral_to_dict(referral: Referral) -> dict[str, JsonValue]:
    """The referral record as JSON-ready data (with its full history)."""
    decision = referral.decision
    return {
        "referral_id": referral.referral_id,
        "received_at": referral.received_at.isoformat(),
        "source": referral.source.value,
        "reason": referral.reason,
        "status": referral.status.value,
        "rag": referral.rag.value,
        "subjects": [{"subject_id": s.subject_id, "role": s.role.value,
                      "identifiers": dict(s.identifiers)} for s in referral.subjects],
        "rag_history": [{"rag": h.rag.value, "at": h.at.isoformat(), "by": h.by,
                         "reason": h.reason} for h in referral.rag_history],
        "status_history": [{"status": s.status.value, "at": s.at.isoformat(), "by": s.by,
                            "note": s.note} for s in referral.status_history],
        "decision": None if decision is None else {
            "level_of_need": decision.level_of_need.value, "outcome": decision.outcome.value,
            "rationale": decision.rationale, "by": decision.by, "at": decision.at.isoformat()},
        "decisions": [{"level_of_need": d.level_of_need.value, "outcome": d.outcome.value,
                       "rationale": d.rationale, "by": d.by, "at": d.at.isoformat()}
                      for d in referral.decisions],
    }


def _agency(section: AgencySection) -> dict[str, JsonValue]:
    return {
        "agency": section.agency,
        "lookup_id": section.lookup_id,
        "lookup_rag": section.lookup_rag,
        "status": section.status,
        "decision": section.decision,
        "reasons": [{"code": c, "text": t} for c, t in section.reasons],
        "matches": [{"subject_id": m.subject_id, "match_band": m.match_band,
                     "match_score": round(m.match_score, 4), "confirm_hint": m.confirm_hint,
                     "invalid_identifiers": list(m.invalid_identifiers),
                     "withheld_categories": list(m.withheld_categories)}
                    for m in section.matches],
        "facts_by_category": {
            category: [{"subject_id": f.subject_id, "record_id": f.record_id,
                        "occurred_on": f.occurred_on, "summary": f.summary,
                        "attributes": dict(f.attributes)} for f in facts]
            for category, facts in section.facts_by_category},
        "signer_key_id": section.signer_key_id,
        "agreement_id": section.agreement_id,
        "agreement_version": section.agreement_version,
        "latency_ms": round(section.latency_ms, 2),
        "deleted_under_retention": section.deleted_under_retention,
        "from_lookups": list(section.from_lookups) or [section.lookup_id],
        "latest_attempt": None if section.latest_attempt is None else {
            "lookup_id": section.latest_attempt.lookup_id,
            "status": section.latest_attempt.status,
            "reasons": [{"code": c, "text": t} for c, t in section.latest_attempt.reasons]},
    }


def report_to_dict(report: Report, *, include_earlier: bool = False) -> dict[str, JsonValue]:
    """The whole report as JSON-ready data (earlier answers listed only when asked)."""
    data: dict[str, JsonValue] = {
        "report_version": REPORT_VERSION,
        "generated_at": report.generated_at.isoformat(),
        "referral": referral_to_dict(report.referral),
        "timescale": {"rag": report.timescale.rag, "due_at": report.timescale.due_at.isoformat(),
                      "state": report.timescale.state},
        "known_to_csc": [{"subject_id": k.subject_id, "record_id": k.record_id,
                          "team": k.team, "case_status": k.case_status, "detail": k.detail,
                          "route": "known - route to allocated worker"}
                         for k in report.known_to_csc],
        "lookups": [{"lookup_id": lk.lookup_id, "rag": lk.rag, "purpose": lk.purpose,
                     "statutory_gateway": lk.statutory_gateway, "generated_at": lk.generated_at,
                     "due_at": lk.due_at, "broker_id": lk.broker_id} for lk in report.lookups],
        "agencies": [_agency(a) for a in report.agencies],
        "indicators": [{"code": i.code, "title": i.title, "detail": i.detail,
                        "source": {"agency": i.agency, "record_id": i.record_id,
                                   "lookup_id": i.lookup_id},
                        "subject_id": i.subject_id, "category": i.category,
                        "occurred_on": i.occurred_on} for i in report.indicators],
        "chronology": [{"occurred_on": e.occurred_on.isoformat() if e.occurred_on else None,
                        "agency": e.agency, "subject_id": e.subject_id, "category": e.category,
                        "summary": e.summary, "record_id": e.record_id,
                        "indicators": list(e.indicator_codes)} for e in report.chronology],
        "decision": referral_to_dict(report.referral)["decision"],
        "deletions": [{"lookup_id": d.lookup_id, "agency": str(d.agency),
                       "agreement_id": d.agreement_id,
                       "agreement_version": d.agreement_version,
                       "retain_until": d.retain_until.isoformat(),
                       "deleted_at": d.deleted_at.isoformat()} for d in report.deletions],
        "earlier_answers": len(report.earlier),
    }
    if include_earlier:
        data["earlier_agencies"] = [_agency(a) for a in report.earlier]
    return data


def render_json(report: Report, *, indent: int | None = 2, include_earlier: bool = False) -> str:
    """The report as a JSON document."""
    return json.dumps(report_to_dict(report, include_earlier=include_earlier), indent=indent,
                      ensure_ascii=False)
