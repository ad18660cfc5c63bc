"""Match one subject's identifiers against an agency store: band, score, and the person.

The result names a person only in bands `certain` and `high`; in `possible`
and `none` `person_id` is None, so a caller cannot disclose records for a
match it is not sure of -- the safe behaviour is the default one. More than
one strong candidate is never resolved by guessing: it is `possible`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol, runtime_checkable

from agency_adapters.backend import AgencyBackend, Person, QueryIdentifiers
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.matching.model import MatchModel
from agency_adapters.matching.normalise import (
    name_tokens,
    normalise_nhs_number,
    normalise_postcode,
    normalise_sex,
    normalise_upn,
    parse_dob,
)
from agency_adapters.matching.scoring import (
    DOB_AGREES,
    Comparison,
    NameBound,
    PreparedQuery,
    bounds_without_names,
    compare,
    dob_level,
    prepare,
)
from mash.vocab import MatchBand


class MatchingError(Exception):
    """Base class of matching errors."""


class InvalidThresholds(MatchingError):
    """Match thresholds are not ordered possible <= high <= certain, or the margin is negative."""


#: How many people the bars were set for: the generated reference population, on which
#: `high`, `high_without_dob` and `certain` were chosen and checked (docs/matching.md).
REFERENCE_PEOPLE = 1_000_000
#: The lowest `high` comes down to in a small store (bits; never below `possible`). Above
#: the most a stranger with the same given name and date of birth can score, surname and
#: address different (7 + 4 rarity + 12 - 3 - 3 + 0.5 = 17.5): at 16 a generated store of
#: 32,000 people answered two such people not held sure (docs/matching.md, "Bars that
#: follow the store's size").
SCALED_BAR_FLOOR = 18.0


@dataclass(frozen=True)
class MatchThresholds:
    """Score thresholds (in bits, see `scoring`) that decide the band; configurable per adapter.

    - `certain`: a valid NHS number or UPN agrees, no identifier conflicts, and the total score
      (identifier plus corroborating name/DOB evidence) reaches this.
    - `high`: the total reaches this without an identifier.
    - `possible`: the total reaches this (only that a match may exist is disclosed).
    - `margin`: the best candidate must lead the runner-up by at least this many bits for
      `certain`/`high`; otherwise two people are plausible and the band is `possible`.
    - `high_without_dob`: when no date of birth can be compared (missing on either side),
      `high` needs both names and the full postcode to agree and the total to reach
      max(`high`, this): names rare enough at one address. A common name at an address
      stays `possible`.
    - `scale_bars_by_store_size`: `high` is set for a store of `REFERENCE_PEOPLE`; in a
      smaller store it comes down by the prior odds (`for_store`). False keeps it as set
      whatever the store's size.
    - `number_outweighs_given_name` (off unless an IG lead turns it on): a verified
      identifier with the date of birth exactly and the surname outweighs a wholly
      different given name (`high`, never `certain`) when no twin or sibling who could have
      given the number is held (`decide`). Off: a different given name is never sure, so a
      twin the agency does not hold, referred with the held twin's number, is never
      answered as the held twin.
    """

    certain: float = 35.0
    high: float = 20.0
    possible: float = 10.0
    margin: float = 6.0
    high_without_dob: float = 24.0
    scale_bars_by_store_size: bool = True
    number_outweighs_given_name: bool = False

    def __post_init__(self) -> None:
        if not (self.possible <= self.high <= self.certain) or self.margin < 0:
            raise InvalidThresholds(
                f"need possible <= high <= certain and margin >= 0, got {self}")

    def store_shift(self, people: int | None) -> float:
        """Bits by which `high` comes down for a store of `people`.

        Fellegi-Sunter: a candidate's posterior log2-odds is its weight plus log2 of the
        prior odds that a given record is the person asked for, about 1/N in a store of N
        people. The bars were set for `REFERENCE_PEOPLE`, so a store of N people needs
        log2(REFERENCE_PEOPLE / N) bits less for the same certainty. 0 when scaling is off,
        the size is unknown (a backend that cannot count its people: fail closed), or the
        store is at least as large as the reference.
        """
        if not self.scale_bars_by_store_size or people is None or people <= 0:
            return 0.0
        return max(0.0, math.log2(REFERENCE_PEOPLE / people))

    def for_store(self, people: int | None) -> MatchThresholds:
        """The bars in force for a store of `people` (None: size unknown, bars as set).

        `high` comes down by `store_shift`, to no lower than `SCALED_BAR_FLOOR` (nor
        `possible`), and never rises. The others stay as set: `certain` needs a verified
        identifier whatever the odds; the margin compares two candidates of the same store,
        whose prior is the same; `high_without_dob` guards against a namesake relative at
        the same address (a father and son), whose chance does not fall with the store's
        size. The rules of `decide` (corroboration, contradiction, conflicting identifiers,
        the ages a role allows) do not change with the size. The result is not scaled again.
        """
        shift = self.store_shift(people)
        if shift == 0.0:
            return self
        floor = max(self.possible, SCALED_BAR_FLOOR)
        return replace(self, high=min(self.high, max(floor, self.high - shift)),
                       scale_bars_by_store_size=False)

    def describe(self, people: int | None) -> str:
        """The bars in force for a store of `people` and why (for `mash match explain`)."""
        t = self.for_store(people)
        bars = t.bars()
        if not self.scale_bars_by_store_size:
            why = "as configured (scale_bars_by_store_size = false)"
        elif people is None:
            why = ("as configured: the backend does not say how many people it holds, so the "
                   f"bars stay those for {REFERENCE_PEOPLE:,} people")
        elif t is self:
            why = f"as configured: the store holds {people:,} people (bars set for " \
                  f"{REFERENCE_PEOPLE:,})"
        else:
            why = (f"the store holds {people:,} people: high comes down by log2("
                   f"{REFERENCE_PEOPLE:,} / {people:,}) = {self.store_shift(people):.1f} bits "
                   f"from {self.high:g}, to no lower than "
                   f"{max(self.possible, SCALED_BAR_FLOOR):g} (bars set for "
                   f"{REFERENCE_PEOPLE:,} people)")
        return f"{bars}: {why}"

    def bars(self) -> str:
        """The bars as one line of text."""
        return (f"high {self.high:.4g}, high_without_dob {self.high_without_dob:.4g}, "
                f"certain {self.certain:g}, possible {self.possible:g}, "
                f"margin {self.margin:g} bits")

    @classmethod
    def from_settings(cls, settings: Mapping[str, float | bool]) -> MatchThresholds:
        """Thresholds from a config's `[matching]` values (a key left out keeps its default)."""
        def bar(key: str, default: float) -> float:
            value = settings.get(key)
            return default if value is None else float(value)

        def flag(key: str, default: bool) -> bool:
            value = settings.get(key)
            return default if value is None else bool(value)

        d = cls()
        return cls(certain=bar("certain", d.certain), high=bar("high", d.high),
                   possible=bar("possible", d.possible), margin=bar("margin", d.margin),
                   high_without_dob=bar("high_without_dob", d.high_without_dob),
                   scale_bars_by_store_size=flag("scale_bars_by_store_size",
                                                 d.scale_bars_by_store_size),
                   number_outweighs_given_name=flag("number_outweighs_given_name",
                                                    d.number_outweighs_given_name))


