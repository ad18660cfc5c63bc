"""Map dotted TOML field paths to line numbers, so errors can name file, line and field.

`tomllib` returns plain data without positions; agreement files are simple
(tables, arrays of tables, `key = value`), so a line scan recovers where each
key and table was written. A field not found maps to its nearest written parent.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


class FieldLines:
    """Line numbers (1-based) of the tables and keys of one TOML text."""

    def __init__(self, text: str) -> None:
        self._lines: dict[str, int] = {}
        table = ""
        array_counts: dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue
            header = _HEADER.match(line)
            if header:
                name = _unquote(header.group(2))
                if header.group(1) == "[[":
                    index = array_counts.get(name, 0)
                    array_counts[name] = index + 1
                    table = f"{name}[{index}]"
                else:
                    table = name
                self._lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                full = f"{table}.{_unquote(key.group(1))}" if table else _unquote(key.group(1))
                self._lines.setdefault(full, number)

    def line_of(self, field: str) -> int:
        """The line where `field` (or its nearest written parent) appears; 0 if nowhere."""
        probe = field
        while probe:
            if probe in self._lines:
                return self._lines[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return 0


def _unquote(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))
