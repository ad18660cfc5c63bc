"""The IG lead's `mash audit` commands: search, sar, accesses, review-queue, sign-off,
reconcile, alerts, retention."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

from audit.alerts import default_rules, scan
from audit.errors import AuditError, AuditLogBusy
from audit.events import AuditEvent, EventKind
from audit.keys import load_checkpoint_key
from audit.log import AuditLog
from audit.pseudonyms import Pseudonymiser, PseudonymKeyError, default_key_path
from audit.query import SearchFilter, search
from audit.reading import AuditRecord, describe, logs_in, printable, records_where
from audit.reconcile import reconcile
from audit.review import ReviewError, ReviewFinding, open_ig_log, review_queue, sign_off
from audit.sar import build_sar, last_accesses, render_html
from audit.store import SqliteAuditStore
from certs.files import write_private
from mash.clock import utc_now
from mash.command import HOME, Subparsers, typed
from mash.errors import UsageError
from mash.home import Home
from mash.vocab import Decision, Purpose, Role, parse
from mash.working_calendar import home_calendar

TABLE_COLUMNS = ("ts", "log", "entry_id", "kind", "actor_role", "actor_org", "actor_id",
                 "referral_id", "agency", "purpose", "decision", "consent_state", "rag",
                 "outcome")


def register_ig(commands: Subparsers) -> None:
    """Add the IG lead's sub-commands under `mash audit`."""
    s = commands.add_parser("search", help="search the audit logs (IG leads)", parents=[HOME])
    _person(s, required=False)
    s.add_argument("--requester", metavar="ID", help="staff (actor) id")
    s.add_argument("--role", help="requester's role")
    s.add_argument("--org", help="requester's organisation")
    s.add_argument("--agency")
    s.add_argument("--referral", metavar="ID")
    s.add_argument("--decision", help="PERMIT, DENY or REVIEW")
    s.add_argument("--purpose")
    s.add_argument("--kind", action="append", default=[], help="event kind (repeatable)")
    s.add_argument("--break-glass", action="store_true", help="break-glass uses only")
    s.add_argument("--consent-overrides", action="store_true",
                   help="consent refused, withdrawn or not sought")
    s.add_argument("--green-without-consent", action="store_true",
                   help="Green referrals shared without consent")
    s.add_argument("--after-hours", action="store_true",
                   help="outside 08:00-18:00 on working days in England")
    s.add_argument("--since", type=_date, metavar="YYYY-MM-DD[THH:MM]")
    s.add_argument("--until", type=_date, metavar="YYYY-MM-DD[THH:MM]", help="exclusive")
    s.add_argument("--log", action="append", default=[], metavar="NAME",
                   help="only this log (file stem; repeatable)")
    s.add_argument("--limit", type=int, default=None)
    s.add_argument("--format", choices=("table", "json", "csv"), default="table")
    _by(s)
    s.set_defaults(handler=typed(SearchArgs, cmd_search))

    sar = commands.add_parser("sar", help="subject access report for one person (JSON + HTML)",
                              parents=[HOME])
    _person(sar, required=True)
    sar.add_argument("--out", metavar="DIR", type=Path,
                     help="write sar.json and sar.html here (default: JSON to stdout)")
    sar.add_argument("--staff", choices=("roles", "ids"), default="roles",
                     help="show staff as roles only (default) or with their ids")
    _by(sar)
    sar.set_defaults(handler=typed(SarArgs, cmd_sar))

    acc = commands.add_parser("accesses", help="who has looked at this person: the last 25", parents=[HOME])
    _person(acc, required=True)
    acc.add_argument("--limit", type=int, default=25)
    acc.add_argument("--format", choices=("table", "json", "csv"), default="table")
    _by(acc)
    acc.set_defaults(handler=typed(AccessesArgs, cmd_accesses))

    rq = commands.add_parser("review-queue",
                             help="break-glass uses and consent overrides awaiting review", parents=[HOME])
    rq.add_argument("--format", choices=("table", "json"), default="table")
    rq.set_defaults(handler=typed(FormatArgs, cmd_review_queue))

    so = commands.add_parser("sign-off", help="sign off a review-queue item with a finding", parents=[HOME])
    so.add_argument("item", metavar="LOG:ENTRY", help="as listed by review-queue, e.g. broker:17")
    so.add_argument("--reviewer", required=True, metavar="ID", help="the IG lead's id")
    so.add_argument("--finding", required=True, choices=[f.value for f in ReviewFinding])
    so.add_argument("--note", required=True, help="the written finding")
    so.set_defaults(handler=typed(SignOffArgs, cmd_sign_off))

    rc = commands.add_parser("reconcile",
                             help="match adapter disclosures to the broker's requests", parents=[HOME])
    rc.add_argument("--format", choices=("table", "json"), default="table")
    rc.set_defaults(handler=typed(FormatArgs, cmd_reconcile))

    al = commands.add_parser("alerts", help="alerts recorded in the logs (or --scan to replay)",
                             parents=[HOME])
    al.add_argument("--scan", action="store_true",
                    help="replay the alert rules over the logs instead of listing alert entries")
    al.set_defaults(handler=typed(AlertsArgs, cmd_alerts))

    rt = commands.add_parser("retention",
                             help="redact personal parts of entries older than N days", parents=[HOME])
    rt.add_argument("--older-than-days", type=int, required=True, metavar="N")
    rt.add_argument("--log", action="append", default=[], metavar="NAME")
    rt.set_defaults(handler=typed(RetentionArgs, cmd_retention))


