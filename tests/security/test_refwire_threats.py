"""Threats to the referral workflow's use of the broker: one test per threat.

A listening socket stands in for the broker (its port written where the CLI
looks for the running broker), so a test sees whether anything was asked at
all -- without a broker process.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker import referral_flow
from broker.referrals import SqliteReferralStore
from broker.rerating import Refetch
from mash.app.cli import main
from mash.home import Home
from mash.vocab import Agency, Category
from tests.policy_helpers import approve_demo_agreements

CHILD = "role=child,given_name=Poppy,family_name=Testerby,date_of_birth=2025-06-01"
TERMS = referral_flow.LookupTerms.of("child_protection_enquiry", "not_sought",
                                     "risk_of_significant_harm")


@pytest.fixture()
def approved_home(tmp_path: Path) -> Home:
    home = Home.at(tmp_path)
    home.ensure()
    approve_demo_agreements(home)
    return home


class StandInBroker:
    """Accepts and at once closes every connection, counting them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()  # refused at once: the client sees UNAVAILABLE without waiting

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture()
def listening_broker(approved_home: Home) -> Iterator[StandInBroker]:
    """A stand-in where the CLI will look for the running broker."""
    broker = StandInBroker()
    approved_home.run_dir.mkdir(parents=True, exist_ok=True)
    (approved_home.run_dir / "broker-mash-demo.port").write_text(str(broker.port))
    yield broker
    broker.close()


def _referral_with_terms(home: Home, referral_id: str, rag: str) -> None:
    assert main(["referral", "create", "--id", referral_id, "--source", "police", "--reason",
                 "synthetic", "--rag", rag, "--subject", CHILD, "--by", "sw-1",
                 "--home", str(home.root)]) == 0
    store = SqliteReferralStore.in_home(home)
    try:
        referral_flow.remember_terms(store, referral_id, "LK-EARLIER", TERMS,
                                     store.clock())
    finally:
        store.close()


def test_lowering_the_rating_never_contacts_the_broker(
        approved_home: Home, listening_broker: StandInBroker) -> None:
    _referral_with_terms(approved_home, "REF-S1", "red")
    assert main(["referral", "rerate", "REF-S1", "--rag", "green", "--reason", "clarified",
                 "--by", "sw-1", "--home", str(approved_home.root)]) == 0
    assert listening_broker.connections == 0


def test_no_refetch_records_the_raise_without_asking(
        approved_home: Home, listening_broker: StandInBroker) -> None:
    _referral_with_terms(approved_home, "REF-S2", "amber")
    assert main(["referral", "rerate", "REF-S2", "--rag", "red", "--reason", "escalated",
                 "--by", "sw-1", "--no-refetch", "--home", str(approved_home.root)]) == 0
    assert listening_broker.connections == 0


def test_raising_does_contact_the_broker(
        approved_home: Home, listening_broker: StandInBroker,
        capsys: pytest.CaptureFixture[str]) -> None:
    # The control for the two tests above: the same set-up, raised, does try the broker.
    from certs.pki import init_pki
    from identity.tokens import init_dev_issuer

    init_pki(approved_home, brokers=("mash-demo",), agencies=[])
    init_dev_issuer(approved_home)
    _referral_with_terms(approved_home, "REF-S3", "amber")
    code = main(["referral", "rerate", "REF-S3", "--rag", "red", "--reason", "escalated",
                 "--by", "sw-1", "--home", str(approved_home.root)])
    assert code == 1  # the stand-in never completes a TLS handshake
    assert listening_broker.connections > 0
    assert "rating recorded" in capsys.readouterr().err


def test_a_refetch_never_asks_an_agency_for_another_agency_s_categories(
        approved_home: Home) -> None:
    # One request carries every planned category; each category belongs to one agency, so
    # the broker's per-agency narrowing cannot hand one agency another's category.
    _referral_with_terms(approved_home, "REF-S4", "red")
    store = SqliteReferralStore.in_home(approved_home)
    try:
        referral = store.get("REF-S4")
    finally:
        store.close()
    plan = (Refetch(Agency.POLICE, (Category.POLICE_INTELLIGENCE,)),)
    request = referral_flow.refetch_request(referral, plan, TERMS)
    assert request is not None
    assert list(request.agencies) == ["police"]
    assert list(request.categories) == ["police_intelligence"]
