"""Parse an agreement file (TOML) into an `Agreement`, collecting every problem with its line.

The file format is declared as msgspec Structs in `policy.agreement_file`.
`parse_agreement` never raises for a bad file: it decodes with `mash.config.collect`
(every unknown field, missing field and wrong value at once, not only the first),
makes the checks a type cannot express, and returns the agreement (or None) and the
list of problems, each naming file, line and field, so that `mash policy lint` can
report them all at once and the loader can refuse the file on the first error.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import msgspec.inspect as mi

from mash.config import Collected, Flaw, Strict, collect
from mash.toml_lines import FieldLines
from mash.vocab import (
    AGENCY_CATEGORIES,
    GATEWAY_FOR_PURPOSE,
    REQUESTING_ROLES,
    Agency,
    Category,
    LawfulBasis,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    Sensitivity,
    StatutoryGateway,
    SubjectRole,
    UnknownVocabulary,
    parse,
)
from policy.agreement import Agreement, BreakGlassTerms, ConsentRule, PurposeTerms, Retention
from policy.agreement_file import (
    MIN_APPROVERS,
    AgreementFile,
    ApprovalTable,
    BreakGlassTable,
    ConsentRuleRow,
    Day,
    DayOrMoment,
    LawfulBasisTable,
    PurposeTable,
    RetentionTable,
    RolesTable,
    SensitiveReleaseTable,
)

#: Agreement dates are UK legal dates: a date runs from 00:00 to 24:00 London time.
UK = ZoneInfo("Europe/London")

#: An agreement id names a folder of approvals, so it is a safe file name.
AGREEMENT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

#: Events a break-glass use may raise (principle 10).
BREAK_GLASS_EVENTS = ("alert", "retrospective_review")

E = TypeVar("E", bound=StrEnum)
S = TypeVar("S", bound=Strict)


class Severity(StrEnum):
    """How bad a problem is: an error stops the agreement loading, a warning does not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem in one agreement file."""

    severity: Severity
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.field}: {self.message}"


def sha256_of(data: bytes) -> str:
    """The agreement version: sha256 hex digest of the file's exact bytes."""
    return hashlib.sha256(data).hexdigest()


def parse_agreement(path: Path,
                    data: bytes | None = None) -> tuple[Agreement | None, list[Problem]]:
    """Parse and validate one agreement file; return it (None on any error) and all problems."""
    raw = path.read_bytes() if data is None else data
    text = raw.decode("utf-8", errors="replace")
    found = _Problems(path, FieldLines(text))
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", 0) or _line_from_message(str(exc))
        return None, [Problem(Severity.ERROR, str(path), line, "(file)", f"not valid TOML: {exc}")]
    flaws: list[Flaw] = []
    top = collect(AgreementFile, doc, flaws)
    for flaw in flaws:
        found.add(flaw.field, _wording(flaw))
    agreement = _build(found, top, doc, path, sha256_of(raw))
    problems = list(dict.fromkeys(found.problems))  # one line per problem, in order
    if any(p.severity is Severity.ERROR for p in problems):
        return None, problems
    return agreement, problems


