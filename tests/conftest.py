"""Shared fixtures: a prepared home and real broker + adapter processes over mTLS (integration)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broker.client import BrokerClient
from mash.cluster import Cluster, prepare_home
from mash.home import Home
from mash.identity.tokens import issue_token
from mash.vocab import Role

PEOPLE = 400


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