# ---------------------------------------------------------------- arguments

@dataclass(frozen=True)
class PersonArgs:
    """The person a command is about (`_person`), and who asks (`--by`)."""

    home: str | None
    nhs_number: str | None
    name: str | None
    given_name: str | None
    family_name: str | None
    dob: str | None
    person_required: bool
    by: str | None


@dataclass(frozen=True)
class SearchArgs(PersonArgs):
    """`mash audit search`."""

    requester: str | None
    role: str | None
    org: str | None
    agency: str | None
    referral: str | None
    decision: str | None
    purpose: str | None
    kind: list[str]
    break_glass: bool
    consent_overrides: bool
    green_without_consent: bool
    after_hours: bool
    since: datetime | None
    until: datetime | None
    log: list[str]
    limit: int | None
    format: str


@dataclass(frozen=True)
class SarArgs(PersonArgs):
    """`mash audit sar`."""

    out: Path | None
    staff: Literal["roles", "ids"]


@dataclass(frozen=True)
class AccessesArgs(PersonArgs):
    """`mash audit accesses`."""

    limit: int
    format: str


@dataclass(frozen=True)
class FormatArgs:
    """`mash audit review-queue` and `mash audit reconcile`."""

    home: str | None
    format: str


@dataclass(frozen=True)
class SignOffArgs:
    """`mash audit sign-off`."""

    home: str | None
    item: str
    reviewer: str
    finding: str
    note: str


@dataclass(frozen=True)
class AlertsArgs:
    """`mash audit alerts`."""

    home: str | None
    scan: bool


@dataclass(frozen=True)
class RetentionArgs:
    """`mash audit retention`."""

    home: str | None
    older_than_days: int
    log: list[str]


def _by(p: argparse.ArgumentParser) -> None:
    p.add_argument("--by", metavar="ID", help="your staff id: the search itself is recorded in "
                   "the IG log (who searched for whom, by pseudonym)")


def _record_use(home: Home, args: PersonArgs, kind: EventKind,
                pseudonyms: tuple[str, ...], what: str, referral: str | None = None) -> None:
    """Record in the IG log that `args.by` used the log (nothing if --by was not given)."""
    if not args.by:
        return
    log = open_ig_log(home)
    try:
        log.append(AuditEvent(kind=kind, actor_id=args.by, actor_role="ig_lead",
                              referral_id=referral, outcome=what,
                              subject_pseudonyms=pseudonyms))
    finally:
        log.close()


def _person(p: argparse.ArgumentParser, *, required: bool) -> None:
    g = p.add_argument_group("person (pseudonymised with the home's log key, never stored)")
    g.add_argument("--nhs-number", metavar="N")
    g.add_argument("--name", metavar='"GIVEN FAMILY"', help="full name (with --dob)")
    g.add_argument("--given-name")
    g.add_argument("--family-name")
    g.add_argument("--dob", metavar="YYYY-MM-DD", help="date of birth (with the name)")
    p.set_defaults(person_required=required)


