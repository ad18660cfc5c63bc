from pathlib import Path

import pytest

from agency_adapters.config import AdapterConfig
from agency_adapters.server import open_backend
from mash.config import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "adapter.toml"
    p.write_text(text)
    return p


def test_round_trip(tmp_path: Path) -> None:
    cfg = AdapterConfig.load(_write(tmp_path, f'agency = "police"\nhome = "{tmp_path}"\n'))
    cfg.write(tmp_path / "again.toml")
    assert AdapterConfig.load(tmp_path / "again.toml") == cfg


@pytest.mark.parametrize(("text", "field"), [
    ('agency = "polce"\nhome = "/x"\n', "agency"),
    ('agency = "police"\nhome = "/x"\nlisten = 7\n', "listen"),
    ('agency = "police"\nhome = "/x"\nlisen = "x"\n', "lisen"),
    ('agency = "police"\nhome = "/x"\ntrusted_brokers = []\n', "trusted_brokers"),
    ('agency = "police"\nhome = "/x"\nbackend = "mysystem"\n', "backend"),
    ('home = "/x"\n', "agency"),
])
def test_bad_config_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        AdapterConfig.load(_write(tmp_path, text))
    assert err.value.field == field


def test_plug_in_backend_factory_gets_its_options(tmp_path: Path) -> None:
    cfg = AdapterConfig.load(_write(tmp_path, (
        f'agency = "housing"\nhome = "{tmp_path}"\n'
        'backend = "tests.unit.fake_backend:make"\n[backend_options]\ndsn = "legacy://x"\n')))
    backend = open_backend(cfg)
    assert backend.backend.options == {"dsn": "legacy://x"}  # type: ignore[attr-defined]
