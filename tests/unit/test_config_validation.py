"""Every process config refuses a bad file with the file, the line, the field and the problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agency_adapters.config import AdapterConfig
from broker.config import BrokerConfig
from console.config import ConsoleConfig
from identity.oidc_server import IdpConfig
from mash.config import ConfigError

Loader = Callable[[Path], Any]

BROKER = 'broker_id = "b1"\nhome = "/x"\ndev_mode = true\n'
ADAPTER = 'agency = "police"\nhome = "/x"\n'
CONSOLE = 'home = "/x"\nbroker_address = "b:1"\n[oidc]\ndiscovery_url = "http://i/"\n'
IDP = 'home = "/x"\n'


def _error(tmp_path: Path, load: Loader, text: str) -> ConfigError:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load(path)
    return raised.value


@pytest.mark.parametrize(("load", "text", "field", "line", "problem"), [
    (BrokerConfig.load, BROKER + "lisen = \"x\"\n", "lisen", 4,
     "unknown field (valid: broker_id, home, listen, policy_dir, max_message_bytes, json_logs, "
     "deadlines_ms, adapters, identity, dev_mode, research_collect_interval_s)"),
    (BrokerConfig.load, BROKER + "[[adapters]]\nagency = \"police\"\naddress = \"a:1\"\nport = 1\n",
     "adapters[0].port", 7, "unknown field (valid: agency, address, server_name)"),
    (AdapterConfig.load, ADAPTER + "[matching]\nhihg = 20.0\n", "matching.hihg", 4,
     "unknown field (valid: certain, high, possible, margin, high_without_dob, "
     "scale_bars_by_store_size, number_outweighs_given_name, model)"),
    (ConsoleConfig.load, CONSOLE + "secret = \"x\"\n", "oidc.secret", 5,
     "unknown field (valid: discovery_url, client_id)"),
    (IdpConfig.load, IDP + "[clients.c]\nredirect_uris = [\"http://x/\"]\ncertificate = \"c\"\n"
     "secret = 1\n", "clients.c.secret", 5, "unknown field (valid: redirect_uris, certificate)"),
])
def test_an_unknown_field_is_named_with_the_valid_ones(
        tmp_path: Path, load: Loader, text: str, field: str, line: int, problem: str) -> None:
    err = _error(tmp_path, load, text)
    assert (err.field, err.line, err.problem) == (field, line, problem)
    assert str(err) == f"{tmp_path / 'config.toml'}: line {line}: field {field!r}: {problem}"


@pytest.mark.parametrize(("load", "text", "field", "line", "problem"), [
    (BrokerConfig.load, BROKER + "listen = 7\n", "listen", 4,
     "expected a string, got a whole number"),
    (BrokerConfig.load, BROKER + "adapters = \"police\"\n", "adapters", 4,
     "expected a list of tables, got a string"),
    (BrokerConfig.load, BROKER + "[deadlines_ms]\nred = 10\n", "deadlines_ms.red", 5,
     "must be between 50 and 600000"),
    (BrokerConfig.load, BROKER + "[[adapters]]\nagency = \"polce\"\naddress = \"a:1\"\n",
     "adapters[0].agency", 5, "unknown Agency 'polce' (allowed: police, health, education, "
     "housing, childrens_social_care)"),
    (AdapterConfig.load, ADAPTER + "trusted_brokers = [\"b\", 3]\n", "trusted_brokers[1]", 3,
     "expected a string, got a whole number"),
    (AdapterConfig.load, ADAPTER + "json_logs = \"yes\"\n", "json_logs", 3,
     "expected true or false, got a string"),
    (AdapterConfig.load, ADAPTER + "backend_threads = 0\n", "backend_threads", 3,
     "must be at least 1"),
    (ConsoleConfig.load, "listen_port = 70000\n" + CONSOLE, "listen_port", 1,
     "must be between 0 and 65535"),
    (IdpConfig.load, IDP + "[clients.c]\nredirect_uris = []\ncertificate = \"c\"\n",
     "clients.c.redirect_uris", 3, "must have at least 1 entry"),
])
def test_a_wrong_type_or_value_is_named(
        tmp_path: Path, load: Loader, text: str, field: str, line: int, problem: str) -> None:
    err = _error(tmp_path, load, text)
    assert (err.field, err.line, err.problem) == (field, line, problem)


@pytest.mark.parametrize(("load", "text", "field"), [
    (BrokerConfig.load, 'home = "/x"\n', "broker_id"),
    (BrokerConfig.load, BROKER + "[identity]\nissuer = \"i\"\njwks_file = \"j\"\n",
     "identity.audience"),
    (AdapterConfig.load, 'home = "/x"\n', "agency"),
    (ConsoleConfig.load, 'home = "/x"\nbroker_address = "b:1"\n', "oidc"),
    (IdpConfig.load, "port = 1\n", "home"),
])
def test_a_missing_field_is_named(tmp_path: Path, load: Loader, text: str, field: str) -> None:
    err = _error(tmp_path, load, text)
    assert (err.field, err.problem) == (field, "is required")


def test_a_file_that_is_not_toml_names_the_line(tmp_path: Path) -> None:
    err = _error(tmp_path, BrokerConfig.load, BROKER + "listen = \n")
    assert err.field == "<file>"
    assert err.line == 4
    assert "not valid TOML" in err.problem