def _date(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _pseudonyms(args: PersonArgs, home: Home) -> tuple[tuple[str, ...], list[str]]:
    """(pseudonyms, kinds of identifier used) for the person in `args` (may be empty)."""
    given, family = args.given_name, args.family_name
    if args.name:
        parts = args.name.split()
        if len(parts) < 2:
            raise UsageError("--name needs a given and a family name")
        given, family = " ".join(parts[:-1]), parts[-1]
    if (given or family) and not args.dob:
        raise UsageError("a name needs --dob too")
    if args.dob:
        try:
            date.fromisoformat(args.dob)
        except ValueError:
            raise UsageError(f"--dob is not a date: {args.dob!r}") from None
    asked = bool(args.nhs_number or given or family or args.dob)
    if not asked:
        if args.person_required:
            raise UsageError("name the person: --nhs-number N, or --name ... --dob ...")
        return (), []
    try:
        p = Pseudonymiser.load(default_key_path(home))
    except PseudonymKeyError as exc:
        raise UsageError(f"{exc} (the home's services create it on first use)") from None
    used = []
    out = []
    if args.nhs_number:
        nhs = p.nhs_number(args.nhs_number)
        if nhs is None:
            raise UsageError("--nhs-number must have 10 digits")
        out.append(nhs)
        used.append("NHS number")
    if given or family:
        nd = p.name_and_dob(given, family, args.dob)
        if nd is None:
            raise UsageError("name and date of birth are not usable")
        out.append(nd)
        used.append("name and date of birth")
    return tuple(out), used


# ---------------------------------------------------------------- output
def _row(r: AuditRecord) -> dict[str, str]:
    d = r.to_json_dict()
    return {c: printable(str(d.get(c, ""))) for c in TABLE_COLUMNS}


def _print_records(records: list[AuditRecord], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps([r.to_json_dict() for r in records], indent=2))
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=TABLE_COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in records:
            w.writerow(_row(r))
        sys.stdout.write(buf.getvalue())
    else:
        for r in records:
            print(describe(r))
        print(f"({len(records)} entries)")


# ---------------------------------------------------------------- handlers
def cmd_search(args: SearchArgs) -> int:
    """`mash audit search`."""
    home = Home.at(args.home)
    pseudonyms, _ = _pseudonyms(args, home)
    person_asked = bool(args.nhs_number or args.name or args.given_name or args.family_name)
    flt = SearchFilter(
        pseudonyms=pseudonyms, person_required=person_asked, requester=args.requester,
        role=parse(Role, args.role) if args.role else None, org=args.org,
        agency=args.agency, referral=args.referral,
        decision=parse(Decision, args.decision.upper()) if args.decision else None,
        purpose=parse(Purpose, args.purpose) if args.purpose else None,
        kinds=tuple(parse(EventKind, k).value for k in args.kind),
        break_glass=args.break_glass, consent_override=args.consent_overrides,
        green_without_consent=args.green_without_consent, after_hours=args.after_hours,
        since=args.since, until=args.until, logs=tuple(args.log))
    records = search(home, flt, limit=args.limit)
    _record_use(home, args, EventKind.AUDIT_SEARCHED, pseudonyms, f"{len(records)} entries",
                args.referral)
    _print_records(records, args.format)
    return 0


def cmd_sar(args: SarArgs) -> int:
    """`mash audit sar`: JSON (stdout or DIR/sar.json) and HTML (DIR/sar.html)."""
    home = Home.at(args.home)
    pseudonyms, used = _pseudonyms(args, home)
    report = build_sar(home, pseudonyms, identifiers_used=used, now=utc_now(),
                       staff=args.staff)
    _record_use(home, args, EventKind.SAR_PRODUCED, pseudonyms,
                f"{len(report.requests)} requests")
    data = json.dumps(report.to_json_dict(), indent=2)
    if args.out is None:
        print(data)
        return 0
    # The report names a person and what was shared about them: private to the user.
    args.out.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(args.out / "sar.json", (data + "\n").encode("utf-8"))
    write_private(args.out / "sar.html", render_html(report).encode("utf-8"))
    print(f"{len(report.requests)} request(s) named this person; wrote "
          f"{args.out / 'sar.json'} and {args.out / 'sar.html'}")
    return 0


def cmd_accesses(args: AccessesArgs) -> int:
    """`mash audit accesses`: the last N accesses to a person, newest first."""
    home = Home.at(args.home)
    pseudonyms, _ = _pseudonyms(args, home)
    records = last_accesses(home, pseudonyms, limit=args.limit)
    _record_use(home, args, EventKind.AUDIT_SEARCHED, pseudonyms, f"{len(records)} accesses")
    _print_records(records, args.format)
    return 0


def cmd_review_queue(args: FormatArgs) -> int:
    """`mash audit review-queue`."""
    items = review_queue(Home.at(args.home))
    if args.format == "json":
        print(json.dumps([{"item": i.ref, "why": i.why, **i.record.to_json_dict()}
                          for i in items], indent=2))
        return 0
    for i in items:
        print(printable(f"{i.ref:<16} {i.why:<40}") + f" {describe(i.record)}")
    print(f"({len(items)} awaiting review; sign off with "
          "`mash audit sign-off LOG:ENTRY --reviewer ID --finding ... --note ...`)")
    return 0


def cmd_sign_off(args: SignOffArgs) -> int:
    """`mash audit sign-off LOG:ENTRY`."""
    home = Home.at(args.home)
    try:
        entry = sign_off(home, args.item, reviewer=args.reviewer,
                         finding=ReviewFinding(args.finding), note=args.note)
    except ReviewError as exc:
        raise UsageError(str(exc)) from None
    print(f"signed off {args.item} as {args.finding} (ig log entry {entry})")
    return 0


def cmd_reconcile(args: FormatArgs) -> int:
    """`mash audit reconcile`: exit 1 if anything serious is found."""
    report = reconcile(Home.at(args.home))
    if args.format == "json":
        print(json.dumps({
            "broker_logs": report.broker_logs, "adapter_logs": report.adapter_logs,
            "queries_matched": report.queries_matched,
            "disclosures_matched": report.disclosures_matched,
            "differences": [d.__dict__ for d in report.differences]}, indent=2))
    else:
        print(f"broker logs: {', '.join(report.broker_logs) or 'none'}; adapter logs: "
              f"{', '.join(report.adapter_logs) or 'none'}")
        print(f"{report.queries_matched} queries and {report.disclosures_matched} disclosures "
              f"matched; {len(report.differences)} differences")
        for d in report.differences:
            print(printable(d.line()))
    return 1 if report.serious else 0


def cmd_alerts(args: AlertsArgs) -> int:
    """`mash audit alerts [--scan]`."""
    home = Home.at(args.home)
    if not args.scan:
        flt = SearchFilter(kinds=(EventKind.ALERT.value,))
        _print_records(search(home, flt), "table")
        return 0
    rows: list[tuple[str, int, str, AuditEvent]] = []
    for path in logs_in(home):
        rows += [(r.log, r.entry_id, r.ts, r.event) for r in records_where(path, "1", [])]
    rows.sort(key=lambda t: (t[2], t[0], t[1]))
    alerts = scan(rows, default_rules(home_calendar(home)))
    for a in alerts:
        print(printable(f"{a.rule:<18} {a.log}:{a.entry_id:<8} actor={a.actor_id} "
                        f"referral={a.referral_id}: {a.message}"))
    print(f"({len(alerts)} alerts)")
    return 0


def cmd_retention(args: RetentionArgs) -> int:
    """`mash audit retention --older-than-days N`: redact, keeping hashes."""
    home = Home.at(args.home)
    cutoff = utc_now() - timedelta(days=args.older_than_days)
    paths = [p for p in logs_in(home) if not args.log or p.stem in args.log]
    for path in paths:
        owner = path.stem
        try:
            log = AuditLog.open(path, owner=_owner(path),
                                checkpoint_key=load_checkpoint_key(home, _owner(path)))
        except AuditLogBusy:
            print(f"{path.name}: in use by its service; run retention from the service")
            continue
        except AuditError as exc:
            print(f"{path.name}: {exc}")
            continue
        try:
            ids = log.redact_before(cutoff)
        finally:
            log.close()
        print(f"{owner}: redacted the personal part of {len(ids)} entries before "
              f"{cutoff.date()}")
    return 0


def _owner(path: Path) -> str:
    with SqliteAuditStore.open_readonly(path) as store:
        return store.owner()
