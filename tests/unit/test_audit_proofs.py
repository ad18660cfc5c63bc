import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.errors import EntryNotFound, InvalidCheckpointSignature, InvalidInclusionProof
from audit.keys import checkpoint_key_path, load_checkpoint_key
from audit.proofs import InclusionProof, check_proof, prove
from mash.app.cli import main
from mash.home import Home
from tests.unit.audit_helpers import write_log


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "broker.sqlite"
    write_log(path, 23, key=key, checkpoint_every=10)
    return path, key


@pytest.mark.parametrize("entry_id", [1, 10, 11, 23])
def test_proof_checks_with_only_the_public_key(signed: tuple[Path, Ed25519PrivateKey],
                                               entry_id: int) -> None:
    path, key = signed
    proof = InclusionProof.from_json_dict(json.loads(json.dumps(prove(path, entry_id)
                                                                .to_json_dict())))
    check_proof(proof, key.public_key())


def test_proof_with_altered_content_fails(signed: tuple[Path, Ed25519PrivateKey]) -> None:
    path, key = signed
    d = prove(path, 5).to_json_dict()
    d["core"] = d["core"].replace("police", "health")
    with pytest.raises(InvalidInclusionProof):
        check_proof(InclusionProof.from_json_dict(d), key.public_key())


def test_proof_under_another_key_fails(signed: tuple[Path, Ed25519PrivateKey]) -> None:
    path, _ = signed
    with pytest.raises(InvalidCheckpointSignature):
        check_proof(prove(path, 5), Ed25519PrivateKey.generate().public_key())


def test_no_proof_for_a_missing_entry(signed: tuple[Path, Ed25519PrivateKey]) -> None:
    with pytest.raises(EntryNotFound):
        prove(signed[0], 99)


def test_cli_prove_then_check_proof(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = Home.at(tmp_path / "h").ensure()
    write_log(home.audit_log("broker"), 12,
              key=load_checkpoint_key(home, "broker", create=True), checkpoint_every=5)
    capsys.readouterr()
    assert main(["audit", "prove", "7", "--home", str(home.root)]) == 0
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(capsys.readouterr().out)
    pub = tmp_path / "audit-broker.pub"
    key = serialization.load_pem_private_key(checkpoint_key_path(home, "broker").read_bytes(),
                                             None)
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    assert main(["audit", "check-proof", str(proof_file), "--key", str(pub)]) == 0
    assert "VALID" in capsys.readouterr().out
    tampered = json.loads(proof_file.read_text())
    tampered["entry_id"] = 8
    proof_file.write_text(json.dumps(tampered))
    assert main(["audit", "check-proof", str(proof_file), "--key", str(pub)]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_a_proof_checks_by_hand_as_the_ig_guide_describes(
        signed: tuple[Path, Ed25519PrivateKey]) -> None:
    """An outsider's re-implementation from docs/ig-guide.md, using no mash code."""
    import base64
    import hashlib

    path, key = signed
    d = json.loads(json.dumps(prove(path, 13).to_json_dict()))
    h = hashlib.sha256
    personal = bytes.fromhex(d["personal_hash"]) if d["personal_hash"] else bytes(32)
    r = h(b"\x00" + b"mash-audit-entry-v1" + d["entry_id"].to_bytes(8, "big")
          + h(d["core"].encode()).digest() + personal).digest()
    fn, sn = d["entry_id"] - 1, d["checkpoint"]["tree_size"] - 1
    for p in (bytes.fromhex(x) for x in d["audit_path"]):
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = h(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    cp = d["checkpoint"]
    assert sn == 0 and r.hex() == cp["root_hash"]
    body = json.dumps({k: cp[k] for k in ("log", "root_hash", "timestamp", "tree_size")},
                      sort_keys=True, separators=(",", ":"))
    key.public_key().verify(base64.b64decode(cp["signature"]),
                            b"mash.v1.Checkpoint\x00" + body.encode())
