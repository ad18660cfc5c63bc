"""`RestBackend`: pupils from the middleware's searches, records from per-pupil endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from urllib.parse import quote

from agency_adapters.backend import (
    BackendError,
    BackendMisconfigured,
    BackendState,
    Person,
    QueryIdentifiers,
    Record,
)
from agency_adapters.http_source import JsonHttp, pick
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.rest.mapping import RecordSource, RestMapping, fill
from mash.vocab import Category

#: Pages followed at the most for one list.
MAX_PAGES = 10
#: Pupils kept at the most from one search (matching scores them).
MAX_PUPILS = 200


class RestBackend:
    """School middleware behind a REST/JSON API (an `AsyncAgencyBackend` and its view)."""

    #: a live system of record, not a copy
    data_as_of: str | None = None

    def __init__(self, http: JsonHttp, mapping: RestMapping) -> None:
        self.http = http
        self.mapping = mapping

    def view(self) -> RestBackend:
        """A live backend is its own view."""
        return self

    async def probe(self) -> BackendState:
        """A search that finds nobody answers: the middleware is up and accepts our key."""
        search = self.mapping.pupils.searches[0]
        await self._list(self.mapping.pupils.path, self.mapping.pupils.items,
                         self.mapping.pupils.next, {param: "0" for param in search}, pages=1)
        return BackendState(serving=True)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self.http.aclose()

    def name_frequencies(self) -> NameFrequencies | None:
        """Middleware gives no name counts: matching uses its flat weights."""
        return None

    async def candidates(self, query: QueryIdentifiers) -> list[Person]:
        """Pupils found by every search whose fields the query has, without duplicates."""
        runs = []
        for search in self.mapping.pupils.searches:
            values = {param: _query_value(query, field) for param, field in search.items()}
            if all(values.values()):
                runs.append(self._list(self.mapping.pupils.path, self.mapping.pupils.items,
                                       self.mapping.pupils.next, values))
        people: dict[str, Person] = {}
        for batch in await asyncio.gather(*runs):
            for item in batch[:MAX_PUPILS]:
                person = self._person(item)
                people.setdefault(person.person_id, person)
        return list(people.values())

    async def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        """The pupil's records in `categories`, newest first."""
        wanted = [s for s in self.mapping.records if s.category in categories]
        batches = await asyncio.gather(*(self._records(s, person_id) for s in wanted))
        records = [r for batch in batches for r in batch]
        records.sort(key=lambda r: r.occurred_on, reverse=True)
        return records

    # ------------------------------------------------------------------ internals

    async def _records(self, source: RecordSource, person_id: str) -> list[Record]:
        path = source.path.replace("{id}", quote(person_id, safe=""))
        out = []
        for item in await self._list(path, source.items, "", {}):
            out.append(Record(
                record_id=f"{source.category.value}/{pick(item, source.id)}",
                person_id=person_id, category=source.category,
                occurred_on=pick(item, source.date)[:10], summary=fill(source.summary, item),
                attributes={k: v for k, p in source.attributes.items() if (v := pick(item, p))}))
        return out

    async def _list(self, path: str, items: str, next_path: str, params: Mapping[str, str],
                    pages: int = MAX_PAGES) -> list[object]:
        found: list[object] = []
        url: str | None = path
        query: Mapping[str, str] = params
        for _ in range(pages):
            if url is None:
                break
            status, page = await self.http.get(url, query)
            if status == 404:
                raise BackendMisconfigured(f"the middleware has no endpoint {path.split('/')[0]!r}"
                                           " (HTTP 404)")
            if status >= 400:
                raise BackendError(f"the middleware refused a request to {path.split('/')[0]!r} "
                                   f"(HTTP {status})")
            listed = _at(page, items)
            if not isinstance(listed, list):
                raise BackendMisconfigured(f"the middleware's answer from {path.split('/')[0]!r} "
                                           f"has no list at {items or 'the top'!r}")
            found.extend(listed)
            following = pick(page, next_path) if next_path else ""
            url, query = (self.http.within(following) if following else None), {}
        return found

    def _person(self, item: object) -> Person:
        fields = self.mapping.pupils.fields
        value = {name: pick(item, path) for name, path in fields.items()}
        if not value.get("person_id"):
            raise BackendError("a pupil from the middleware has no id at "
                               f"{fields['person_id']!r}")
        others = value.get("other_names", "")
        return Person(
            person_id=value["person_id"], given_name=value.get("given_name", ""),
            family_name=value.get("family_name", ""),
            other_names=(others,) if others else (),
            date_of_birth=value.get("date_of_birth", "")[:10] or None,
            sex=self.mapping.pupils.sex_values.get(value.get("sex", ""), "unknown"),
            postcode=value.get("postcode", ""), address=value.get("address", ""),
            nhs_number=value.get("nhs_number", ""), upn=value.get("upn", ""))


def _query_value(query: QueryIdentifiers, field: str) -> str:
    value = getattr(query, field)
    return str(value).strip() if value else ""


def _at(page: object, path: str) -> object:
    node = page
    for part in path.split(".") if path else ():
        node = node.get(part) if isinstance(node, Mapping) else None
    return node
