"""Every TOML file we write reads back through tomllib as what was written (`mash.tomlwrite`)."""

import os
import stat
import tomllib
from pathlib import Path

from broker.config import AdapterEndpoint, BrokerConfig
from mash import tomlwrite
from mash.grpc_server import write_port_file
from mash.home import Home
from mash.vocab import Agency


def test_a_home_path_with_an_emoji_roundtrips(tmp_path: Path) -> None:
    path = tmp_path / "broker.toml"
    config = BrokerConfig(broker_id="b1", home=Home(Path("/srv/😀")),
                          adapters=(AdapterEndpoint(Agency.POLICE, "127.0.0.1:1"),), dev_mode=True)
    config.write(path)
    assert tomllib.loads(path.read_text(encoding="utf-8"))["home"] == "/srv/😀"
    assert BrokerConfig.load(path) == config


def test_quotes_backslashes_and_control_characters_roundtrip() -> None:
    text = 'a "quoted" \\ back\tslash\x7f\x00 new\nline'
    assert tomllib.loads(tomlwrite.dumps({"v": text}, header=["a comment"]))["v"] == text


def test_writes_are_atomic_with_no_temporary_file_left(tmp_path: Path) -> None:
    path = tmp_path / "run" / "broker.port"
    write_port_file(path, 4242)
    write_port_file(path, 4343)
    assert path.read_text() == "4343\n"
    assert [p.name for p in path.parent.iterdir()] == ["broker.port"]
    tomlwrite.write(tmp_path / "run" / "x.toml", {"a": 1})
    umask = os.umask(0)  # (processes may narrow it: the mode asked for is what umask allows)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "run" / "x.toml").stat().st_mode) == 0o644 & ~umask
    assert sorted(p.name for p in path.parent.iterdir()) == ["broker.port", "x.toml"]
