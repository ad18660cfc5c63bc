"""`mash policy diff`: the effect difference over the vocabulary space."""

from __future__ import annotations

from pathlib import Path

from mash.vocab import Agency
from policy import SHIPPED_POLICY_DIR
from policy.diff import effect_diff
from tests.policy_helpers import NOW, copy_shipped

POLICE = [Agency.POLICE]


def test_identical_folders_have_no_effect_difference(tmp_path: Path) -> None:
    report = effect_diff(SHIPPED_POLICY_DIR, copy_shipped(tmp_path), at=NOW, agencies=POLICE)
    assert report.classes_compared == 1 * 5 * 6 * 4 * 6 * 3 * 4 * 5
    assert report.changes == () and report.classes_changed == 0


def test_comment_only_change_has_no_effect(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    (d / "police.toml").write_text("# reviewed 2026-11-20\n" + (d / "police.toml").read_text())
    assert effect_diff(SHIPPED_POLICY_DIR, d, at=NOW, agencies=POLICE).changes == ()


def test_narrowing_a_consent_rule_is_reported_as_folded_classes(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    police = d / "police.toml"
    police.write_text(police.read_text().replace(
        'reasons = ["risk_of_serious_harm_to_adult", "prejudice_to_crime_investigation"]',
        'reasons = ["risk_of_serious_harm_to_adult"]'))
    report = effect_diff(SHIPPED_POLICY_DIR, d, at=NOW, agencies=POLICE)
    lines = report.lines()
    assert lines and all("purpose=adult_safeguarding_enquiry" in line for line in lines)
    assert all("consent_reason=prejudice_to_crime_investigation" in line for line in lines)
    assert all(line.endswith("-> DENY") for line in lines)
    # 3 requesting roles x 3 RAG x 3 non-consent states x 3 subject roles with categories
    assert report.classes_changed == 3 * 3 * 3 * 3
    assert len(lines) <= 4


def test_sealing_a_category_shows_it_lost(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    police = d / "police.toml"
    text = police.read_text().replace('police_intelligence = "sensitive"',
                                      'police_intelligence = "sealed"')
    police.write_text(text.replace(', "police_intelligence"', ""))
    lines = effect_diff(SHIPPED_POLICY_DIR, d, at=NOW, agencies=POLICE).lines()
    assert any(line.endswith("PERMIT with -police_intelligence") for line in lines)
