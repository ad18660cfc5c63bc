"""A server's own certificate follows its files: renewals adopted, unfit files refused."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certs import pki
from certs.live import CertificateRefused, LiveCredentials, ServerCertificate, load_certificate
from certs.reloading import ReloadingTrustStore
from mash.home import Home

pytestmark = pytest.mark.clock_sensitive

NAME = "adapter-police"


@pytest.fixture()
def home(tmp_path: Path) -> Home:
    h = Home.at(tmp_path / "home")
    pki.init_pki(h, agencies=["police", "health"])
    return h


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_renewed_certificate_is_adopted_and_handed_to_grpc_once(home: Home) -> None:
    tick = [0.0]
    cert = ServerCertificate(home, NAME, monotonic=lambda: tick[0])
    first = cert.current.serial
    assert cert._fetch() is None  # nothing new: gRPC keeps what it has
    pki.rotate_tls(home, NAME)
    assert cert._fetch() is None  # not looked at again within the interval
    tick[0] = 2.0
    assert cert._fetch() is not None  # the next handshake gets the renewal...
    assert cert._fetch() is None  # ...once
    assert cert.current.serial != first and cert.fault == ""


@pytest.mark.parametrize(("damage", "reason"), [
    ("garbage_cert", "not a PEM certificate"),
    ("other_key", "not the key of the certificate"),
    ("other_party", "does not name mash://adapter/police"),
    ("missing_key", "cannot read"),
])
def test_unfit_files_are_refused_and_the_certificate_in_force_stays(
        home: Home, damage: str, reason: str) -> None:
    tick = [0.0]
    cert = ServerCertificate(home, NAME, monotonic=lambda: tick[0])
    before = cert.current
    if damage == "garbage_cert":
        home.tls_cert(NAME).write_text("-----BEGIN CERTIFICATE-----\nnope\n")
    elif damage == "other_key":
        shutil.copy(home.tls_key("adapter-health"), home.tls_key(NAME))
    elif damage == "other_party":
        shutil.copy(home.tls_key("adapter-health"), home.tls_key(NAME))
        shutil.copy(home.tls_cert("adapter-health"), home.tls_cert(NAME))
    else:
        home.tls_key(NAME).unlink()
    tick[0] = 2.0
    assert cert._fetch() is None
    assert cert.current is before
    assert reason in cert.fault


def test_a_certificate_from_another_ca_is_refused(home: Home, tmp_path: Path) -> None:
    other = Home.at(tmp_path / "other")
    pki.init_pki(other, agencies=["police"])
    for path in (other.tls_key(NAME), other.tls_cert(NAME)):
        shutil.copy(path, home.pki_dir / path.name)
    with pytest.raises(CertificateRefused, match="not issued by the CA"):
        load_certificate(home, NAME, at=_now())


def test_a_certificate_not_valid_now_is_refused(home: Home) -> None:
    with pytest.raises(CertificateRefused, match="not now"):
        load_certificate(home, NAME, at=_now() + timedelta(days=3650))


def test_sighup_looks_at_once_and_faults_are_reported_as_they_change(home: Home) -> None:
    async def scenario() -> list[str]:
        trust = ReloadingTrustStore(home.trust_store, check_interval_s=3600)
        live = LiveCredentials(ServerCertificate(home, NAME, check_interval_s=3600), trust,
                               status_file=home.run_dir / f"{NAME}.credentials.json")
        faults: list[str] = []

        async def on_fault(fault: str) -> None:
            faults.append(fault)

        task = asyncio.create_task(live.watch(interval_s=3600, on_fault=on_fault))
        await asyncio.sleep(0)
        good = home.trust_store.read_text()
        home.trust_store.write_text("not toml [")
        live.trigger()  # what SIGHUP does: no waiting for the hour
        for _ in range(200):
            if faults and faults[-1]:
                break
            await asyncio.sleep(0.01)
        home.trust_store.write_text(good)
        live.trigger()
        for _ in range(200):
            if faults and not faults[-1]:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        return faults

    faults = asyncio.run(scenario())
    assert len(faults) == 2 and faults[0].startswith("trust store: ") and faults[1] == ""
    assert (home.run_dir / f"{NAME}.credentials.json").is_file()
