"""Canonical JSON for everything hashed or signed: RFC 8785 (JSON Canonicalization Scheme).

One specification, one implementation (the `rfc8785` package): object keys sorted by
their UTF-16 code units, no insignificant whitespace, strings with the minimal escapes
and UTF-8 kept as is, numbers as ECMAScript writes them (`1.0` is `1`). Values it cannot
represent exactly are refused with `CanonicalizationError` (a `ValueError`): NaN and
infinities, integers beyond +-(2**53 - 1), lone surrogates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import rfc8785
from rfc8785 import CanonicalizationError

__all__ = ["CanonicalizationError", "JsonValue", "canonical_bytes", "canonical_json"]

#: What canonical JSON can hold.
JsonValue: TypeAlias = (
    "None | bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue]")


def canonical_bytes(value: JsonValue) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of `value` (what a hash or signature covers)."""
    return rfc8785.dumps(value)


def canonical_json(value: JsonValue) -> str:
    """The RFC 8785 canonical JSON text of `value`."""
    return canonical_bytes(value).decode("utf-8")