class _Problems:
    """The problems found in one file, each placed on the line its field was written on."""

    def __init__(self, path: Path, lines: FieldLines) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []

    def add(self, field: str, message: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(
            Problem(severity, str(self.path), self.lines.line_of(field), field, message))


def _wording(flaw: Flaw) -> str:
    """A decoding problem in the words `mash policy lint` has always used."""
    if flaw.kind == "unknown_field":
        return "unknown field (misspelt?)"
    if flaw.kind == "required":
        return "is required"
    value, info = flaw.value, flaw.expected
    if flaw.item:
        if flaw.field == "parties":
            return "must list at least two parties by name"
        if flaw.field == "approval.approvers":
            return (f"{value!r} is not an approver name "
                    "(lower-case letters, digits, '.', '-', '_')")
        if flaw.field == "break_glass.raises":
            return f"unknown event {value!r} (allowed: {', '.join(BREAK_GLASS_EVENTS)})"
        if isinstance(info, mi.ListType):
            return "must be a list of categories"
    if isinstance(info, mi.EnumType) and (flaw.item or isinstance(value, str)):
        allowed = ", ".join(m.value for m in info.cls)
        return f"unknown {info.cls.__name__} {value!r} (allowed: {allowed})"
    return f"must be {_kind_name(info)}"


def _kind_name(info: mi.Type | None) -> str:
    match info:
        case mi.StrType() | mi.EnumType():
            return "text"
        case mi.IntType():
            return "a whole number"
        case mi.BoolType():
            return "true or false"
        case mi.ListType() | mi.SetType() | mi.FrozenSetType() | mi.VarTupleType():
            return "a list"
        case mi.StructType() | mi.DictType():
            return "a table"
        case mi.CustomType():
            return str(getattr(info.cls, "expected", "a value"))
        case _:
            return "a value"


def _section(top: Collected[AgreementFile], doc: Mapping[str, object], name: str,
             kind: type[S]) -> Collected[S]:
    """One table of the file, with what decoded of it even when a field is wrong.

    The table's problems were reported with the whole file's; decoding it again here
    only recovers its good fields, so the checks that need them still run.
    """
    whole = top.part(name, kind)
    if whole is not None:
        return Collected(whole, {})
    table = doc.get(name)
    return collect(kind, table, [], name) if isinstance(table, Mapping) else Collected(None, {})


def _build(found: _Problems, top: Collected[AgreementFile], doc: Mapping[str, object],
           path: Path, digest: str) -> Agreement | None:
    ident = top.part("id", str)
    if ident is not None and not AGREEMENT_ID.match(ident):
        found.add("id", "must be lower-case letters, digits, '.', '-' or '_' (at most 64)")
        ident = None
    agency = top.part("agency", Agency)
    parties = top.part("parties", list)
    start = _date_bound(found, top.part("in_force_from", DayOrMoment), "in_force_from", end=False)
    until = _date_bound(found, top.part("in_force_until", DayOrMoment), "in_force_until",
                        end=True)
    review = top.part("review_date", Day)
    if start is not None and until is not None and until <= start:
        found.add("in_force_until", "must be after in_force_from")
    if parties is not None and len(parties) < 2:
        found.add("parties", "must list at least two parties by name")

    basis = _section(top, doc, "lawful_basis", LawfulBasisTable)
    art6 = basis.part("article_6", LawfulBasis)
    art9 = tuple(basis.part("article_9", list) or ())
    gateways: frozenset[StatutoryGateway] = basis.part("statutory_gateways", frozenset) or frozenset()

    roles = _section(top, doc, "roles", RolesTable)
    may_request: frozenset[Role] = roles.part("may_request", frozenset) or frozenset()
    for role in sorted(may_request - REQUESTING_ROLES):
        found.add("roles.may_request", f"{role} may never request information "
                  f"(only {', '.join(sorted(REQUESTING_ROLES))} may)")
    may_approve: frozenset[Role] = roles.part("may_approve_review", frozenset) or frozenset()
    not_requester = roles.part("review_approver_must_not_be_requester", bool)

    approval = _section(top, doc, "approval", ApprovalTable)
    approvers: list[str] = approval.part("approvers", list) or []
    required = approval.part("required", int)
    for name in approvers:
        if not AGREEMENT_ID.match(name):
            found.add("approval.approvers", f"{name!r} is not an approver name "
                      "(lower-case letters, digits, '.', '-', '_')")
    if required is not None and required < MIN_APPROVERS:
        found.add("approval.required", f"must be at least {MIN_APPROVERS} (two different people)")
    if len(set(approvers)) < max(MIN_APPROVERS, required or 0):
        found.add("approval.approvers", "must name at least as many different people as required")

    sensitivity = _sensitivity(found, top.part("categories", dict) or {}, agency)
    release = _section(top, doc, "sensitive_release", SensitiveReleaseTable)
    kept = _section(top, doc, "retention", RetentionTable)
    days = kept.part("disclosed_summary_days", int)
    if days is not None and days <= 0:
        found.add("retention.disclosed_summary_days", "must be a positive number of days")
    retention = Retention(days or 0, kept.part("note", str) or "")

    glass = _break_glass(found, _section(top, doc, "break_glass", BreakGlassTable))
    purposes = _purposes(found, doc.get("purposes"), agency,
                         gateways if basis.part("statutory_gateways", frozenset) is not None
                         else None, sensitivity)

    title, version_label = top.part("title", str), top.part("version", str)
    mash_id, owner = top.part("mash_id", str), top.part("owner", str)
    if (ident is None or title is None or version_label is None or mash_id is None
            or owner is None or review is None or agency is None or start is None
            or until is None or art6 is None):
        return None
    return Agreement(
        id=ident, title=title, version_label=version_label, mash_id=mash_id, agency=agency,
        owner=owner, parties=tuple(parties or ()), in_force_from=start, in_force_until=until,
        review_date=review.value, lawful_basis=art6, article_9=art9,
        statutory_gateways=gateways, may_request=may_request,
        review_approver_roles=may_approve,
        review_approver_must_not_be_requester=not_requester is not False,
        approvers=tuple(approvers), approvals_required=required or MIN_APPROVERS,
        sensitivity=sensitivity,
        sensitive_release_rag=release.part("rag", frozenset) or frozenset(),
        sensitive_release_consent=release.part("consent", frozenset) or frozenset(),
        retention=retention, break_glass=glass, purposes=purposes, path=path, sha256=digest,
    )


def _date_bound(found: _Problems, bound: DayOrMoment | None, key: str, *,
                end: bool) -> datetime | None:
    if bound is None:
        return None
    value = bound.value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            found.add(key, "a date-time must carry a UTC offset (or give a plain date)")
            return None
        return value
    # A plain date is a whole UK day; the end date is inclusive.
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(0, 0), tzinfo=UK)


