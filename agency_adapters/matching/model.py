"""The match model: Fellegi–Sunter m- and u-probabilities for every comparison level.

Each field of a query/record pair falls into one *level* of its comparison (the surname
agrees exactly, is one part of a double barrel, a typo, different...). A level carries

- m: how often the level occurs when both sides are the same person,
- u: how often it occurs for two different people,

and weighs log2(m/u) bits. A field missing on either side has no level and weighs
nothing. The shipped model (`PRIOR`) holds hand-set weights checked against the
generated evaluation set (`docs/matching.md`); `training` re-estimates u from random
pairs of an agency's own records and m by expectation-maximisation over its blocked
pairs, with the prior as the starting point and as pseudo-counts. A trained model is a
JSON file (`save` / `load`) named by the adapter config (`[matching] model`).

Term frequencies: for the fields in `TF_FIELDS` an exact agreement is also adjusted by
how common the agreed value is in the store (Splink's term-frequency adjustment):
log2(tf_u / p), with p the value's share of the store shrunk towards tf_u, bounded.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from mash.config import ConfigError, Strict, decode
from mash.files import write_text

FORMAT = "mash-match-model"
FORMAT_VERSION = 1

#: The comparisons and their levels, most to least agreeing (the order of `explain`).
FIELDS: dict[str, tuple[str, ...]] = {
    "nhs": ("exact", "one_digit", "near", "different"),
    "upn": ("exact", "different"),
    "dob": ("exact", "swapped", "slip", "swapped_slip", "different"),
    "family": ("exact", "part", "previous", "typo", "typo2", "part_typo", "different",
               "different_male"),
    "given": ("exact", "nickname", "typo", "typo2", "nickname_typo", "middle", "initial",
              "different"),
    "name_order": ("as_given", "reversed"),
    "postcode": ("exact", "sector", "district", "different"),
    "address": ("exact", "different"),
    "sex": ("agree", "different"),
}

#: Levels whose trained weight never rises above the shipped one: training may make them
#: count more against a match, never more for it, and a model file that has one above it
#: is refused (`from_json`): a hand edit or an older trainer must not make it evidence.
#: - A wholly different given name is what tells twins and siblings apart (same surname,
#:   date of birth and address), and EM cannot tell such a pair from one person recorded
#:   twice with the given name replaced: whatever share of the store's pairs it puts there,
#:   the matcher still treats the level as a contradiction (never sure), so a forgiving
#:   weight would only bring a twin closer behind the right person and cost that person's
#:   margin.
#: - Two valid NHS numbers one digit apart are a twin's or sibling's number as often as a
#:   typo re-checked (twins are often given consecutive numbers). EM, seeing a store's
#:   twin pairs carry such numbers, learns the level as agreement -- +12.6 bits on the trap
#:   set, which then answered a twin asked for without a given name as her sister. A valid
#:   check digit does not make two numbers one person's.
NO_STRONGER_THAN_PRIOR = frozenset({("given", "different"), ("nhs", "near")})

#: What each level means, for `mash match explain` and the docs.
LEVEL_TEXT: dict[tuple[str, str], str] = {
    ("nhs", "exact"): "valid NHS numbers agree",
    ("nhs", "one_digit"): "the query's number fails its check and is one digit from the record's",
    ("nhs", "near"): "two valid numbers one digit apart (a twin's, or a typo re-checked)",
    ("nhs", "different"): "two valid NHS numbers differ",
    ("upn", "exact"): "valid UPNs agree",
    ("upn", "different"): "two valid UPNs differ",
    ("dob", "exact"): "dates of birth agree",
    ("dob", "swapped"): "day and month swapped",
    ("dob", "slip"): "one keying slip (a digit, or the day or year off by one)",
    ("dob", "swapped_slip"): "day and month swapped and one slip",
    ("dob", "different"): "different dates of birth",
    ("family", "exact"): "surnames agree (adjusted by how common the surname is)",
    ("family", "part"): "one part of a double-barrelled surname agrees",
    ("family", "previous"): "a previous surname agrees",
    ("family", "typo"): "surnames one keying error apart",
    ("family", "typo2"): "surnames two keying errors apart",
    ("family", "part_typo"): "a typo in one part of a double-barrelled surname",
    ("family", "different"): "different surnames (a woman's or unknown sex)",
    ("family", "different_male"): "different surnames on a man's record",
    ("given", "exact"): "given names agree (adjusted by how common the name is)",
    ("given", "nickname"): "a nickname or other known form",
    ("given", "typo"): "given names one keying error apart",
    ("given", "typo2"): "given names two keying errors apart",
    ("given", "nickname_typo"): "a mistyped nickname",
    ("given", "middle"): "known by a middle name",
    ("given", "initial"): "an initial agrees",
    ("given", "different"): "different given names",
    ("name_order", "as_given"): "names in the usual order",
    ("name_order", "reversed"): "given and family names the other way round",
    ("postcode", "exact"): "postcodes agree (adjusted by how many people share it)",
    ("postcode", "sector"): "same postcode sector, different unit",
    ("postcode", "district"): "same postcode district, different sector",
    ("postcode", "different"): "different postcode districts",
    ("address", "exact"): "first line of address agrees at an agreeing postcode",
    ("address", "different"): "first line of address differs at an agreeing postcode",
    ("sex", "agree"): "recorded sex agrees",
    ("sex", "different"): "recorded sex differs",
}


class ModelError(Exception):
    """A match-model file cannot be used (missing, unreadable, wrong format, bad values)."""


@dataclass(frozen=True)
class Level:
    """One comparison level: m, u and the weight in bits (log2(m/u))."""

    m: float
    u: float
    weight: float

    @classmethod
    def of(cls, m: float, u: float) -> Level:
        """A level whose weight follows from m and u."""
        return cls(m, u, math.log2(m / u))

    @classmethod
    def set_weight(cls, m: float, weight: float) -> Level:
        """A hand-set level: its u is whatever makes log2(m/u) the given weight."""
        return cls(m, m / 2.0 ** weight, weight)


@dataclass(frozen=True)
class TermFrequency:
    """How an exact agreement on a field moves with the agreed value's frequency.

    `tf_u` is the chance that two random records share a value (the u of an exact match,
    Σp²): a value with share p adjusts the exact weight by log2(tf_u / p), bounded to
    [-below, +above]. `pseudo_count` people at share tf_u are added to every count, so a
    small store moves little. A typo or nickname agreement gains at most `partial_cap`.
    """

    tf_u: float
    below: float
    above: float
    pseudo_count: float = 2000.0
    partial_cap: float = 2.0

    def adjustment(self, count: int, total: int) -> float:
        """Bits to add to an exact agreement on a value held `count` times among `total`."""
        p = (count + self.pseudo_count * self.tf_u) / (total + self.pseudo_count)
        return min(self.above, max(-self.below, math.log2(self.tf_u / p)))


#: Fields whose exact level is adjusted by term frequency.
TF_FIELDS = ("family", "given", "postcode")


@dataclass(frozen=True)
class MatchModel:
    """m/u per level of every comparison, term-frequency settings, and where it came from."""

    levels: Mapping[str, Mapping[str, Level]]
    tf: Mapping[str, TermFrequency]
    #: the share of blocked record pairs that are the same person, as EM last estimated it
    lambda_: float = 0.0
    source: str = "prior"        # "prior" | "trained"
    trained: Mapping[str, object] = field(default_factory=dict)  # what training saw and did

    def weight(self, name: str, level: str) -> float:
        """The weight in bits of `level` of comparison `name`."""
        return self.levels[name][level].weight

    def weights(self) -> dict[str, dict[str, float]]:
        """Every level's weight, by comparison (the hot path reads these plain dicts)."""
        return {f: {lv: v.weight for lv, v in levels.items()} for f, levels in self.levels.items()}

    def model_id(self) -> str:
        """A short content hash: which model answered, in logs and `explain`."""
        body = json.dumps(_model_body(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def m_learned(self) -> list[str]:
        """The comparisons whose m training learned from the agency's records (none: the prior's)."""
        learned = self.trained.get("m_trained", [])
        return [str(name) for name in learned] if isinstance(learned, list) else []

    def with_levels(self, levels: Mapping[str, Mapping[str, Level]], *,
                    tf: Mapping[str, TermFrequency] | None = None, lambda_: float | None = None,
                    source: str | None = None,
                    trained: Mapping[str, object] | None = None) -> MatchModel:
        """A copy with some comparisons' levels replaced (and any other field given)."""
        merged = {f: dict(v) for f, v in self.levels.items()}
        for f, v in levels.items():
            merged[f].update(v)
        return MatchModel(merged, self.tf if tf is None else tf,
                          self.lambda_ if lambda_ is None else lambda_,
                          self.source if source is None else source,
                          self.trained if trained is None else trained)


def _field(levels: Mapping[str, tuple[float, float]]) -> dict[str, Level]:
    """One comparison of the prior: level -> (reference u, hand-set weight).

    u is measured on random pairs of the reference population (the generated evaluation
    set: 100,000 people, postcodes at 1,000,000), except an exact name: its u is the centre
    of the name's term-frequency adjustment, so the exact weight plus the adjustment is
    log2(1/p), p the name's share of the store. The weights were set by hand and are not
    all log2(m/u): m is the m they imply (u * 2**weight), scaled to sum to 1, and serves
    only as EM's starting point and pseudo-counts. Training moves a level whose m it
    cannot learn by log2(u_reference / u_store) (see `training`).
    """
    implied = {lv: u * 2.0 ** w for lv, (u, w) in levels.items()}
    z = sum(implied.values())
    return {lv: Level(implied[lv] / z, u, w) for lv, (u, w) in levels.items()}


def _prior() -> MatchModel:
    levels: dict[str, dict[str, Level]] = {
        "nhs": _field({"exact": (1e-6, 23.0), "one_digit": (0.005 / 256, 8.0),
                       "near": (0.0005, 0.0), "different": (1.0, -12.0)}),
        "upn": _field({"exact": (1e-6, 23.0), "different": (1.0, -12.0)}),
        # Day/month swapped and a slip: two errors, no evidence either way (measured ~0.3 bits).
        "dob": _field({"exact": (5.2e-5, 12.0), "swapped": (2.0e-5, 9.0), "slip": (0.00122, 6.0),
                       "swapped_slip": (0.00044, 0.0), "different": (0.998, -10.0)}),
        # People change surnames (mostly women, at marriage): a small penalty for a woman's
        # record, a larger one for a man's (measured by the record's sex, docs/matching.md).
        "family": _field({"exact": (2.0 ** -8, 8.0), "part": (0.0003, 6.5),
                          "previous": (0.0003, 6.5), "typo": (0.00106, 5.0),
                          "typo2": (0.00053, 1.5), "part_typo": (0.00026, 4.0),
                          "different": (0.541, -3.0), "different_male": (0.452, -4.5)}),
        # A different given name is what tells twins apart: -8.
        "given": _field({"exact": (2.0 ** -7, 7.0), "nickname": (0.00082, 5.5),
                         "typo": (0.00132, 4.5), "typo2": (0.00069, 1.0),
                         "nickname_typo": (0.00044, 3.5), "middle": (0.00073, 3.0),
                         "initial": (0.0005, 1.0), "different": (0.9937, -8.0)}),
        # The reading's measured cost is larger; at -4.5 the evaluation lost sure answers.
        # A reading, not a value: its weight is log2(m_reversed / m_as_given), u = m.
        "name_order": {"as_given": Level(0.98, 0.98, 0.0), "reversed": Level(0.02, 0.04, -1.0)},
        # A shared sector or district is no more evidence than a different one (measured).
        # A unit holds ~40 people: one in ~21,000 random pairs shares it at 1,000,000 people.
        "postcode": _field({"exact": (4.8e-5, 12.0), "sector": (0.0062, -3.0),
                            "district": (0.0497, -3.0), "different": (0.9436, -3.0)}),
        # At an agreeing postcode the same address line adds a little (mostly the household).
        "address": _field({"exact": (0.9, 2.0), "different": (0.1, 0.0)}),
        "sex": _field({"agree": (0.5, 0.5), "different": (0.5, -6.0)}),
    }
    tf = {"family": TermFrequency(2.0 ** -8.0, below=3.0, above=4.0),
          "given": TermFrequency(2.0 ** -7.0, below=2.0, above=4.0)}
    return MatchModel(levels, tf)


#: The shipped model: hand-set weights, no postcode frequencies. Training starts here.
PRIOR = _prior()


def _model_body(model: MatchModel) -> dict[str, object]:
    return {
        "levels": {f: {lv: {"m": v.m, "u": v.u, "weight": v.weight} for lv, v in levels.items()}
                   for f, levels in model.levels.items()},
        "tf": {f: {"tf_u": t.tf_u, "below": t.below, "above": t.above,
                   "pseudo_count": t.pseudo_count, "partial_cap": t.partial_cap}
               for f, t in model.tf.items()},
        "lambda": model.lambda_,
        "source": model.source,
    }


def to_json(model: MatchModel) -> dict[str, object]:
    """The model as the JSON object `save` writes."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "model_id": model.model_id(),
            **_model_body(model), "trained": dict(model.trained)}


def save(model: MatchModel, path: Path) -> None:
    """Write `model` to `path` (whole or not at all: written beside it, then renamed)."""
    write_text(Path(path), json.dumps(to_json(model), indent=1, sort_keys=True) + "\n")


class LevelEntry(Strict, frozen=True):
    """One level of one comparison: m and u probabilities and the weight in bits."""

    m: Annotated[float, msgspec.Meta(gt=0, le=1)]
    u: Annotated[float, msgspec.Meta(gt=0)]
    weight: Annotated[float, msgspec.Meta(ge=-64, le=64)]


class TermFrequencyEntry(Strict, frozen=True):
    """The term-frequency settings of one field."""

    tf_u: Annotated[float, msgspec.Meta(gt=0)]
    below: float
    above: float
    pseudo_count: Annotated[float, msgspec.Meta(gt=0)]
    partial_cap: float


class ModelFile(Strict, frozen=True, rename={"lambda_": "lambda"}):
    """A match model file as `save` writes it."""

    format: Literal["mash-match-model"]
    format_version: int
    #: comparison -> level -> its numbers (every comparison with exactly its levels)
    levels: dict[str, dict[str, LevelEntry]]
    lambda_: float
    tf: dict[Literal["family", "given", "postcode"], TermFrequencyEntry] = msgspec.field(
        default_factory=dict)
    source: str = "trained"
    trained: dict[str, object] = msgspec.field(default_factory=dict)
    model_id: str | None = None


def from_json(data: object, source: str = "<model>") -> MatchModel:
    """Parse and check a model object; any problem is a `ModelError` naming where."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"{source}: not a {FORMAT} file")
    if data.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{source}: format_version {data.get('format_version')!r} is not "
                         f"{FORMAT_VERSION}: re-train with this version (mash match train)")
    try:
        raw = decode(ModelFile, data, source)
    except ConfigError as exc:
        raise ModelError(str(exc)) from None
    levels: dict[str, dict[str, Level]] = {}
    for name, wanted in FIELDS.items():
        got = raw.levels.get(name)
        if got is None or set(got) != set(wanted):
            raise ModelError(f"{source}: comparison {name!r} must have levels {', '.join(wanted)}")
        levels[name] = {lv: Level(got[lv].m, got[lv].u, got[lv].weight) for lv in wanted}
    tf: dict[str, TermFrequency] = {
        str(name): TermFrequency(t.tf_u, t.below, t.above, t.pseudo_count, t.partial_cap)
        for name, t in raw.tf.items()}
    for name, lv in sorted(NO_STRONGER_THAN_PRIOR):
        if levels[name][lv].weight > PRIOR.levels[name][lv].weight + 1e-9:
            raise ModelError(
                f"{source}: {name} level {lv!r} weighs {levels[name][lv].weight:+.2f} bits, more"
                f" than the shipped {PRIOR.levels[name][lv].weight:+.2f}: that level is never"
                " evidence for a match (re-train with this version: mash match train)")
    numbers = [raw.lambda_, *(x for t in tf.values() for x in (t.below, t.above, t.partial_cap)),
               *(lv.u for field_levels in levels.values() for lv in field_levels.values())]
    if not all(math.isfinite(x) for x in numbers):
        raise ModelError(f"{source}: every number must be finite")
    model = MatchModel(levels, tf, raw.lambda_, raw.source, raw.trained)
    if raw.model_id not in (None, model.model_id()):
        raise ModelError(f"{source}: model_id does not match the content (edited by hand?)")
    return model


def load(path: Path) -> MatchModel:
    """Read a model file written by `save` (`ModelError` if it cannot be used)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{path}: cannot read match model ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"{path}: not JSON ({exc})") from None
    return from_json(data, str(path))
