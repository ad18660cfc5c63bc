"""A running service sees revocations and new pins without a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from certs import pki
from certs.errors import TrustStoreError
from certs.reloading import ReloadingTrustStore
from mash.home import Home

pytestmark = pytest.mark.clock_sensitive


def test_reloads_on_change_and_fails_closed_on_a_bad_file(tmp_path: Path) -> None:
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
    assert store.is_revoked(serial)
    home.trust_store.write_text("not toml [")
    tick[0] = 3.0
    with pytest.raises(TrustStoreError):
        store.is_revoked(serial)
    with pytest.raises(TrustStoreError):
        store.keys_for("adapter-police")


def test_sees_rotated_signing_key(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    pki.init_pki(home, agencies=["police"])
    tick = [0.0]
    store = ReloadingTrustStore(home.trust_store, monotonic=lambda: tick[0],
                                clock=lambda: datetime.now(UTC))
    new = pki.rotate_signing(home, "adapter-police")
    tick[0] = 2.0
    assert new.key_id in {k.key_id for k in store.keys_for("adapter-police")}
