"""Every TOML file mash-hub writes: `tomli-w` makes the text, `mash.files` writes it atomically.

`tomllib` reads what this writes, for any string (emoji, quotes, control characters)
and for UTC date-times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import tomli_w

from mash.files import PUBLIC_MODE, write_text


def _plain(value: object) -> object:
    """`value` with paths as strings and date-times in UTC to the second (what TOML holds)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(microsecond=0)
    return value


def dumps(data: Mapping[str, object], *, header: Iterable[str] = ()) -> str:
    """TOML text for `data`, after `header` lines written as `# ` comments."""
    comments = "".join(f"# {line}\n" for line in header)
    return comments + tomli_w.dumps({str(k): _plain(v) for k, v in data.items()})


def write(path: Path, data: Mapping[str, object], *, header: Iterable[str] = (),
          mode: int = PUBLIC_MODE) -> None:
    """Write `data` as TOML to `path` atomically."""
    write_text(path, dumps(data, header=header), mode=mode)
