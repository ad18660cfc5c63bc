"""Helpers for the one-TOML-file-per-process configs, validated at start-up.

A bad config is a `ConfigError` that names the file and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file is missing, unreadable, or has a bad field."""

    def __init__(self, source: Path | str, field: str, problem: str) -> None:
        self.source = str(source)
        self.field = field
        super().__init__(f"{source}: field {field!r}: {problem}")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, or raise ConfigError saying why not."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(path, "<file>", "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "<file>", f"not valid TOML: {exc}") from None


class Fields:
    """Typed access to a config table; every error names the file and the dotted field."""

    def __init__(self, source: Path | str, table: Mapping[str, Any], prefix: str = "") -> None:
        self.source = source
        self.table = table
        self.prefix = prefix

    def _name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def get(self, key: str, kind: type[T], default: T | None = None) -> T:
        """The value at `key` of type `kind`, or `default` when absent (required when None)."""
        if key not in self.table:
            if default is None:
                raise ConfigError(self.source, self._name(key), "is required")
            return default
        value = self.table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                self.source, self._name(key), f"must be {kind.__name__}, got {type(value).__name__}"
            )
        return value

    def sub(self, key: str) -> Fields:
        """The nested table at `key` (empty when absent)."""
        value = self.table.get(key, {})
        if not isinstance(value, Mapping):
            raise ConfigError(self.source, self._name(key), "must be a table")
        return Fields(self.source, value, f"{self._name(key)}.")

    def unknown(self, allowed: set[str]) -> None:
        """Reject keys we do not know (a typo must not silently fall back to a default)."""
        extra = sorted(set(self.table) - allowed)
        if extra:
            raise ConfigError(self.source, self._name(extra[0]), "unknown setting")