def _sensitivity(found: _Problems, table: Mapping[Category, Sensitivity],
                 agency: Agency | None) -> dict[Category, Sensitivity]:
    out: dict[Category, Sensitivity] = {}
    held = AGENCY_CATEGORIES.get(agency, ()) if agency else ()
    for category, sensitivity in table.items():
        if agency is not None and category not in held:
            found.add(f"categories.{category}", f"{agency} does not hold {category}")
            continue
        out[category] = sensitivity
    for category in held:
        if category not in out:
            found.add("categories", f"no sensitivity given for {category} (it counts as sealed)",
                      Severity.WARNING)
    return out


def _break_glass(found: _Problems, table: Collected[BreakGlassTable]) -> BreakGlassTerms:
    allowed = table.part("allowed", bool) is True
    rag: frozenset[Rag] = table.part("rag", frozenset) or frozenset()
    reasons: frozenset[ReasonCode] = table.part("reasons", frozenset) or frozenset()
    min_chars = table.part("min_justification_chars", int) or 1
    minutes = table.part("valid_for_minutes", int) or 0
    raises: list[str] = table.part("raises", list) or []
    for event in raises:
        if event not in BREAK_GLASS_EVENTS:
            found.add("break_glass.raises", f"unknown event {event!r} "
                      f"(allowed: {', '.join(BREAK_GLASS_EVENTS)})")
    if allowed:
        if minutes <= 0:
            found.add("break_glass.valid_for_minutes",
                      "must be positive when break-glass is allowed")
        if not rag or not reasons:
            found.add("break_glass", "rag and reasons must be listed when break-glass is allowed")
        for event in BREAK_GLASS_EVENTS:
            if event not in raises:
                found.add("break_glass.raises", f"every break-glass use must raise {event!r}")
    return BreakGlassTerms(allowed, rag, reasons, max(1, min_chars), timedelta(minutes=minutes),
                           tuple(e for e in raises if e in BREAK_GLASS_EVENTS))


def _purposes(found: _Problems, table: object, agency: Agency | None,
              gateways: frozenset[StatutoryGateway] | None,
              sensitivity: Mapping[Category, Sensitivity]) -> dict[Purpose, PurposeTerms]:
    """The purposes' terms; `gateways` is None when the file's list of them did not decode."""
    if not isinstance(table, Mapping):
        return {}
    out: dict[Purpose, PurposeTerms] = {}
    for name, raw_terms in table.items():
        base = f"purposes.{name}"
        purpose = _vocab(Purpose, name)
        if purpose is None or not isinstance(raw_terms, Mapping):
            continue  # reported when the file was decoded
        terms = collect(PurposeTable, raw_terms, [], base)
        gateway = terms.part("gateway", StatutoryGateway)
        if gateway is not None:
            if gateway is not GATEWAY_FOR_PURPOSE[purpose]:
                found.add(f"{base}.gateway", f"{purpose} is exercised under "
                          f"{GATEWAY_FOR_PURPOSE[purpose]}, not {gateway}")
            if gateways is not None and gateway not in gateways:
                found.add(f"{base}.gateway", "is not listed in lawful_basis.statutory_gateways")
        subjects = _subject_categories(found, terms.part("subject_categories", dict) or {}, base,
                                       agency, sensitivity)
        rules: list[ConsentRuleRow] = terms.part("consent_rules", list) or []
        if not rules:
            found.add(f"{base}.consent_rules", "no consent rules: every request is DENIED",
                      Severity.WARNING)
        if gateway is not None:
            out[purpose] = PurposeTerms(
                purpose, gateway, subjects,
                tuple(ConsentRule(r.rag, r.consent, r.reasons, r.decision, r.note)
                      for r in rules),
                terms.part("note", str) or "")
    return out


def _subject_categories(found: _Problems, table: Mapping[SubjectRole, list[Category]],
                        base: str, agency: Agency | None,
                        sensitivity: Mapping[Category, Sensitivity],
                        ) -> dict[SubjectRole, frozenset[Category]]:
    held = AGENCY_CATEGORIES.get(agency, ()) if agency else ()
    out: dict[SubjectRole, frozenset[Category]] = {}
    for role, categories in table.items():
        field = f"{base}.subject_categories.{role}"
        cats: set[Category] = set()
        for category in categories:
            if agency is not None and category not in held:
                found.add(field, f"{agency} does not hold {category}")
            elif sensitivity.get(category, Sensitivity.SEALED) is Sensitivity.SEALED:
                found.add(field, f"{category} is sealed (or unrated) and can never be disclosed")
            else:
                cats.add(category)
        out[role] = frozenset(cats)
    return out


def _vocab(enum: type[E], value: object) -> E | None:
    try:
        return parse(enum, value)
    except UnknownVocabulary:
        return None


def _line_from_message(message: str) -> int:
    marker = "line "
    if marker in message:
        digits = message.split(marker, 1)[1].split()[0].rstrip(",)")
        if digits.isdigit():
            return int(digits)
    return 0

