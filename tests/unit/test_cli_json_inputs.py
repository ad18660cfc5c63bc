"""JSON a command reads (subjects, checkpoints, proofs) is decoded by type: errors name the field."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from audit.checkpoints import Checkpoint
from audit.errors import InvalidInclusionProof
from audit.proofs import InclusionProof
from broker.referral_cli import _subjects
from identity.oidc_server import IdpConfig
from mash.app.cli import main
from mash.errors import UsageError
from mash.home import Home

CHECKPOINT = {"log": "broker", "tree_size": 3, "root_hash": "ab" * 32,
              "timestamp": "2026-11-25T10:00:00+00:00", "key_id": None, "signature": None}


def _subjects_from(tmp_path: Path, subjects: object, *flat: str) -> list[object]:
    path = tmp_path / "subjects.json"
    path.write_text(json.dumps(subjects), encoding="utf-8")
    return list(_subjects(argparse.Namespace(subject=list(flat), subjects_file=path)))


def test_subjects_flat_nested_and_from_the_command_line(tmp_path: Path) -> None:
    got = _subjects_from(
        tmp_path,
        [{"role": "child", "subject_id": "c-1", "given_name": "Ann", "other_names": ["Jo", "Al"],
          "identifiers": {"given_name": "Anne", "postcode": "ZZ1 1ZZ"}}],
        "role=parent_carer,family_name=Smith,other_names=A;B")
    parent, child = got
    assert (parent.role, parent.identifiers.family_name) == ("parent_carer", "Smith")
    assert list(parent.identifiers.other_names) == ["A", "B"]
    assert (child.subject_id, child.identifiers.given_name) == ("c-1", "Anne")  # nested wins
    assert child.identifiers.postcode == "ZZ1 1ZZ"
    assert list(child.identifiers.other_names) == ["Jo", "Al"]


@pytest.mark.parametrize("subject,words", [
    ({"role": "child", "nhs_numbr": "943 476 5919"}, "subject 1: field 'nhs_numbr': unknown field"),
    ({"role": "child", "nhs_number": 9434765919},
     "subject 1: field 'nhs_number': expected a string, got a whole number"),
    ({"identifiers": {"dob": "2019-01-01"}}, "subject 1: field 'identifiers.dob': unknown field"),
    ("child", "subject 1: field '<file>': expected a table"),
])
def test_a_bad_subject_names_its_field(tmp_path: Path, subject: object, words: str) -> None:
    with pytest.raises(UsageError) as raised:
        _subjects_from(tmp_path, [subject])
    assert str(raised.value).startswith(words)


def test_a_published_checkpoint_decodes_and_a_bad_one_names_the_field() -> None:
    assert Checkpoint.from_json_dict(CHECKPOINT).tree_size == 3
    with pytest.raises(ValueError, match="field 'tree_size': expected a whole number"):
        Checkpoint.from_json_dict({**CHECKPOINT, "tree_size": "3"})
    with pytest.raises(ValueError, match="field 'root_hash'"):
        Checkpoint.from_json_dict({**CHECKPOINT, "root_hash": "not hex"})


def test_verify_with_a_bad_checkpoint_file_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "published.json"
    path.write_text(json.dumps([{**CHECKPOINT, "tree_sise": 3}]), encoding="utf-8")
    assert main(["audit", "verify", "--home", str(tmp_path), "--checkpoint", str(path)]) == 2
    assert "field 'tree_sise': unknown field" in capsys.readouterr().err


def test_a_malformed_proof_names_the_field() -> None:
    proof = {"format": "mash-audit-inclusion-proof-v1", "entry_id": 1, "core": "{}",
             "checkpoint": CHECKPOINT}
    with pytest.raises(InvalidInclusionProof, match="field 'audit_path': is required"):
        InclusionProof.from_json_dict(proof)
    bad = {**proof, "audit_path": [], "checkpoint": {**CHECKPOINT, "tree_size": -1}}
    with pytest.raises(InvalidInclusionProof, match="field 'checkpoint.tree_size'"):
        InclusionProof.from_json_dict(bad)


def test_the_idp_config_it_writes_reads_back_for_any_text(tmp_path: Path) -> None:
    home = Home.at(tmp_path / 'a "quoted" home 😀')
    config = IdpConfig(home, port=8443, clients={"console": (("http://127.0.0.1/cb",), "c")})
    path = tmp_path / "idp.toml"
    config.write(path)
    assert IdpConfig.load(path) == config
