"""Parse an agreement file (TOML) into an `Agreement`, collecting every problem with its line.

`parse_agreement` never raises for a bad file: it returns the agreement (or
None) and the list of problems, each naming file, line and field, so that
`mash policy lint` can report them all at once and the loader can refuse the
file on the first error.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from mash.toml_lines import FieldLines
from mash.vocab import (
    AGENCY_CATEGORIES,
    GATEWAY_FOR_PURPOSE,
    REQUESTING_ROLES,
    Agency,
    Category,
    ConsentState,
    Decision,
    LawfulBasis,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    Sensitivity,
    SpecialCategoryCondition,
    StatutoryGateway,
    SubjectRole,
    UnknownVocabulary,
    parse,
)
from policy.agreement import Agreement, BreakGlassTerms, ConsentRule, PurposeTerms, Retention

#: Agreement dates are UK legal dates: a date runs from 00:00 to 24:00 London time.
UK = ZoneInfo("Europe/London")

#: An agreement id names a folder of approvals, so it is a safe file name.
AGREEMENT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

#: Events a break-glass use may raise (principle 10).
BREAK_GLASS_EVENTS = ("alert", "retrospective_review")

#: No agreement takes effect on fewer than two approvers, whatever the file says.
MIN_APPROVERS = 2

E = TypeVar("E", bound=StrEnum)


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


class _Reader:
    """Reads typed fields from parsed TOML, recording a problem (not raising) on bad input."""

    def __init__(self, path: Path, lines: FieldLines) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []

    def problem(self, field: str, message: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(
            Problem(severity, str(self.path), self.lines.line_of(field), field, message))

    def get(self, table: Mapping[str, Any], key: str, field: str, kind: type | tuple[type, ...],
            default: Any = ..., ) -> Any:
        if key not in table:
            if default is ...:
                self.problem(field, "is required")
                return None
            return default
        value = table[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(field, f"must be {_kind_name(kind)}")
            return None
        return value

    def vocab(self, enum: type[E], value: Any, field: str) -> E | None:
        try:
            return parse(enum, value)
        except UnknownVocabulary:
            allowed = ", ".join(m.value for m in enum)
            self.problem(field, f"unknown {enum.__name__} {value!r} (allowed: {allowed})")
            return None

    def vocab_set(self, enum: type[E], table: Mapping[str, Any], key: str, field: str,
                  default: Any = ...) -> frozenset[E]:
        values = self.get(table, key, field, list, default)
        if values is None:
            return frozenset()
        out = {self.vocab(enum, v, f"{field}") for v in values}
        return frozenset(v for v in out if v is not None)


def sha256_of(data: bytes) -> str:
    """The agreement version: sha256 hex digest of the file's exact bytes."""
    return hashlib.sha256(data).hexdigest()


def parse_agreement(path: Path,
                    data: bytes | None = None) -> tuple[Agreement | None, list[Problem]]:
    """Parse and validate one agreement file; return it (None on any error) and all problems."""
    raw = path.read_bytes() if data is None else data
    text = raw.decode("utf-8", errors="replace")
    lines = FieldLines(text)
    r = _Reader(path, lines)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", 0) or _line_from_message(str(exc))
        r.problems.append(
            Problem(Severity.ERROR, str(path), line, "(file)", f"not valid TOML: {exc}"))
        return None, r.problems
    agreement = _build(r, doc, path, sha256_of(raw))
    if any(p.severity is Severity.ERROR for p in r.problems):
        return None, r.problems
    return agreement, r.problems