DEFAULT = MatchThresholds()


@runtime_checkable
class HasNameFrequencies(Protocol):
    """A backend that knows how often each name occurs in its store (for rarity weights)."""

    def name_frequencies(self) -> NameFrequencies | None:
        """The store's name frequencies, or None when it has none."""
        ...


def backend_frequencies(backend: object) -> NameFrequencies | None:
    """The backend's name frequencies if it offers them (other backends score with flat weights)."""
    return backend.name_frequencies() if isinstance(backend, HasNameFrequencies) else None


def store_people(frequencies: NameFrequencies | None) -> int | None:
    """How many people (records) the store holds, as its name frequencies counted them.

    None when the backend gives no frequencies (a FHIR or REST API, a store built before
    they were counted): the bars then stay those set for `REFERENCE_PEOPLE`.
    """
    return frequencies.total if frequencies is not None and frequencies.total > 0 else None


@lru_cache(maxsize=64)
def _in_force(thresholds: MatchThresholds, people: int | None) -> MatchThresholds:
    return thresholds.for_store(people)


@dataclass(frozen=True)
class MatchResult:
    """The outcome of matching one subject at one agency."""

    band: MatchBand
    score: float                         # the best candidate's weight in bits (0.0 when none)
    person_id: str | None                # set only for CERTAIN and HIGH
    confirm_hint: str = ""               # for POSSIBLE: what would confirm, never record content
    invalid_identifiers: tuple[str, ...] = ()
    candidates_considered: int = 0
    #: for CERTAIN and HIGH: the person (all records linked to `person_id` share it)
    same_as: str | None = None


