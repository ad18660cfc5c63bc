"""`mash broker serve` that cannot start says why, in one line, without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from broker.config import BrokerConfig, IdentityProvider
from certs.pki import init_pki
from mash.home import Home

pytestmark = pytest.mark.integration


def _serve(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mash.app", "broker", "serve", "--config",
                           str(config)], capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture()
def home(tmp_path: Path) -> Home:
    h = Home.at(tmp_path / "home")
    init_pki(h, agencies=["police"])  # keys and certificates, but no identity provider
    return h


def test_a_missing_development_issuer_is_a_clear_error(home: Home, tmp_path: Path) -> None:
    config = tmp_path / "broker.toml"
    BrokerConfig(broker_id="mash-demo", home=home, adapters=(), dev_mode=True).write(config)
    done = _serve(config)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "mash: error: the development issuer's keys are missing" in done.stderr
    assert "idp/jwks.json" in done.stderr and "mash token init" in done.stderr


@pytest.mark.parametrize(("content", "says"), [
    (None, "No such file"),
    ("{not json", "cannot read the identity provider's keys"),
    ('{"keys": {}}', "has no 'keys' list"),
])
def test_a_configured_identity_provider_without_usable_keys_is_a_clear_error(
        home: Home, tmp_path: Path, content: str | None, says: str) -> None:
    jwks = tmp_path / "idp-jwks.json"
    if content is not None:
        jwks.write_text(content)
    config = tmp_path / "broker.toml"
    BrokerConfig(broker_id="mash-demo", home=home, adapters=(), identity=IdentityProvider(
        issuer="https://login.example", audience="mash-broker-demo", jwks_file=jwks)).write(config)
    done = _serve(config)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "mash: error: " in done.stderr and says in done.stderr
