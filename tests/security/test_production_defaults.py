"""Production never runs on development defaults.

Threats: a broker started without a real identity provider accepts tokens anyone holding the
home can mint; an operator (or an attacker who can edit a config) switches the audit log off
or slows an adapter on purpose; `mash demo --keep-running` stopped with SIGTERM leaves its
services running as orphans that hold the audit logs' locks.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agency_adapters.config import AdapterConfig
from broker.config import BrokerConfig
from mash.config import ConfigError

BROKER = """broker_id = "mash-demo"
home = "{home}"
[[adapters]]
agency = "police"
address = "127.0.0.1:9"
"""


def _write(tmp_path: Path, text: str, name: str = "broker.toml") -> Path:
    path = tmp_path / name
    path.write_text(text.format(home=tmp_path / "home"), encoding="utf-8")
    return path


def test_broker_refuses_to_start_without_an_identity_provider(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        BrokerConfig.load(_write(tmp_path, BROKER))
    assert err.value.field == "identity"
    assert "dev_mode" in str(err.value)


def test_broker_serve_without_identity_exits_with_a_clear_message(tmp_path: Path) -> None:
    path = _write(tmp_path, BROKER)
    done = subprocess.run([sys.executable, "-m", "mash.app", "broker", "serve", "--config",
                           str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "identity" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "home" / "run").exists() or not list(
        (tmp_path / "home" / "run").glob("*.port"))


def test_dev_mode_is_the_only_way_to_run_on_the_dev_issuer(tmp_path: Path) -> None:
    cfg = BrokerConfig.load(_write(tmp_path, "dev_mode = true\n" + BROKER))
    assert cfg.dev_mode and cfg.identity is None
    again = tmp_path / "again.toml"
    cfg.write(again)
    assert BrokerConfig.load(again).dev_mode  # written and read back, dev_mode kept


@pytest.mark.parametrize(("table", "problem"), [
    ('issuer = ""\naudience = "a"\njwks_file = "k.json"', "identity.issuer"),
    ('issuer = "https://idp"\naudience = "a"', "identity"),
    ('issuer = "https://idp"\naudience = "a"\njwks_file = "k"\njwks_url = "https://idp/k"',
     "identity"),
    ('issuer = "https://idp"\naudience = "a"\njwks_url = "http://idp/jwks.json"',
     "identity.jwks_url"),
])
def test_identity_section_must_name_a_real_issuer(tmp_path: Path, table: str,
                                                  problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        BrokerConfig.load(_write(tmp_path, BROKER + "[identity]\n" + table + "\n"))
    assert err.value.field == problem


def test_identity_section_with_jwks_is_accepted(tmp_path: Path) -> None:
    cfg = BrokerConfig.load(_write(tmp_path, BROKER + '[identity]\nissuer = "https://idp"\n'
                                   'audience = "mash-broker-demo"\n'
                                   'jwks_url = "https://idp/jwks.json"\n'))
    assert cfg.identity is not None and cfg.identity.jwks_url == "https://idp/jwks.json"
    assert not cfg.dev_mode


def test_audit_log_cannot_be_switched_off_in_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        BrokerConfig.load(_write(tmp_path, "dev_mode = true\naudit_enabled = false\n" + BROKER))
    assert "audit_enabled" in str(err.value)


def test_adapter_delay_is_not_a_config_setting(tmp_path: Path) -> None:
    path = tmp_path / "adapter.toml"
    path.write_text(f'agency = "police"\nhome = "{tmp_path}"\nstore = "{tmp_path}/p.sqlite"\n'
                    'trusted_brokers = ["mash-demo"]\n[testing]\ndelay_ms = 5000\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        AdapterConfig.load(path)
    assert "testing" in str(err.value)


# ---------------------------------------------------------------- the demo stops its children

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_demo_keep_running_stops_every_service_on_a_signal(tmp_path: Path,
                                                           sig: signal.Signals) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "mash.app", "demo", "--keep-running", "--people", "60",
         "--home", str(tmp_path / "home")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert demo.stdout is not None
    lines: list[str] = []
    pids: list[int] = []
    deadline = time.monotonic() + 240
    try:
        for line in demo.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line or time.monotonic() > deadline:
                break
        assert any("dev_mode = true" in ln for ln in lines), "the demo says it runs in dev mode"
        pids = [int(m.group(1)) for ln in lines if (m := re.search(r" pid (\d+) ", ln))]
        assert len(pids) >= 6 and all(_alive(p) for p in pids)
        demo.send_signal(sig)
        rest, _ = demo.communicate(timeout=120)
        orphans = [p for p in pids if _alive(p)]
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        for p in pids:  # a failing run must not leave its own orphans behind
            if _alive(p):
                os.kill(p, signal.SIGKILL)
    assert "stopped" in rest
    assert not orphans, "no service outlives the demo"