def invalid_identifiers(query: QueryIdentifiers) -> tuple[str, ...]:
    """Names of identifiers that were given but fail validation (reported, never trusted)."""
    bad: list[str] = []
    if query.nhs_number.strip() and normalise_nhs_number(query.nhs_number) is None:
        bad.append("nhs_number")
    if query.upn.strip() and normalise_upn(query.upn) is None:
        bad.append("upn")
    if query.date_of_birth and parse_dob(query.date_of_birth) is None:
        bad.append("date_of_birth")
    if query.postcode.strip() and normalise_postcode(query.postcode) is None:
        bad.append("postcode")
    return tuple(bad)


def _confirm_hint(query: QueryIdentifiers, person: Person, several: bool,
                  contradicted: bool = False) -> str:
    """What the referrer could add to turn a possible match into a sure one."""
    hints: list[str] = []
    if contradicted:
        hints.append("identifiers given disagree with each other: check name and date of birth")
    if normalise_nhs_number(person.nhs_number) and not normalise_nhs_number(query.nhs_number):
        hints.append("NHS number would confirm")
    elif normalise_upn(person.upn) and not normalise_upn(query.upn):
        hints.append("UPN would confirm")
    if not parse_dob(query.date_of_birth):
        hints.append("date of birth would confirm")
    if not hints:
        hints.append("confirm full name, date of birth and previous addresses")
    if several:
        hints.insert(0, "more than one person could match")
    return "; ".join(hints)


def score_candidates(query: QueryIdentifiers, people: list[Person],
                     frequencies: NameFrequencies | None = None,
                     model: MatchModel | None = None) -> list[tuple[Comparison, Person]]:
    """Every candidate compared with `query`, best first (ties broken by person_id).

    `model`: the agency's trained match model (None: the shipped weights).
    """
    prepared = prepare(query, frequencies, model)
    scored = [(compare(prepared, p), p) for p in people]
    scored.sort(key=lambda cp: (-cp[0].weight, cp[1].person_id))
    return scored


def rank_candidates(query: QueryIdentifiers, people: list[Person],
                    thresholds: MatchThresholds = DEFAULT,
                    frequencies: NameFrequencies | None = None,
                    model: MatchModel | None = None) -> list[tuple[Comparison, Person]]:
    """The candidates that can change `decide`'s answer, compared with `query`, best first.

    `decide` on this list gives what it gives on `score_candidates`' full list (pass it
    `considered=len(people)`): its answer depends on the best candidate, on those within
    `thresholds.margin` bits of it (the runner-up, duplicates of the best) and on which
    candidates' identifiers agree. So each candidate is first bounded cheaply: every field
    but the names as `compare` weighs them (`scoring.bounds_without_names`), the names at
    most what any record's names can weigh (`NameBound.most`), then, if that comes within
    the margin of the best weight found so far, at most what this record's names can weigh
    (`NameBound.of`: exact agreement or not); only a candidate whose bound still comes
    within the margin is compared in full. Candidates are taken highest bound first, so the
    best is usually found first. A bound never falls below the weight, so every candidate
    left out weighs less than the best minus the margin. A candidate whose NHS number or
    UPN agrees is always compared.
    """
    prepared = prepare(query, frequencies, model)
    rest = bounds_without_names(prepared, people)
    names = NameBound(prepared)
    order = sorted(range(len(people)), key=lambda i: -rest[i][0])
    scored: list[tuple[Comparison, Person]] = []
    skipped: list[Person] = []
    best = float("-inf")
    for i in order:
        bound, id_agrees = rest[i]
        person = people[i]
        if not id_agrees and (bound + names.most < best - thresholds.margin
                              or bound + names.of(person) < best - thresholds.margin):
            skipped.append(person)
            continue
        c = compare(prepared, person)
        scored.append((c, person))
        best = max(best, c.weight)
    scored.sort(key=lambda cp: (-cp[0].weight, cp[1].person_id))
    if scored and prepared.dob is not None and not scored[0][0].dob_compared:
        scored = _with_dated_namesakes(prepared, people, scored)
    if (skipped and scored and thresholds.number_outweighs_given_name
            and _number_against_given_name(scored[0][0]) and prepared.dob is not None):
        # `decide` then asks whether anybody else held shares the surname and the date of
        # birth (a twin who could have given the number), however far behind: compare
        # every candidate whose date of birth agrees. Rare: only this shape of best.
        qd = prepared.dob
        scored += [(compare(prepared, p), p) for p in skipped
                   if (pd := parse_dob(p.date_of_birth)) is not None
                   and dob_level(qd, pd) in DOB_AGREES]
        scored.sort(key=lambda cp: (-cp[0].weight, cp[1].person_id))
    return scored