def _build(r: _Reader, doc: Mapping[str, Any], path: Path, digest: str) -> Agreement | None:
    known_top = {"id", "title", "version", "mash_id", "agency", "owner", "parties",
                 "in_force_from", "in_force_until", "review_date", "lawful_basis", "roles",
                 "approval", "categories", "sensitive_release", "retention", "break_glass",
                 "purposes"}
    _unknown_keys(r, doc, known_top, "")
    ident = r.get(doc, "id", "id", str)
    if ident is not None and not AGREEMENT_ID.match(ident):
        r.problem("id", "must be lower-case letters, digits, '.', '-' or '_' (at most 64)")
        ident = None
    title = r.get(doc, "title", "title", str)
    version_label = r.get(doc, "version", "version", str)
    mash_id = r.get(doc, "mash_id", "mash_id", str)
    agency_raw = r.get(doc, "agency", "agency", str)
    agency = None if agency_raw is None else r.vocab(Agency, agency_raw, "agency")
    owner = r.get(doc, "owner", "owner", str)
    parties = r.get(doc, "parties", "parties", list)
    start = _date_bound(r, doc, "in_force_from", end=False)
    until = _date_bound(r, doc, "in_force_until", end=True)
    review = r.get(doc, "review_date", "review_date", date)
    if isinstance(review, datetime):
        review = review.date()  # a review is due on a day, not at a moment
    if start is not None and until is not None and until <= start:
        r.problem("in_force_until", "must be after in_force_from")
    if isinstance(parties, list) and (len(parties) < 2 or
                                      not all(isinstance(p, str) for p in parties)):
        r.problem("parties", "must list at least two parties by name")

    basis = r.get(doc, "lawful_basis", "lawful_basis", dict) or {}
    _unknown_keys(r, basis, {"article_6", "article_9", "statutory_gateways"}, "lawful_basis")
    art6_raw = r.get(basis, "article_6", "lawful_basis.article_6", str)
    art6 = None if art6_raw is None else r.vocab(LawfulBasis, art6_raw, "lawful_basis.article_6")
    art9_raw = r.get(basis, "article_9", "lawful_basis.article_9", list) or []
    art9 = tuple(c for c in (r.vocab(SpecialCategoryCondition, v, "lawful_basis.article_9")
                             for v in art9_raw) if c is not None)
    gateways = r.vocab_set(StatutoryGateway, basis, "statutory_gateways",
                           "lawful_basis.statutory_gateways")

    roles = r.get(doc, "roles", "roles", dict) or {}
    _unknown_keys(r, roles, {"may_request", "may_approve_review",
                             "review_approver_must_not_be_requester"}, "roles")
    may_request = r.vocab_set(Role, roles, "may_request", "roles.may_request")
    for role in sorted(may_request - REQUESTING_ROLES):
        r.problem("roles.may_request", f"{role} may never request information "
                  f"(only {', '.join(sorted(REQUESTING_ROLES))} may)")
    may_approve = r.vocab_set(Role, roles, "may_approve_review", "roles.may_approve_review")
    not_requester = r.get(roles, "review_approver_must_not_be_requester",
                          "roles.review_approver_must_not_be_requester", bool, True)

    approval = r.get(doc, "approval", "approval", dict) or {}
    _unknown_keys(r, approval, {"approvers", "required"}, "approval")
    approvers = r.get(approval, "approvers", "approval.approvers", list) or []
    required = r.get(approval, "required", "approval.required", int, MIN_APPROVERS)
    for name in approvers:
        if not isinstance(name, str) or not AGREEMENT_ID.match(name):
            r.problem("approval.approvers", f"{name!r} is not an approver name "
                      "(lower-case letters, digits, '.', '-', '_')")
    if required is not None and required < MIN_APPROVERS:
        r.problem("approval.required", f"must be at least {MIN_APPROVERS} (two different people)")
    if len(set(approvers)) < max(MIN_APPROVERS, required or 0):
        r.problem("approval.approvers", "must name at least as many different people as required")

    sensitivity = _sensitivity(r, doc, agency)
    release = r.get(doc, "sensitive_release", "sensitive_release", dict) or {}
    _unknown_keys(r, release, {"rag", "consent"}, "sensitive_release")
    release_rag = r.vocab_set(Rag, release, "rag", "sensitive_release.rag", [])
    release_consent = r.vocab_set(ConsentState, release, "consent", "sensitive_release.consent", [])

    retention_t = r.get(doc, "retention", "retention", dict) or {}
    _unknown_keys(r, retention_t, {"disclosed_summary_days", "note"}, "retention")
    days = r.get(retention_t, "disclosed_summary_days", "retention.disclosed_summary_days", int)
    if days is not None and days <= 0:
        r.problem("retention.disclosed_summary_days", "must be a positive number of days")
    retention = Retention(days or 0, r.get(retention_t, "note", "retention.note", str, "") or "")

    glass = _break_glass(r, doc)
    purposes = _purposes(r, doc, agency, gateways, sensitivity)

    if (None in (ident, title, version_label, mash_id, owner, review)
            or agency is None or start is None or until is None or art6 is None):
        return None
    return Agreement(
        id=ident, title=title, version_label=version_label, mash_id=mash_id, agency=agency,
        owner=owner, parties=tuple(parties or ()), in_force_from=start, in_force_until=until,
        review_date=review, lawful_basis=art6, article_9=art9, statutory_gateways=gateways,
        may_request=may_request, review_approver_roles=may_approve,
        review_approver_must_not_be_requester=bool(not_requester),
        approvers=tuple(str(a) for a in approvers), approvals_required=required or MIN_APPROVERS,
        sensitivity=sensitivity, sensitive_release_rag=release_rag,
        sensitive_release_consent=release_consent, retention=retention, break_glass=glass,
        purposes=purposes, path=path, sha256=digest,
    )


