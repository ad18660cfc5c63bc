"""Unit tests of the development issuer, token validation cache and `mash token` CLI."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certs.authority import thumbprint_of_file
from certs.pki import init_pki
from identity.errors import ExpiredToken
from identity.tokens import (
    TokenValidator,
    init_dev_issuer,
    issue_token,
    issuer_key_path,
    jwks_path,
)
from mash.app.cli import main
from mash.home import Home
from mash.vocab import Role

T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


def _home(path: Path) -> tuple[Home, str]:
    """A home with the dev issuer and a `client-staff` certificate; and that cert's thumbprint."""
    home = Home.at(path)
    init_pki(home, agencies=["police"], clock=lambda: T0)
    init_dev_issuer(home)
    return home, thumbprint_of_file(home.tls_cert("client-staff"))


def test_init_dev_issuer_is_idempotent_and_private(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    init_dev_issuer(home)
    key = issuer_key_path(home).read_bytes()
    init_dev_issuer(home)
    assert issuer_key_path(home).read_bytes() == key
    assert stat.S_IMODE(issuer_key_path(home).stat().st_mode) == 0o600
    assert jwks_path(home).exists()


def test_issue_and_validate_roundtrip(tmp_path: Path) -> None:
    home, device = _home(tmp_path)
    token = issue_token(home, sub="tm-7", role=Role.MASH_TEAM_MANAGER, broker_id="leeds",
                        ttl_s=600, clock=lambda: T0)
    ident = TokenValidator.from_home(home, broker_id="leeds", clock=lambda: T0).validate(
        token, device)
    assert (ident.sub, ident.role, ident.org) == ("tm-7", Role.MASH_TEAM_MANAGER, "leeds")
    assert ident.jti and ident.cert_thumbprint == device


def test_cache_serves_repeat_tokens_and_evicts(tmp_path: Path) -> None:
    home, device = _home(tmp_path)
    now = [T0]
    v = TokenValidator.from_home(home, clock=lambda: now[0], cache_size=2, leeway_s=0)
    tokens = [issue_token(home, sub=f"s{i}", role="auditor", ttl_s=60, clock=lambda: T0)
              for i in range(3)]
    first = v.validate(tokens[0], device)
    assert v.validate(tokens[0], device) is first  # served from cache
    v.validate(tokens[1], device)
    v.validate(tokens[2], device)
    assert v.validate(tokens[0], device) is not first  # evicted, validated afresh
    now[0] = T0 + timedelta(seconds=60)
    with pytest.raises(ExpiredToken):
        v.validate(tokens[2], device)


def test_cli_token_issue_prints_a_valid_token(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    home, device = _home(tmp_path)
    assert main(["token", "issue", "--role", "mash_social_worker", "--sub", "sw-9",
                 "--ttl", "300", "--home", str(tmp_path)]) == 0
    token = capsys.readouterr().out.strip()
    ident = TokenValidator.from_home(home).validate(token, device)
    assert ident.sub == "sw-9" and ident.role is Role.MASH_SOCIAL_WORKER


def test_cli_token_issue_binds_to_the_given_certificate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home, _ = _home(tmp_path)
    init_pki(home, agencies=["police"], clients=["staff", "laptop-3"], clock=lambda: T0)
    laptop = home.tls_cert("client-laptop-3")
    assert main(["token", "issue", "--role", "mash_social_worker", "--sub", "sw-9",
                 "--broker-id", "leeds", "--cert", str(laptop), "--home", str(tmp_path)]) == 0
    token = capsys.readouterr().out.strip()
    ident = TokenValidator.from_home(home, broker_id="leeds").validate(
        token, thumbprint_of_file(laptop))
    assert ident.org == "leeds"


def test_cli_token_issue_without_a_certificate_to_bind_to_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "issue", "--role", "auditor", "--sub", "x",
                 "--client", "client-nobody", "--home", str(tmp_path)]) == 2
    assert "bound to the device" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--role", "boss", "--sub", "x"],
    ["--role", "auditor", "--sub", "x", "--ttl", "0"],
])
def test_cli_token_issue_bad_input_exits_2(tmp_path: Path, argv: list[str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "issue", *argv, "--home", str(tmp_path)]) == 2
    assert "mash: error:" in capsys.readouterr().err
