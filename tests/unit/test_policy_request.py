"""Parsing the policy request JSON: strict, never a guess."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mash.vocab import Category, ConsentState, ReasonCode, UnknownVocabulary
from policy import InvalidRequest, PolicyRequest

EXAMPLE: dict[str, Any] = {
    "agency": "police", "categories": ["domestic_abuse_incidents"],
    "purpose": "child_protection_enquiry", "statutory_gateway": "children_act_1989_s47",
    "rag": "red", "consent": {"state": "not_sought", "reason": "risk_of_significant_harm"},
    "requester": {"role": "mash_social_worker", "id": "sw-104"}, "subject_role": "child",
    "at": "2026-11-25T10:00:00Z", "break_glass": None,
}


def test_issue_example_parses() -> None:
    r = PolicyRequest.from_json(EXAMPLE)
    assert r.categories == (Category.DOMESTIC_ABUSE_INCIDENTS,)
    assert r.consent_state is ConsentState.NOT_SOUGHT
    assert r.consent_reason is ReasonCode.RISK_OF_SIGNIFICANT_HARM
    assert r.mash_id == "mash-demo" and r.at.utcoffset() is not None


def test_round_trip() -> None:
    r = PolicyRequest.from_json(EXAMPLE)
    assert PolicyRequest.from_json(r.to_json()) == r


def test_omitted_categories_mean_all_allowed() -> None:
    data = {k: v for k, v in EXAMPLE.items() if k != "categories"}
    assert PolicyRequest.from_json(data).categories is None


@pytest.mark.parametrize("path,value", [
    (("agency",), "fire_service"), (("purpose",), "Early_Help"), (("rag",), "RED"),
    (("consent", "state"), "implied"), (("consent", "reason"), "because"),
    (("requester", "role"), "admin"), (("subject_role",), "neighbour"),
    (("categories",), ["everything"]), (("statutory_gateway",), "children_act_1989_s46"),
])
def test_unknown_vocabulary_is_an_error(path: tuple[str, ...], value: object) -> None:
    data = copy.deepcopy(EXAMPLE)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(UnknownVocabulary):
        PolicyRequest.from_json(data)


@pytest.mark.parametrize("mutate", [
    lambda d: d.pop("agency"),
    lambda d: d.update(at="2026-11-25T10:00:00"),  # naive time
    lambda d: d.update(at="yesterday"),
    lambda d: d.update(surprise=1),
    lambda d: d["requester"].update(id=""),
    lambda d: d.update(break_glass={"reason": "undue_delay", "why": "x"}),
])
def test_malformed_request_is_an_error(mutate: Any) -> None:
    data = copy.deepcopy(EXAMPLE)
    mutate(data)
    with pytest.raises(InvalidRequest):
        PolicyRequest.from_json(data)


@pytest.mark.parametrize("mutate,words", [
    (lambda d: d.update(surprise=1), "request.surprise: unknown field (valid: "),
    (lambda d: d["requester"].update(id=""), "request.requester.id: must be at least 1 "),
    (lambda d: d["consent"].pop("state"), "request.consent.state: is required"),
    (lambda d: d.update(categories="domestic_abuse_incidents"),
     "request.categories: expected a list of strings"),
    (lambda d: d.update(break_glass={"reason": "undue_delay", "why": "x"}),
     "request.break_glass.why: unknown field"),
    (lambda d: d.update(at=20261125), "request.at: expected a string"),
])
def test_a_malformed_request_names_the_field(mutate: Any, words: str) -> None:
    data = copy.deepcopy(EXAMPLE)
    mutate(data)
    with pytest.raises(InvalidRequest) as raised:
        PolicyRequest.from_json(data)
    assert str(raised.value).startswith(words)