def _date_bound(r: _Reader, doc: Mapping[str, Any], key: str, *, end: bool) -> datetime | None:
    value = r.get(doc, key, key, (date, datetime))
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            r.problem(key, "a date-time must carry a UTC offset (or give a plain date)")
            return None
        return value
    # A plain date is a whole UK day; the end date is inclusive.
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(0, 0), tzinfo=UK)


def _sensitivity(r: _Reader, doc: Mapping[str, Any],
                 agency: Agency | None) -> dict[Category, Sensitivity]:
    table = r.get(doc, "categories", "categories", dict) or {}
    out: dict[Category, Sensitivity] = {}
    held = AGENCY_CATEGORIES.get(agency, ()) if agency else ()
    for name, level in table.items():
        field = f"categories.{name}"
        category = r.vocab(Category, name, field)
        sensitivity = r.vocab(Sensitivity, level, field)
        if category is None or sensitivity is None:
            continue
        if agency is not None and category not in held:
            r.problem(field, f"{agency} does not hold {category}")
            continue
        out[category] = sensitivity
    for category in held:
        if category not in out:
            r.problem("categories", f"no sensitivity given for {category} (it counts as sealed)",
                      Severity.WARNING)
    return out


def _break_glass(r: _Reader, doc: Mapping[str, Any]) -> BreakGlassTerms:
    table = r.get(doc, "break_glass", "break_glass", dict, {}) or {}
    _unknown_keys(r, table, {"allowed", "rag", "reasons", "min_justification_chars",
                             "valid_for_minutes", "raises"}, "break_glass")
    allowed = bool(r.get(table, "allowed", "break_glass.allowed", bool, False))
    rag = r.vocab_set(Rag, table, "rag", "break_glass.rag", [])
    reasons = r.vocab_set(ReasonCode, table, "reasons", "break_glass.reasons", [])
    min_chars = r.get(table, "min_justification_chars", "break_glass.min_justification_chars",
                      int, 1) or 1
    minutes = r.get(table, "valid_for_minutes", "break_glass.valid_for_minutes", int, 0) or 0
    raises = r.get(table, "raises", "break_glass.raises", list, []) or []
    for event in raises:
        if event not in BREAK_GLASS_EVENTS:
            r.problem("break_glass.raises", f"unknown event {event!r} "
                      f"(allowed: {', '.join(BREAK_GLASS_EVENTS)})")
    if allowed:
        if minutes <= 0:
            r.problem("break_glass.valid_for_minutes",
                      "must be positive when break-glass is allowed")
        if not rag or not reasons:
            r.problem("break_glass", "rag and reasons must be listed when break-glass is allowed")
        for event in BREAK_GLASS_EVENTS:
            if event not in raises:
                r.problem("break_glass.raises", f"every break-glass use must raise {event!r}")
    return BreakGlassTerms(allowed, rag, reasons, max(1, min_chars), timedelta(minutes=minutes),
                           tuple(e for e in raises if e in BREAK_GLASS_EVENTS))


