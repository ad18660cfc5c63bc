"""A running service sees revocations and new pins without a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from certs import pki
from certs.reloading import ReloadingTrustStore
from certs.truststore import TrustStore
from mash.home import Home

pytestmark = pytest.mark.clock_sensitive


def test_reloads_on_change_and_keeps_the_last_good_store_while_a_bad_file_is_refused(
        tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    pki.init_pki(home, agencies=["police"])
    tick = [0.0]
    store = ReloadingTrustStore(home.trust_store, check_interval_s=1.0,
                                monotonic=lambda: tick[0])
    serial = pki.read_certificate(home, "client-staff").serial_number
    assert not store.is_revoked(serial)
    pki.revoke(home, "client-staff")
    assert not store.is_revoked(serial)  # not re-checked within the interval
    tick[0] = 1.5
    assert store.is_revoked(serial) and store.fault == ""
    good = home.trust_store.read_text()
    home.trust_store.write_text("not toml [")
    tick[0] = 3.0
    # the store in force stays, revocation and pins included; the fault says why
    assert store.is_revoked(serial)
    assert store.keys_for("adapter-police")
    assert "not valid TOML" in store.fault
    assert not store.reload_now()
    home.trust_store.unlink()
    tick[0] = 4.5
    assert store.is_revoked(serial) and "not found" in store.fault
    home.trust_store.write_text(good)
    assert store.reload_now() and store.fault == ""


def test_a_removed_pin_is_gone_at_the_next_check(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    pki.init_pki(home, agencies=["police"])
    tick = [0.0]
    store = ReloadingTrustStore(home.trust_store, monotonic=lambda: tick[0])
    assert store.keys_for("broker-mash-demo")
    current = TrustStore.load(home.trust_store)
    TrustStore(tuple(k for k in current.keys if k.owner != "broker-mash-demo"),
               current.revoked).save(home.trust_store)
    assert store.reload_now()
    assert not store.keys_for("broker-mash-demo")


def test_sees_rotated_signing_key(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    pki.init_pki(home, agencies=["police"])
    tick = [0.0]
    store = ReloadingTrustStore(home.trust_store, monotonic=lambda: tick[0],
                                clock=lambda: datetime.now(UTC))
    new = pki.rotate_signing(home, "adapter-police")
    tick[0] = 2.0
    assert new.key_id in {k.key_id for k in store.keys_for("adapter-police")}
