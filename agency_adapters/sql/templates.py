"""Record summaries from column values: `{column}` and `{column|text when empty}`.

Deliberately tiny (no attribute access, no format specs, no expressions): a mapping
file names columns, and nothing in it can reach into Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([^{}]*))?\}")
_STRAY = re.compile(r"[{}]")


class TemplateError(ValueError):
    """A summary template is malformed."""


def as_text(value: object) -> str:
    """A column value as text: dates as YYYY-MM-DD, None as ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


@dataclass(frozen=True)
class Template:
    """A parsed summary template."""

    text: str
    fields: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        """Parse `text`, or raise `TemplateError` saying what is wrong."""
        fields = tuple(dict.fromkeys(m.group(1) for m in _FIELD.finditer(text)))
        leftover = _FIELD.sub("", text)
        if _STRAY.search(leftover):
            raise TemplateError(f"template {text!r}: braces must enclose a column name, "
                                "as {column} or {column|text when empty}")
        return cls(text, fields)

    def render(self, row: Mapping[str, object]) -> str:
        """The template filled from `row` (a missing or empty value takes its fallback)."""
        def fill(m: re.Match[str]) -> str:
            value = as_text(row.get(m.group(1)))
            return value if value else (m.group(2) or "")
        return _FIELD.sub(fill, self.text)