def _purposes(r: _Reader, doc: Mapping[str, Any], agency: Agency | None,
              gateways: frozenset[StatutoryGateway],
              sensitivity: Mapping[Category, Sensitivity]) -> dict[Purpose, PurposeTerms]:
    table = r.get(doc, "purposes", "purposes", dict) or {}
    out: dict[Purpose, PurposeTerms] = {}
    for name, terms in table.items():
        base = f"purposes.{name}"
        purpose = r.vocab(Purpose, name, base)
        if purpose is None or not isinstance(terms, dict):
            if purpose is not None:
                r.problem(base, "must be a table")
            continue
        _unknown_keys(r, terms, {"gateway", "note", "subject_categories", "consent_rules"}, base)
        gw_raw = r.get(terms, "gateway", f"{base}.gateway", str)
        gateway = None if gw_raw is None else r.vocab(StatutoryGateway, gw_raw, f"{base}.gateway")
        if gateway is not None:
            if gateway is not GATEWAY_FOR_PURPOSE[purpose]:
                r.problem(f"{base}.gateway", f"{purpose} is exercised under "
                          f"{GATEWAY_FOR_PURPOSE[purpose]}, not {gateway}")
            if gateway not in gateways:
                r.problem(f"{base}.gateway", "is not listed in lawful_basis.statutory_gateways")
        subjects = _subject_categories(r, terms, base, agency, sensitivity)
        rules = _consent_rules(r, terms, base)
        if not rules:
            r.problem(f"{base}.consent_rules", "no consent rules: every request is DENIED",
                      Severity.WARNING)
        if gateway is not None:
            out[purpose] = PurposeTerms(purpose, gateway, subjects, rules,
                                        r.get(terms, "note", f"{base}.note", str, "") or "")
    return out


def _subject_categories(r: _Reader, terms: Mapping[str, Any], base: str, agency: Agency | None,
                        sensitivity: Mapping[Category, Sensitivity],
                        ) -> dict[SubjectRole, frozenset[Category]]:
    table = r.get(terms, "subject_categories", f"{base}.subject_categories", dict) or {}
    held = AGENCY_CATEGORIES.get(agency, ()) if agency else ()
    out: dict[SubjectRole, frozenset[Category]] = {}
    for role_name, names in table.items():
        field = f"{base}.subject_categories.{role_name}"
        role = r.vocab(SubjectRole, role_name, field)
        if role is None:
            continue
        if not isinstance(names, list):
            r.problem(field, "must be a list of categories")
            continue
        cats: set[Category] = set()
        for n in names:
            category = r.vocab(Category, n, field)
            if category is None:
                continue
            if agency is not None and category not in held:
                r.problem(field, f"{agency} does not hold {category}")
            elif sensitivity.get(category, Sensitivity.SEALED) is Sensitivity.SEALED:
                r.problem(field, f"{category} is sealed (or unrated) and can never be disclosed")
            else:
                cats.add(category)
        out[role] = frozenset(cats)
    return out


def _consent_rules(r: _Reader, terms: Mapping[str, Any], base: str) -> tuple[ConsentRule, ...]:
    rows = r.get(terms, "consent_rules", f"{base}.consent_rules", list) or []
    out: list[ConsentRule] = []
    for i, row in enumerate(rows):
        field = f"{base}.consent_rules[{i}]"
        if not isinstance(row, dict):
            r.problem(field, "must be a table")
            continue
        _unknown_keys(r, row, {"rag", "consent", "reasons", "decision", "note"}, field)
        rag = r.vocab_set(Rag, row, "rag", f"{field}.rag")
        consent = r.vocab_set(ConsentState, row, "consent", f"{field}.consent")
        reasons = (r.vocab_set(ReasonCode, row, "reasons", f"{field}.reasons")
                   if "reasons" in row else None)
        decision_raw = r.get(row, "decision", f"{field}.decision", str)
        decision = None if decision_raw is None else r.vocab(Decision, decision_raw,
                                                             f"{field}.decision")
        if decision is not None:
            out.append(ConsentRule(rag, consent, reasons, decision,
                                   r.get(row, "note", f"{field}.note", str, "") or ""))
    return tuple(out)


def _unknown_keys(r: _Reader, table: Mapping[str, Any], known: Iterable[str], base: str) -> None:
    for key in table:
        if key not in known:
            field = f"{base}.{key}" if base else key
            r.problem(field, "unknown field (misspelt?)")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names: dict[type, str] = {str: "text", int: "a whole number", bool: "true or false",
                              list: "a list", dict: "a table", date: "a date",
                              datetime: "a date-time"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _line_from_message(message: str) -> int:
    marker = "line "
    if marker in message:
        digits = message.split(marker, 1)[1].split()[0].rstrip(",)")
        if digits.isdigit():
            return int(digits)
    return 0

