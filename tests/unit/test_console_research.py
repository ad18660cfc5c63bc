"""The console's researcher queue: its config table and the answer form's checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import ConsoleConfig, OidcSettings, ResearchSettings
from console.pages_research import answer_request
from mash.config import ConfigError
from mash.home import Home


def _config(tmp_path: Path, research: ResearchSettings | None) -> Path:
    path = tmp_path / "console.toml"
    ConsoleConfig(home=Home.at(tmp_path), broker_address="127.0.0.1:1",
                  oidc=OidcSettings("http://127.0.0.1:2/.well-known/openid-configuration"),
                  research=research).write(path)
    return path


def test_the_research_table_is_optional_and_round_trips(tmp_path: Path) -> None:
    assert ConsoleConfig.load(_config(tmp_path, None)).research is None
    loaded = ConsoleConfig.load(_config(tmp_path, ResearchSettings("127.0.0.1:7443")))
    assert loaded.research == ResearchSettings("127.0.0.1:7443", "police", None)


def test_an_unknown_agency_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = _config(tmp_path, ResearchSettings("127.0.0.1:7443"))
    path.write_text(path.read_text().replace('agency = "police"', 'agency = "probation"'))
    with pytest.raises(ConfigError, match="research.agency"):
        ConsoleConfig.load(path)


def test_the_answer_form_names_each_missing_field() -> None:
    _, errors = answer_request("R-0123456789ab", {})
    assert set(errors) == {"outcome"}
    _, errors = answer_request("R-0123456789ab", {"outcome": "disclosed"})
    assert set(errors) == {"f0-subject"}
    _, errors = answer_request("R-0123456789ab", {"outcome": "disclosed",
                                                  "f1-subject": "child-1", "f1-date": "2026-01-02"})
    assert set(errors) == {"f1-category", "f1-summary"}


def test_the_answer_form_groups_facts_by_person() -> None:
    request, errors = answer_request("R-0123456789ab", {
        "outcome": "disclosed",
        "f0-subject": "child-1", "f0-category": "missing_episodes", "f0-date": "2026-01-02",
        "f0-summary": "Missing 9 hours", "f2-subject": "child-1",
        "f2-category": "domestic_abuse_incidents", "f2-date": "2026-01-03",
        "f2-summary": "Incident; child present"})
    assert not errors
    assert [(f.subject_id, [x.category for x in f.facts]) for f in request.findings] == [
        ("child-1", ["missing_episodes", "domestic_abuse_incidents"])]
    not_known, errors = answer_request("R-0123456789ab", {"outcome": "not_known"})
    assert not errors and not_known.not_known and not not_known.findings
