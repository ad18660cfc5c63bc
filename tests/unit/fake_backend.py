"""A stand-in for an agency's legacy system, loaded through the backend plug-in setting."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from agency_adapters.backend import Person, QueryIdentifiers, Record
from mash.vocab import Category


class LegacyBackend:
    """Knows nobody; remembers the options it was given."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def candidates(self, query: QueryIdentifiers) -> list[Person]:
        return []

    def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        return []

    def close(self) -> None:
        pass


def make(config: object, options: dict[str, Any]) -> LegacyBackend:
    return LegacyBackend(options)