def _with_dated_namesakes(prepared: PreparedQuery, people: list[Person],
                          scored: list[tuple[Comparison, Person]],
                          ) -> list[tuple[Comparison, Person]]:
    """`scored` with every dated record of the best's name at its postcode, compared.

    The best record has no date of birth to compare. Another record with the same names at
    the same postcode and a date of birth is what tells a father from his same-named son:
    `decide` needs it even when it trails by more than the margin, so it is compared here.
    """
    best = scored[0][1]
    names = (name_tokens(best.given_name), name_tokens(best.family_name))
    postcode = normalise_postcode(best.postcode)
    seen = {id(p) for _c, p in scored}
    extra = [(compare(prepared, p), p) for p in people
             if id(p) not in seen and p.date_of_birth and postcode is not None
             and normalise_postcode(p.postcode) == postcode
             and (name_tokens(p.given_name), name_tokens(p.family_name)) == names]
    if not extra:
        return scored
    return sorted(scored + extra, key=lambda cp: (-cp[0].weight, cp[1].person_id))


def person_key(person: Person) -> str:
    """Which person a record is: records linked to one another share the key."""
    return person.linked_to or person.person_id


def as_query(person: Person) -> QueryIdentifiers:
    """A record's identifiers as a query (to compare two records of one store)."""
    return QueryIdentifiers(
        given_name=person.given_name, family_name=person.family_name,
        other_names=person.other_names, date_of_birth=person.date_of_birth, sex=person.sex,
        postcode=person.postcode, address=person.address, nhs_number=person.nhs_number,
        upn=person.upn)


#: Most records near the top that are checked for being the best record's duplicate.
MAX_DUPLICATE_CHECKS = 8


def same_person(a: Person, b: Person, thresholds: MatchThresholds = DEFAULT,
                frequencies: NameFrequencies | None = None,
                model: MatchModel | None = None) -> bool:
    """Are two records of one store, not linked, one person recorded twice?

    Only when the records alone would make a certain match of each other: both names and
    the date of birth agree (exactly or by one keying error), nothing contradicts or
    conflicts, and the total reaches `certain`. Twins and siblings (another given name), a
    parent with the child's name (another date of birth) and namesakes born the same day
    living elsewhere (name and date alone fall short of `certain`) stay two people.
    """
    c = compare(prepare(as_query(a), frequencies, model), b)
    return (c.dob_agrees and c.family_agrees and c.given_agrees and not c.contradicted
            and not c.identifier_conflicts and c.weight >= thresholds.certain)


def _runner_up(scored: list[tuple[Comparison, Person]], thresholds: MatchThresholds,
               frequencies: NameFrequencies | None, model: MatchModel | None) -> float:
    """The weight of the best candidate who is somebody else than the best one.

    Records linked to the best (`linked_to`), and records close behind it that are its
    unlinked duplicates (`same_person`), are the same candidate. Only records within the
    margin can change the band, so only those are compared with the best, and few of them.
    """
    best_w, person = scored[0][0].weight, scored[0][1]
    key = person_key(person)
    checks = 0
    for c, p in scored[1:]:
        if person_key(p) == key:
            continue
        if (best_w - c.weight < thresholds.margin and checks < MAX_DUPLICATE_CHECKS
                and same_person(person, p, thresholds, frequencies, model)):
            checks += 1
            continue
        return c.weight
    return float("-inf")


def _number_against_given_name(best: Comparison) -> bool:
    """A verified identifier, the date of birth exactly and the surname agree; the given
    name is wholly different (with the date exact and the given name not agreeing, that is
    what `contradicted` says)."""
    return (best.identifier_agrees and not best.identifier_conflicts and best.dob_exact
            and best.family_agrees and not best.given_agrees and best.contradicted
            and not best.names_reversed)


