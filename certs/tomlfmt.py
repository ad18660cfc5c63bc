"""The two TOML value writers our files need (tomllib reads; the stdlib has no writer)."""

from __future__ import annotations

from datetime import UTC, datetime


def toml_string(value: str) -> str:
    """A TOML basic string: quote, backslash, control characters and DEL escaped."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_datetime(value: datetime) -> str:
    """A TOML offset date-time in UTC, to the second."""
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
