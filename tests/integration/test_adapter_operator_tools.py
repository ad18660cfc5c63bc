"""`mash adapter init`, `check` (one exit code per failure) and `status`, as an operator runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from agency_adapters.config import AdapterConfig
from agency_adapters.extract.template import schema_text, write_extract
from agency_adapters.operator.check import Exit, exit_code, run_checks
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.home import Home
from mash.vocab import Agency
from tests.postgres import READER, Warehouse

pytestmark = pytest.mark.integration

CSC = Agency.CHILDRENS_SOCIAL_CARE


def _mash(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mash.app", *map(str, args)], capture_output=True,
                          text=True, timeout=120, check=False)


def _write(config: AdapterConfig, folder: Path) -> Path:
    path = folder / f"{config.name}.toml"
    config.write(path)
    return path


def _sql_config(home: Home, warehouse: Warehouse, **options: object) -> AdapterConfig:
    return AdapterConfig(agency=CSC, home=home, store=home.agency_store(CSC), backend="sql",
                         backend_options={**warehouse.backend_options(), **options})


def test_init_writes_a_commented_config_that_loads(tmp_path: Path) -> None:
    done = _mash("adapter", "init", "--agency", "childrens_social_care", "--backend", "sql",
                 "--home", tmp_path / "adapter")
    assert done.returncode == 0, done.stderr
    config_path = tmp_path / "adapter" / "adapter.toml"
    assert "# mash-hub adapter for childrens_social_care" in config_path.read_text()
    config = AdapterConfig.load(config_path)
    assert config.backend == "sql" and config.trusted_brokers == ("mash-demo",)
    assert Path(config.backend_options["mapping"]).is_file()
    assert (tmp_path / "adapter" / "secrets").stat().st_mode & 0o077 == 0
    again = _mash("adapter", "init", "--agency", "childrens_social_care", "--backend", "sql",
                  "--home", tmp_path / "adapter")
    assert again.returncode == 2 and "exists" in again.stderr and "--force" in again.stderr
    extract = _mash("adapter", "init", "--agency", "police", "--backend", "extract",
                    "--home", tmp_path / "police", "--broker", "mash-leeds")
    assert extract.returncode == 0, extract.stderr
    police = AdapterConfig.load(tmp_path / "police" / "adapter.toml")
    assert police.trusted_brokers == ("mash-leeds",)
    assert Path(police.backend_options["incoming"]).is_dir()
    fhir = _mash("adapter", "init", "--agency", "health", "--backend", "fhir",
                 "--home", tmp_path / "health")
    assert fhir.returncode == 0, fhir.stderr
    assert AdapterConfig.load(tmp_path / "health" / "adapter.toml").backend == "fhir"
    rest = _mash("adapter", "init", "--agency", "education", "--backend", "rest",
                 "--home", tmp_path / "education")
    assert rest.returncode == 0, rest.stderr
    assert AdapterConfig.load(tmp_path / "education" / "adapter.toml").backend == "rest"
    research = _mash("adapter", "init", "--agency", "police", "--backend", "research",
                     "--home", tmp_path / "research")
    assert research.returncode == 0, research.stderr
    queued = AdapterConfig.load(tmp_path / "research" / "adapter.toml")
    assert queued.backend == "research"
    assert queued.backend_options["alert_minutes"] == 60
    assert str(queued.backend_options["queue"]).endswith("research-police.sqlite")


def test_check_passes_a_ready_adapter_and_prints_a_line_per_check(
        home: Home, tmp_path: Path) -> None:
    config = AdapterConfig(agency=Agency.POLICE, home=home, store=home.agency_store(Agency.POLICE))
    done = _mash("adapter", "check", "--config", _write(config, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0].split(" ", 1)[1].strip() for line in lines[:-1]] == [
        "keys", "certificate", "trust store", "policy", "audit log", "backend",
        "sample match", "clock"]
    assert lines[-1] == "adapter-police: ready"
    assert "sample match: a sample person is found again" in done.stdout


def test_each_failure_has_its_own_exit_code(home: Home, tmp_path: Path) -> None:
    police = AdapterConfig(agency=Agency.POLICE, home=home, store=home.agency_store(Agency.POLICE))
    # a broker nobody pinned: the trust store check fails
    untrusted = _mash("adapter", "check", "--config",
                      _write(replace(police, trusted_brokers=("mash-elsewhere",)), tmp_path))
    assert untrusted.returncode == Exit.TRUST_STORE
    assert "no valid query-signing key pinned for broker mash-elsewhere" in untrusted.stdout
    # an agreement changed since it was approved: policy
    altered = tmp_path / "agreements"
    shutil.copytree(Path(__file__).resolve().parents[2] / "policy" / "agreements", altered,
                    ignore=shutil.ignore_patterns("scenarios"))
    agreement = next(altered.glob("*police*.toml"))
    agreement.write_text(agreement.read_text() + "\n# edited after approval\n")
    unapproved = _mash("adapter", "check", "--config",
                       _write(replace(police, policy_dir=altered), tmp_path))
    assert unapproved.returncode == Exit.POLICY, unapproved.stdout
    assert "every answer would be withheld" in unapproved.stdout
    # another adapter's certificate in place of ours: the certificate check
    copy = Home.at(tmp_path / "home")
    shutil.copytree(home.root / "pki", copy.root / "pki")
    shutil.copy(home.tls_cert("adapter-health"), copy.tls_cert("adapter-police"))
    wrong = _mash("adapter", "check", "--config", _write(replace(police, home=copy), tmp_path))
    assert wrong.returncode == Exit.CERTIFICATE
    assert "does not name mash://adapter/police" in wrong.stdout
    # no store at all: the backend cannot be reached
    gone = _mash("adapter", "check", "--config",
                 _write(replace(police, store=tmp_path / "nowhere.sqlite"), tmp_path))
    assert gone.returncode == Exit.BACKEND_UNREACHABLE and "nowhere.sqlite" in gone.stdout


def test_sql_backend_failures_have_their_own_exit_codes(
        home: Home, warehouse: Warehouse, tmp_path: Path) -> None:
    ready = _mash("adapter", "check", "--config",
                  _write(_sql_config(home, warehouse), tmp_path))
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert "the account is read-only, the mapping fits the live schema" in ready.stdout
    assert "from the database's clock" in ready.stdout
    writable = _mash("adapter", "check", "--config", _write(replace(
        _sql_config(home, warehouse), backend_options=warehouse.backend_options("mash_kit")),
        tmp_path))
    assert writable.returncode == Exit.BACKEND_WRITABLE, writable.stdout
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(warehouse.mapping.read_text().replace('family_name = "surname"',
                                                             'family_name = "last_name"'))
    mismatch = _mash("adapter", "check", "--config",
                     _write(_sql_config(home, warehouse, mapping=str(mapping)), tmp_path))
    assert mismatch.returncode == Exit.MAPPING
    assert "people.family_name: column 'last_name' not found" in mismatch.stdout
    url = str(warehouse.backend_options()["url"]).replace(f":{warehouse.server.port}/", ":1/")
    down = _mash("adapter", "check", "--config",
                 _write(_sql_config(home, warehouse, url=url), tmp_path))
    assert down.returncode == Exit.BACKEND_UNREACHABLE and "cannot reach" in down.stdout


def test_an_empty_key_table_fails_the_sample_match(
        home: Home, warehouse: Warehouse, tmp_path: Path) -> None:
    admin = warehouse.server.admin_engine(warehouse.database)
    with admin.connect() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS empty_kit"))
        for name in ("match_keys", "name_freq", "build_info"):
            conn.execute(text(f"CREATE TABLE IF NOT EXISTS empty_kit.{name} "
                              f"(LIKE mash_kit.{name})"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA empty_kit TO {READER}"))
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA empty_kit TO {READER}"))
    admin.dispose()
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(warehouse.mapping.read_text().replace('schema = "mash_kit"',
                                                             'schema = "empty_kit"'))
    stale = _mash("adapter", "check", "--config",
                  _write(_sql_config(home, warehouse, mapping=str(mapping)), tmp_path))
    assert stale.returncode == Exit.SAMPLE_MATCH, stale.stdout
    assert "is the key table current (mash adapter build-keys)?" in stale.stdout


def test_a_clock_far_from_the_databases_fails(home: Home, warehouse: Warehouse) -> None:
    config = _sql_config(home, warehouse)
    late = list(run_checks(config, now=lambda: datetime.now(UTC) + timedelta(minutes=10)))
    clock = next(r for r in late if r.name == "clock")
    assert clock.code is Exit.CLOCK_SKEW and "from the database's clock" in clock.detail
    assert exit_code(late) == Exit.CLOCK_SKEW


def test_an_extract_that_would_be_refused_fails_the_mapping_check(
        home: Home, tmp_path: Path) -> None:
    schema = tmp_path / "schema.toml"
    schema.write_text(schema_text(Agency.POLICE))
    incoming = tmp_path / "incoming"
    with SqliteAgencyStore(home.agency_store(Agency.POLICE)) as store:
        write_extract(store, incoming, Agency.POLICE, datetime.now(UTC).isoformat())
    config = AdapterConfig(agency=Agency.POLICE, home=home, store=home.agency_store(Agency.POLICE),
                           backend="extract", backend_options={
                               "schema": str(schema), "incoming": str(incoming),
                               "work": str(tmp_path / "work")})
    good = _mash("adapter", "check", "--config", _write(config, tmp_path))
    assert good.returncode == 0, good.stdout
    assert "the waiting extract passes" in good.stdout
    assert (incoming / "extract.ready").exists(), "checking takes nothing from the folder"
    people = incoming / "people.csv"
    people.write_text(people.read_text().replace("person_ref,", "ref,", 1))
    bad = _mash("adapter", "check", "--config", _write(config, tmp_path))
    assert bad.returncode == Exit.MAPPING
    assert "header column 1 is 'ref'" in bad.stdout


def test_status_reads_the_running_adapters_health_file(home: Home, tmp_path: Path) -> None:
    copy = Home.at(tmp_path / "h")
    config = AdapterConfig(agency=Agency.POLICE, home=copy, store=home.agency_store(Agency.POLICE))
    path = _write(config, tmp_path)
    missing = _mash("adapter", "status", "--config", path)
    assert missing.returncode == 1 and "is it running?" in missing.stderr
    copy.run_dir.mkdir(parents=True)
    status = {"adapter": "adapter-police", "serving": False, "updated_at": "now",
              "components": {"backend": {"serving": False, "fault": "backend_unavailable: x",
                                         "data_as_of": None}}}
    (copy.run_dir / "adapter-police.health.json").write_text(json.dumps(status))
    down = _mash("adapter", "status", "--config", path)
    assert down.returncode == 1 and "backend: NOT serving: backend_unavailable: x" in down.stdout