def _number_outweighs_given_name(query: QueryIdentifiers,
                                 scored: list[tuple[Comparison, Person]],
                                 thresholds: MatchThresholds,
                                 frequencies: NameFrequencies | None,
                                 model: MatchModel | None) -> bool:
    """May the best candidate's verified number outweigh its wholly different given name?

    The person may be known by another given name; or the number was copied from a twin
    or sibling, who shares the surname and the date of birth. So only when nobody else
    held (no record linked to the best, nor plainly its duplicate) shares the query's
    surname and date of birth, the recorded sex does not disagree, and the age fits the
    subject's role. A twin the agency does not hold cannot be seen: that is the residual
    risk of this rule (docs/matching.md, section 4).
    """
    best, person = scored[0]
    if not (_number_against_given_name(best) and best.weight >= thresholds.high
            and _plausible_age(query, person)):
        return False
    qs, ps = normalise_sex(query.sex), normalise_sex(person.sex)
    if "unknown" not in (qs, ps) and qs != ps:
        return False
    key = person_key(person)
    checks = 0
    for c, p in scored[1:]:
        if person_key(p) == key or not (c.dob_agrees and c.family_agrees):
            continue
        if checks < MAX_DUPLICATE_CHECKS and same_person(person, p, thresholds, frequencies,
                                                         model):
            checks += 1
            continue
        return False  # a twin or sibling held: the number may be theirs
    return True


