"""Shared fixtures: a prepared home and real broker + adapter processes over mTLS (integration)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cluster import Cluster, prepare_home
from mash.clock import london_today
from mash.home import Home
from mash.vocab import Role
from tests.clockhook import mash_test_clock
from tests.clockhook.mash_test_clock import OFFSET_ENV
from tests.clocks import CLOCKS
from tests.postgres import PostgresServer, Warehouse, make_warehouse, postgres_server

PEOPLE = 400

# Property tests: no per-example deadline (a loaded 2-core CI machine is slow, not wrong), and
# in CI the same examples every run, so a failure is reproducible rather than a flake.
settings.register_profile("mash", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("mash-ci", parent=settings.get_profile("mash"), derandomize=True,
                          print_blob=True)
settings.load_profile("mash-ci" if os.environ.get("CI") else "mash")


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--clock NAME`: run with every process moved to one of the instants in tests/clocks.py."""
    parser.addoption("--clock", default=None, choices=sorted(CLOCKS),
                     help="move this run (and every process it starts) to a named instant")


def pytest_configure(config: pytest.Config) -> None:
    """Start the fixed-clock run's time travel before any test code reads the clock."""
    config.addinivalue_line("markers", "clock_sensitive: depends on the date or time; "
                                       "`make test` also runs it under every clock in tests/clocks.py")
    name = config.getoption("--clock")
    if not name:
        return
    if OFFSET_ENV not in os.environ:  # the first process of the run fixes the offset for all
        real = datetime.now(UTC)
        target = CLOCKS[name](london_today(lambda: real))
        os.environ[OFFSET_ENV] = str((target - real).total_seconds())
        hook = str(Path(__file__).parent / "clockhook")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [hook, os.environ.get("PYTHONPATH")]))
    mash_test_clock.start(float(os.environ[OFFSET_ENV]))


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say which instant a fixed-clock run is at."""
    name = config.getoption("--clock")
    return f"clock: {name} ({datetime.now(UTC).isoformat()})" if name else None


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """One prepared home per test worker: PKI, IdP, synthetic data, approved agreements."""
    h = Home.at(tmp_path_factory.mktemp("mash-home"))
    prepare_home(h, people=PEOPLE, seed=7)
    return h


@pytest.fixture(scope="module")
def cluster(home: Home) -> Iterator[Cluster]:
    """The broker and the four partner adapters, as separate processes."""
    with Cluster(home) as c:
        yield c


@pytest.fixture()
def social_worker_token(home: Home) -> str:
    """A valid token for a MASH social worker."""
    return issue_token(home, sub="sw-104", role=Role.MASH_SOCIAL_WORKER)


@pytest.fixture()
def client(home: Home, cluster: Cluster, social_worker_token: str) -> Iterator[BrokerClient]:
    """A staff client of the running broker."""
    with BrokerClient(home, cluster.broker.address, social_worker_token) as c:
        yield c


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for this test worker (skipped only where it is not installed)."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def warehouse(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The synthetic social care warehouse of the `home` population (same seed and size)."""
    return make_warehouse(postgres, tmp_path_factory.mktemp("warehouse"), people=PEOPLE, seed=7)
