"""`FhirBackend`: candidates by PDS-style Patient search, records by mapped searches."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping

from agency_adapters.backend import BackendState, Person, QueryIdentifiers, Record
from agency_adapters.fhir.client import FhirClient, FhirJson, TooManyMatches
from agency_adapters.fhir.mapping import FhirMapping, RecordSearch
from agency_adapters.http_source import entries, pick
from agency_adapters.matching.frequencies import NameFrequencies
from mash.logs import get_logger
from mash.vocab import Category

log = get_logger("adapter")

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
_SEX = {"female": "female", "male": "male"}


class FhirBackend:
    """A health system of record behind a FHIR R4 API (an `AsyncAgencyBackend` and its view)."""

    #: a live system of record, not a copy
    data_as_of: str | None = None

    def __init__(self, client: FhirClient, mapping: FhirMapping) -> None:
        self.client = client
        self.mapping = mapping

    # ------------------------------------------------------------------ AsyncAgencyBackend

    def view(self) -> FhirBackend:
        """A live backend is its own view."""
        return self

    async def probe(self) -> BackendState:
        """The server answers its CapabilityStatement."""
        await self.client.capability()
        return BackendState(serving=True)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self.client.aclose()

    def name_frequencies(self) -> NameFrequencies | None:
        """A FHIR API gives no name counts: matching uses its flat weights."""
        return None

    # ------------------------------------------------------------------ AgencyView

    async def candidates(self, query: QueryIdentifiers) -> list[Person]:
        """Patients found by NHS number and by a demographic search, scored by the server."""
        searches = []
        nhs = "".join(query.nhs_number.split())
        if nhs.isdigit() and len(nhs) == 10:
            searches.append({"identifier": f"{NHS_NUMBER_SYSTEM}|{nhs}"})
        demographic = self._demographic(query)
        if demographic:
            searches.append(demographic)
        found = await asyncio.gather(*(self._patients(p) for p in searches))
        people: dict[str, Person] = {}
        for batch in found:
            for person in batch:
                people.setdefault(person.person_id, person)
        return list(people.values())

    async def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        """The person's records in `categories`, from the mapped searches, newest first."""
        searches = self.mapping.for_categories(frozenset(categories))
        if not searches:
            return []
        nhs = ""
        if any(s.by == "nhs_number" for s in searches):
            patient = await self.client.read("Patient", person_id)
            nhs = _nhs_number(patient)
        results = await asyncio.gather(*(self._records(s, person_id, nhs) for s in searches))
        records = [r for batch in results for r in batch]
        records.sort(key=lambda r: r.occurred_on, reverse=True)
        return records

    # ------------------------------------------------------------------ internals

    def _demographic(self, query: QueryIdentifiers) -> dict[str, str]:
        # PDS needs a family name or a given name with a date of birth to search at all.
        if not (query.family_name or query.given_name) or not query.date_of_birth:
            return {}
        params = {"birthdate": f"eq{query.date_of_birth}",
                  "_max-results": str(self.mapping.patient.max_results)}
        if query.family_name:
            params["family"] = query.family_name
        if query.given_name:
            params["given"] = query.given_name.split()[0]
        if query.sex in _SEX:
            params["gender"] = query.sex
        if query.postcode:
            params["address-postalcode"] = query.postcode
        if self.mapping.patient.fuzzy_match:
            params["_fuzzy-match"] = "true"
        return params

    async def _patients(self, params: Mapping[str, str]) -> list[Person]:
        try:
            hits = await self.client.search("Patient", params)
        except TooManyMatches:
            # Logged without the search terms: they are a person's identifiers.
            log.info("fhir_too_many_matches", searched_by=sorted(params))
            return []
        people = []
        for hit in hits:
            if hit.score is not None and hit.score < self.mapping.patient.min_score:
                continue
            people.append(_person(hit.resource))
        return people

    async def _records(self, search: RecordSearch, person_id: str, nhs: str) -> list[Record]:
        if search.by == "nhs_number":
            if not nhs:
                return []
            params = {"patient:identifier": f"{NHS_NUMBER_SYSTEM}|{nhs}", **search.params}
        else:
            params = {"patient": f"Patient/{person_id}", **search.params}
        out = []
        for hit in await self.client.search(search.resource, params):
            resource = hit.resource
            if not search.keeps(resource):
                continue
            occurred = pick(resource, search.date)[:10]
            out.append(Record(
                record_id=f"{search.resource}/{resource.get('id', '')}", person_id=person_id,
                category=search.category, occurred_on=occurred,
                summary=pick(resource, search.summary),
                attributes={k: v for k, path in search.attributes.items()
                            if (v := pick(resource, path))}))
        return out


def _person(patient: FhirJson) -> Person:
    """A validated FHIR Patient as a candidate (the model guarantees the shapes read here)."""
    names = [n for n in entries(patient.get("name")) if isinstance(n, Mapping)]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = [str(g) for g in entries(official.get("given"))]
    others = tuple(str(n.get("family", "")) for n in names
                   if n is not official and n.get("family"))
    address = next((a for a in entries(patient.get("address")) if isinstance(a, Mapping)), {})
    lines = entries(address.get("line"))
    birth = patient.get("birthDate")
    return Person(
        person_id=str(patient.get("id", "")),
        given_name=" ".join(given),
        family_name=str(official.get("family", "")),
        other_names=others,
        date_of_birth=birth if isinstance(birth, str) and birth else None,
        sex=_SEX.get(str(patient.get("gender", "")), "unknown"),
        # restricted patients come back without an address
        postcode=str(address.get("postalCode", "")),
        address=str(lines[0]) if lines else "",
        nhs_number=_nhs_number(patient),
    )


def _nhs_number(patient: FhirJson) -> str:
    for ident in entries(patient.get("identifier")):
        if isinstance(ident, Mapping) and ident.get("system") == NHS_NUMBER_SYSTEM:
            return str(ident.get("value", ""))
    return ""