def decide(query: QueryIdentifiers, scored: list[tuple[Comparison, Person]],
           thresholds: MatchThresholds = DEFAULT, *,
           frequencies: NameFrequencies | None = None,
           model: MatchModel | None = None, considered: int | None = None) -> MatchResult:
    """The band for already-scored candidates (best first).

    `considered`: how many candidates were found, when `scored` holds only those that
    can change the answer (`rank_candidates`); by default, all of `scored`.

    Records of one person are one candidate: those linked (`Person.linked_to`) and those
    that are plainly one another's duplicate (`same_person`, weighed with `frequencies`
    and `model`, as the candidates were). The runner-up is the best record of somebody else.
    The bars in force are `thresholds.for_store` the number of people `frequencies` counted.
    """
    invalid = invalid_identifiers(query)
    n = len(scored) if considered is None else considered
    thresholds = _in_force(thresholds, store_people(frequencies))
    if not scored or scored[0][0].weight < thresholds.possible:
        best_w = scored[0][0].weight if scored else 0.0
        return MatchResult(MatchBand.NONE, max(best_w, 0.0), None, "", invalid, n)
    best, person = scored[0]
    key = person_key(person)
    runner_up = _runner_up(scored, thresholds, frequencies, model)
    clear_lead = best.weight - runner_up >= thresholds.margin
    several = runner_up >= thresholds.possible and not clear_lead
    # Sure bands need the name or the date of birth to corroborate, whatever the total.
    # A verified identifier with the given name, no date of birth to compare and the surname
    # changed or missing corroborates too: a twin's or sibling's copied number comes with
    # another given name.
    corroborated = best.dob_agrees or (best.family_agrees and best.given_agrees) or (
        best.identifier_agrees and best.given_agrees and not best.dob_compared)
    # A verified identifier and the full name outweigh a date of birth keyed wrong: the
    # date alone is contradicted (a twin or sibling has another given name, a parent
    # with the child's name another NHS number), so the answer can still be certain.
    if (clear_lead and best.identifier_agrees and not best.identifier_conflicts
            and best.family_agrees and best.given_agrees):
        if best.weight >= thresholds.certain:
            return MatchResult(MatchBand.CERTAIN, best.weight, person.person_id, "", invalid,
                               n, key)
        # The same evidence with the address moved as well falls short of `certain`; the
        # number and the full name still outweigh the date, so it is `high` -- within the
        # ages the subject's role allows, as every answer without a date to trust.
        if best.weight >= thresholds.high and _plausible_age(query, person):
            return MatchResult(MatchBand.HIGH, best.weight, person.person_id, "", invalid, n,
                               key)
    # Two valid identifiers that differ weigh against the match (-12 bits) and rule out
    # `certain`; `high` stays possible only when both names and the date of birth agree
    # and outweigh them (a number keyed for the wrong record, a duplicate registration):
    # a twin or sibling has another given name, a parent another date of birth.
    # Never when the query's number is another held person's (the wrong twin's number).
    conflict_outweighed = not best.identifier_conflicts or (
        best.dob_agrees and best.family_agrees and best.given_agrees
        and not any(c.identifier_agrees for c, p in scored[1:] if person_key(p) != key))
    # A verified identifier that the given name contradicts may be a copied number (a
    # twin's, a sibling's): never sure; nor a match whose name or date of birth disagrees.
    if clear_lead and conflict_outweighed and not best.contradicted and corroborated:
        if (best.identifier_agrees and not best.identifier_conflicts
                and best.weight >= thresholds.certain):
            return MatchResult(MatchBand.CERTAIN, best.weight, person.person_id, "", invalid, n,
                               key)
        # One name agreeing and a date of birth that agrees only by a slip is two
        # coincidences -- a stranger at the address -- not a person, so it needs the date
        # exactly: names read the other way round with only one of them agreeing (the
        # query's surname like the record's given name), or a man's surname wholly
        # different without a verified number (men rarely change surnames: Gregory Wright,
        # born five days from the Gregory Patel asked for, at his postcode). A woman's
        # different surname is mostly a married name, and stays a small penalty.
        one_name_only = best.names_reversed or (
            best.family_differs and not best.identifier_agrees
            and normalise_sex(person.sex) == "male")
        names_agree = (best.family_agrees or best.given_agrees) and (
            not one_name_only or best.dob_exact
            or (best.family_agrees and best.given_agrees))
        if best.weight >= thresholds.high and best.dob_agrees and names_agree:
            return MatchResult(MatchBand.HIGH, best.weight, person.person_id, "", invalid, n, key)
        # A verified identifier and both names, no date of birth to compare: a copied
        # number belongs to somebody with another given name; the full name agrees here.
        if (not best.dob_compared and best.identifier_agrees and best.family_agrees
                and best.given_agrees and _plausible_age(query, person)
                and best.weight >= thresholds.high):
            return MatchResult(MatchBand.HIGH, best.weight, person.person_id, "", invalid, n, key)
        # No date of birth to compare: both names and the full address must agree, and
        # the names must be rare enough to clear a higher bar -- and nobody else there may
        # carry the names with a date of birth that is not the query's: then the undated
        # record may be that person's (a son's second record, asked for as his father).
        if (not best.dob_compared and best.family_agrees and best.given_agrees
                and best.postcode_agrees and _plausible_age(query, person)
                and not _dated_namesake_elsewhere(scored, key)
                and best.weight >= max(thresholds.high, thresholds.high_without_dob)):
            return MatchResult(MatchBand.HIGH, best.weight, person.person_id, "", invalid, n, key)
    # A verified number, the date of birth exactly and the surname outweigh a wholly
    # different given name (a name the person is known by): `high`, never `certain`, and
    # only when no twin or sibling who could have given the number is held.
    if (thresholds.number_outweighs_given_name and clear_lead
            and _number_outweighs_given_name(query, scored, thresholds, frequencies, model)):
        return MatchResult(MatchBand.HIGH, best.weight, person.person_id, "", invalid, n, key)
    return MatchResult(MatchBand.POSSIBLE, best.weight, None,
                       _confirm_hint(query, person, several, best.contradicted), invalid, n)


def _dated_namesake_elsewhere(scored: list[tuple[Comparison, Person]], key: str) -> bool:
    """Does somebody other than person `key` carry both names at the address, born another day?"""
    return any(c.family_agrees and c.given_agrees and c.postcode_agrees and c.dob_compared
               and not c.dob_agrees for c, p in scored if person_key(p) != key)


def _plausible_age(query: QueryIdentifiers, person: Person) -> bool:
    """Is the person's recorded date of birth (if any) in the range the subject's role allows?"""
    if query.born_between is None or not person.date_of_birth:
        return True
    earliest, latest = query.born_between
    return earliest <= person.date_of_birth <= latest


def match(backend: AgencyBackend, query: QueryIdentifiers,
          thresholds: MatchThresholds = DEFAULT, model: MatchModel | None = None) -> MatchResult:
    """Find `query` in `backend`: the band, the best score and (if sure) the person's id."""
    people = backend.candidates(query)
    freq = backend_frequencies(backend)
    return decide(query, rank_candidates(query, people, thresholds, freq, model), thresholds,
                  frequencies=freq, model=model, considered=len(people))
