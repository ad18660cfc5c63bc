"""`mash match train` / `mash match explain`, and the adapter config that names the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from agency_adapters.config import AdapterConfig
from agency_adapters.matching import model as model_file
from agency_adapters.server import open_match_model
from mash.app.cli import main
from mash.config import ConfigError
from tests.unit.match_stores import store_with_duplicates


def _config(tmp_path: Path, extra: str = "") -> Path:
    store = store_with_duplicates(tmp_path / "health.sqlite", n=500)
    store.close()
    path = tmp_path / "adapter.toml"
    path.write_text(f'agency = "health"\nhome = "{tmp_path}"\n'
                    f'store = "{tmp_path / "health.sqlite"}"\n{extra}')
    return path


def test_config_names_the_model_and_round_trips(tmp_path: Path) -> None:
    cfg = AdapterConfig.load(_config(tmp_path, f'[matching]\nhigh = 22\nmodel = "{tmp_path}/m.json"\n'))
    assert cfg.match_model == tmp_path / "m.json"
    assert cfg.matching == {"high": 22.0}
    cfg.write(tmp_path / "again.toml")
    assert AdapterConfig.load(tmp_path / "again.toml") == cfg


def test_a_named_model_that_cannot_be_read_stops_start_up(tmp_path: Path) -> None:
    cfg = AdapterConfig.load(_config(tmp_path, f'[matching]\nmodel = "{tmp_path}/absent.json"\n'))
    with pytest.raises(ConfigError) as err:
        open_match_model(cfg)
    assert err.value.field == "matching.model"
    assert open_match_model(AdapterConfig.load(_config(tmp_path))) is None  # shipped weights


def test_train_then_explain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.json"
    config = _config(tmp_path, f'[matching]\nmodel = "{out}"\n')
    assert main(["match", "train", "--config", str(config), "--u-pairs", "30000",
                 "--em-pairs", "30000", "--sample", "800"]) == 0
    printed = capsys.readouterr().out
    assert "EM on pairs sharing nhs_number" in printed and "-- used" in printed
    model = model_file.load(out)
    assert model.source == "trained" and "dob" in model.trained["m_trained"]
    assert f"model {model.model_id()} written to {out}" in printed

    assert main(["match", "explain", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    assert f"model {model.model_id()} (trained)" in table
    swapped = next(line for line in table.splitlines() if line.startswith("dob        swapped"))
    assert f"{model.weight('dob', 'swapped'):+.2f}" in swapped

    assert main(["match", "explain", "--config", str(config), "--given", "Zz", "--family",
                 "Nobody", "--dob", "1901-01-01"]) == 0
    assert "answer: none" in capsys.readouterr().out


def test_explain_says_why_a_pair_scored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    from agency_adapters.sqlite_store import SqliteAgencyStore

    with SqliteAgencyStore(tmp_path / "health.sqlite") as s:
        p = next(s.iter_people())
    assert main(["match", "explain", "--config", str(config), "--given", p.given_name,
                 "--family", p.family_name, "--dob", p.date_of_birth or "", "--top", "1"]) == 0
    text = capsys.readouterr().out
    assert "shipped weights" in text
    assert f"{p.person_id}: " in text
    assert "dob        exact" in text and "given      exact" in text


def test_train_needs_somewhere_to_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["match", "train", "--config", str(_config(tmp_path))]) == 2
    assert "--out" in capsys.readouterr().err
