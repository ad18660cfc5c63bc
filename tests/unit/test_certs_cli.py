"""`mash pki ...` end to end through the real argument parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from certs.signing import TrustStore
from mash.app.cli import main
from mash.home import Home

pytestmark = pytest.mark.clock_sensitive


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_pki_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = str(tmp_path)
    code, out, _ = run(capsys, "pki", "init", "--home", h, "--broker", "mash-leeds",
                       "--agency", "police", "--agency", "health", "--client", "alice")
    assert code == 0 and "created tls:broker-mash-leeds" in out
    home = Home.at(tmp_path)
    assert home.tls_cert("client-alice").exists()
    assert not home.tls_cert("adapter-housing").exists()

    code, out, _ = run(capsys, "pki", "issue", "--kind", "adapter", "housing", "--home", h)
    assert code == 0 and "created tls:adapter-housing" in out

    code, out, _ = run(capsys, "pki", "revoke", "client-alice", "--home", h)
    assert code == 0 and "revoked client-alice" in out
    code, out, _ = run(capsys, "pki", "show", "--home", h)
    assert code == 0 and "REVOKED" in out and "adapter-housing" in out

    code, out, _ = run(capsys, "pki", "rotate", "client-alice", "--home", h)
    assert code == 0 and "new certificate" in out
    code, out, _ = run(capsys, "pki", "rotate", "--expiring-within", "30", "--home", h)
    assert code == 0 and "no certificate expires" in out
    code, out, _ = run(capsys, "pki", "rotate", "--expiring-within", "500", "--home", h)
    assert code == 0 and out.count("new certificate") == 5  # broker, 3 adapters, client

    before = {k.key_id for k in TrustStore.load(home.trust_store).keys_for("adapter-police")}
    code, out, _ = run(capsys, "pki", "rotate-signing", "adapter-police", "--home", h,
                       "--overlap-hours", "1")
    after = {k.key_id for k in TrustStore.load(home.trust_store).keys_for("adapter-police")}
    assert code == 0 and before < after and len(after) == 2


@pytest.mark.parametrize("argv, message", [
    (["pki", "issue", "--kind", "adapter", "fire"], "unknown Agency"),
    (["pki", "issue", "--kind", "client", "Bad/Name"], "invalid name"),
    (["pki", "revoke", "client-nobody"], "no certificate"),
    (["pki", "rotate-signing", "client-staff"], "does not own"),
    (["pki", "show"], "pki init"),
])
def test_pki_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              argv: list[str], message: str) -> None:
    if argv[1] != "show":
        assert main(["pki", "init", "--home", str(tmp_path), "--agency", "police"]) == 0
    else:
        tmp_path = tmp_path / "empty"
    capsys.readouterr()
    code, _, err = run(capsys, *argv, "--home", str(tmp_path))
    assert code == 2 and message in err and err.count("\n") == 1


def test_pki_issue_with_real_server_names(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    h = str(tmp_path)
    assert run(capsys, "pki", "init", "--home", h, "--agency", "police")[0] == 0
    code, out, _ = run(capsys, "pki", "issue", "--kind", "adapter", "police", "--home", h,
                       "--dns", "police-adapter.example.org", "--ip", "10.20.0.7")
    assert code == 0 and "created tls:adapter-police" in out
    assert "answers to: police-adapter.example.org, 10.20.0.7" in out
    code, out, _ = run(capsys, "pki", "show", "--home", h)
    assert "answers to police-adapter.example.org, 10.20.0.7" in out
    assert "answers to mash-demo.broker.localhost" in out
    # client certificates carry no server name; localhost names no single party
    code, _, err = run(capsys, "pki", "issue", "--kind", "client", "alice", "--home", h,
                       "--dns", "alice.example.org")
    assert code == 2 and "carry no server names" in err
    code, _, err = run(capsys, "pki", "issue", "--kind", "broker", "mash-demo", "--home", h,
                       "--dns", "localhost")
    assert code == 2 and "not a real server name" in err
