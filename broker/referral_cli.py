"""`mash timescale`, `mash referral ...` and `mash summary ...` (registered from mash/app/cli.py).

The referral and summary commands are clients of the running broker's
`Referrals` API (mTLS with a client certificate and a staff token): only the
broker opens its referral store. Who acted is the token's staff id and role;
`--by` (and `--role` of `summary show`) only name the staff id (and role) of
the development token issued when no `--token` is given -- with a token from
the organisation's identity provider they are ignored. `mash timescale` is
pure arithmetic and runs locally.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

import msgspec
import structlog

from broker.connection import ConnectionArgs, add_connection_args
from broker.timescales import (
    TimescaleError,
    WorkingCalendar,
    due_at,
    home_calendar,
    load_calendar,
    timescale_state,
)
from certs.files import write_private
from mash import logs
from mash.canonical import JsonValue
from mash.command import HOME, Subparsers, typed
from mash.config import ConfigError, Strict, decode
from mash.errors import UsageError
from mash.home import Home
from mash.vocab import (
    ConsentState,
    LevelOfNeed,
    Outcome,
    Purpose,
    Rag,
    ReasonCode,
    ReferralSource,
    ReferralStatus,
    Role,
    StatutoryGateway,
    parse,
)

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from mash.v1 import mash_pb2 as pb
    from mash.v1 import referrals_pb2 as rpb

#: How a timescale in trouble is flagged in text output.
_FLAGS = {"breached": "BREACHED", "at_risk": "AT RISK"}

#: The per-local-authority calendar file inside a home folder (optional).

#: Report formats of `mash summary show`.
FORMATS = ("html", "json", "text")

Handler = Callable[[argparse.Namespace], int]

#: Refusals that mean the request itself was wrong: exit 2, like any usage error.
_BAD_INPUT = ("INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "ALREADY_EXISTS")


# ---------------------------------------------------------------- arguments


@dataclass(frozen=True)
class TimescaleArgs:
    """`mash timescale`."""

    home: str | None
    rag: str
    received: str
    now: str | None
    config: Path | None


@dataclass(frozen=True)
class StaffArgs(ConnectionArgs):
    """A referral command's connection, and `--by` for the development token."""

    by: str | None


@dataclass(frozen=True)
class CreateArgs(StaffArgs):
    """`mash referral create`."""

    referral_id: str | None
    source: str
    reason: str
    rag: str
    received: str | None
    subject: list[str]
    subjects_file: Path | None
    json: bool


@dataclass(frozen=True)
class EditArgs(StaffArgs):
    """`mash referral edit`."""

    referral_id: str
    reason: str | None
    source: str | None
    subject: list[str]
    subjects_file: Path | None
    remove: list[str]
    note: str
    json: bool


@dataclass(frozen=True)
class ShowArgs(StaffArgs):
    """`mash referral show`."""

    referral_id: str
    now: str | None
    json: bool


@dataclass(frozen=True)
class ListArgs(StaffArgs):
    """`mash referral list`."""

    status: str | None
    all: bool
    search: str
    now: str | None
    json: bool


@dataclass(frozen=True)
class ReferralLookupArgs(StaffArgs):
    """`mash referral lookup`."""

    referral_id: str
    purpose: str
    gateway: str | None
    consent: str
    consent_reason: str | None
    agency: list[str]
    format: str


@dataclass(frozen=True)
class RerateArgs(StaffArgs):
    """`mash referral rerate`."""

    referral_id: str
    rag: str
    reason: str
    purpose: str | None
    gateway: str | None
    consent: str | None
    consent_reason: str | None
    agency: list[str]
    no_refetch: bool
    json: bool


@dataclass(frozen=True)
class StatusArgs(StaffArgs):
    """`mash referral status`."""

    referral_id: str
    status: str
    note: str
    json: bool


@dataclass(frozen=True)
class DecideArgs(StaffArgs):
    """`mash referral decide`."""

    referral_id: str
    level: str
    outcome: str
    rationale: str
    json: bool


@dataclass(frozen=True)
class WithdrawnArgs:
    """A withdrawn command: it reads none of its arguments."""


@dataclass(frozen=True)
class PurgeArgs(ConnectionArgs):
    """`mash referral purge`."""

    json: bool


@dataclass(frozen=True)
class SummaryShowArgs(StaffArgs):
    """`mash summary show`."""

    referral_id: str
    format: str
    out: Path | None
    now: str | None
    earlier: bool


class _StderrProxy:
    """Writes to whatever `sys.stderr` is at the time (never holds a closed stream)."""

    def write(self, text: str) -> int:
        """Write `text` to the current stderr."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current stderr."""
        sys.stderr.flush()


class _Refused(Exception):
    """The broker refused or could not be reached; the message is for the user."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _friendly(handler: Handler) -> Handler:
    """Turn broker refusals into one-line errors: bad input exits 2, anything else 1."""
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        # stdout carries the command's output (often JSON); application logs go to stderr.
        if not structlog.is_configured():
            logs.configure(json=True, level="warning", stream=cast(TextIO, _StderrProxy()))
        try:
            return handler(args)
        except TimescaleError as exc:
            raise UsageError(str(exc)) from None
        except _Refused as exc:
            if exc.code == 2:
                raise UsageError(str(exc)) from None
            print(f"mash: {exc}", file=sys.stderr)
            return exc.code
    return run


def _call(args: ConnectionArgs, method: str, request: Message) -> Any:
    """Call `Referrals.<method>` on the running broker as the token's staff member (grpc's
    stubs are untyped: the caller names the reply's type)."""
    import grpc

    from broker.connection import NoRunningBroker, connect

    by = args.by if isinstance(args, StaffArgs) else None
    if by and not args.token:
        args = dataclasses.replace(args, sub=by)  # the development token's staff id
    elif by:
        print("mash: --by is ignored: the actor is the token's staff id", file=sys.stderr)
    try:
        with connect(args) as client:
            return client.referrals(method, request)
    except NoRunningBroker as exc:
        raise _Refused(str(exc), 1) from None
    except grpc.RpcError as exc:
        code = exc.code()
        if code == grpc.StatusCode.UNAVAILABLE:
            raise _Refused(f"no broker is running at that address, or it is unavailable "
                           f"(UNAVAILABLE): {exc.details()}; nothing was recorded", 1) from None
        if code.name in _BAD_INPUT:
            raise _Refused(exc.details() or code.name, 2) from None
        raise _Refused(f"refused: {code.name}: {exc.details()}", 1) from None


def _client_args(p: argparse.ArgumentParser, *, role: Role = Role.MASH_SOCIAL_WORKER,
                 sub: str = "sw-104", by: bool = True) -> None:
    add_connection_args(p, default_role=role.value, default_sub=sub)
    if by:
        p.add_argument("--by", help="staff id for the development token (ignored with "
                                    "--token: the actor is always the token's)")


def register(sub: Subparsers) -> None:
    """Add `timescale`, `referral` and `summary` to the `mash` parser."""
    p = sub.add_parser("timescale", help="when a referral's research is due (working hours)",
                       description="Print the due time of a referral as JSON: "
                                   '{"due": "<ISO 8601 with offset>", ...}.', parents=[HOME])
    p.add_argument("--rag", required=True, help="red | amber | green")
    p.add_argument("--received", required=True,
                   help="when the referral was received, ISO 8601 with offset")
    p.add_argument("--now", help="also say whether the timescale is on_track/at_risk/breached "
                                 "at this ISO 8601 time")
    p.add_argument("--config", type=Path, help="local authority calendar TOML "
                                               "(default: HOME/config/timescales.toml if present)")
    p.set_defaults(handler=_friendly(typed(TimescaleArgs, _timescale)))
    _register_referral(sub)
    _register_summary(sub)


def _register_referral(sub: Subparsers) -> None:
    referral = sub.add_parser("referral", help="record and move referrals through the MASH")
    rsub = referral.add_subparsers(dest="referral_command", required=True, metavar="ACTION")

    p = rsub.add_parser("create", help="record a newly received referral", parents=[HOME])
    p.add_argument("--id", dest="referral_id", help="referral id (default: generated)")
    p.add_argument("--source", required=True, help=" | ".join(s.value for s in ReferralSource))
    p.add_argument("--reason", required=True, help="why the referral was made")
    p.add_argument("--rag", required=True, help="initial rating: red | amber | green")
    p.add_argument("--received", help="when received, ISO 8601 with offset (default: now)")
    _subject_args(p)
    _client_args(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(typed(CreateArgs, _create)))

    p = rsub.add_parser("edit", help="correct a referral; add, correct or remove subjects",
                        description="A --subject with the subject_id of an existing subject "
                                    "replaces its role and identifiers; without one (or with "
                                    "a new id) it adds a person. Every change is kept in the "
                                    "referral's history.", parents=[HOME])
    p.add_argument("referral_id")
    p.add_argument("--reason", help="the corrected referral reason")
    p.add_argument("--source", help=" | ".join(s.value for s in ReferralSource))
    _subject_args(p)
    p.add_argument("--remove", action="append", default=[], metavar="SUBJECT_ID",
                   help="remove this subject (repeat)")
    p.add_argument("--note", default="", help="why (kept in the history)")
    _client_args(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(typed(EditArgs, _edit)))

    p = rsub.add_parser("show", help="a referral with its history and timescale", parents=[HOME])
    p.add_argument("referral_id")
    p.add_argument("--now", help="judge the timescale at this ISO 8601 time (default: now)")
    _client_args(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(typed(ShowArgs, _show)))

    p = rsub.add_parser("list", help="open referrals, most urgent first", parents=[HOME])
    p.add_argument("--status", help=" | ".join(s.value for s in ReferralStatus))
    p.add_argument("--all", action="store_true", help="include decided and closed referrals")
    p.add_argument("--search", default="", help="a referral id, NHS number, UPN, date of "
                                                "birth or (part of) a name")
    p.add_argument("--now", help="judge timescales at this ISO 8601 time (default: now)")
    _client_args(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(typed(ListArgs, _list)))

    p = rsub.add_parser(
        "lookup", help="ask every agency about the referral's subjects, through the broker",
        description="The broker builds the lookup from the stored referral (its subjects and "
                    "current rating), asks the agencies, files the summary with the referral "
                    "under the agreements' retention; the summary report is printed.", parents=[HOME])
    p.add_argument("referral_id")
    _lookup_terms_args(p, required=True)
    p.add_argument("--agency", action="append", default=[], help="ask only these agencies")
    p.add_argument("--format", choices=["text", "json"], default="text")
    _client_args(p)
    p.set_defaults(handler=_friendly(typed(ReferralLookupArgs, _referral_lookup)))

    p = rsub.add_parser(
        "rerate", help="change the RAG rating (who and why are recorded)",
        description="Record a new rating. When the rating is raised, policy is evaluated "
                    "again under the latest lookup's terms and the agencies are asked only "
                    "for the categories newly permitted; lowering never asks anything.", parents=[HOME])
    p.add_argument("referral_id")
    p.add_argument("--rag", required=True)
    p.add_argument("--reason", required=True)
    _lookup_terms_args(p, required=False)
    p.add_argument("--agency", action="append", default=[],
                   help="re-ask only these agencies (default: all)")
    p.add_argument("--no-refetch", action="store_true",
                   help="only record the rating; ask no agency again")
    _client_args(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(typed(RerateArgs, _rerate)))

    p = rsub.add_parser("status", help="move a referral: screening -> researching -> closed", parents=[HOME])
    p.add_argument("referral_id")
    p.add_argument("status", help="researching | closed")
    p.add_argument("--note", default="")
    _client_args(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(typed(StatusArgs, _status)))

    p = rsub.add_parser("decide", help="record the team manager's decision", parents=[HOME])
    p.add_argument("referral_id")
    p.add_argument("--level", required=True, help=" | ".join(v.value for v in LevelOfNeed))
    p.add_argument("--outcome", required=True, help=" | ".join(v.value for v in Outcome))
    p.add_argument("--rationale", required=True)
    _client_args(p, role=Role.MASH_TEAM_MANAGER, sub="tm-310")
    _json_flag(p)
    p.set_defaults(handler=_friendly(typed(DecideArgs, _decide)))

    p = rsub.add_parser("attach-summary",
                        help="withdrawn: the broker files each lookup's summary itself", parents=[HOME])
    p.add_argument("referral_id")
    p.add_argument("file", type=Path)
    p.add_argument("--retain-days", action="append", default=[], metavar="AGREEMENT=DAYS")
    p.add_argument("--default-retain-days", type=int)
    p.add_argument("--policy-dir", type=Path)
    p.set_defaults(handler=typed(WithdrawnArgs, _attach))

    p = rsub.add_parser("purge", help="delete summaries whose retention has passed "
                                      "(each deletion is recorded in the audit log)", parents=[HOME])
    _client_args(p, role=Role.MASH_TEAM_MANAGER, sub="tm-310", by=False)
    _json_flag(p)
    p.set_defaults(handler=_friendly(typed(PurgeArgs, _purge)))


def _register_summary(sub: Subparsers) -> None:
    summary = sub.add_parser("summary", help="the summary report a team manager decides from")
    ssub = summary.add_subparsers(dest="summary_command", required=True, metavar="ACTION")
    p = ssub.add_parser("show", help="a referral's summary report (each agency's latest answer)",
                        parents=[HOME])
    p.add_argument("referral_id")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--out", type=Path, help="write to this file (private to you) not stdout")
    p.add_argument("--now", help="judge timescales and indicators at this ISO 8601 time")
    p.add_argument("--earlier", action="store_true",
                   help="also every earlier answer of each agency")
    _client_args(p)
    p.set_defaults(handler=_friendly(typed(SummaryShowArgs, _summary_show)))


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def _subject_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--subject", action="append", default=[], metavar="K=V,K=V",
                   help="a subject: role=child,given_name=...,family_name=...,"
                        "date_of_birth=YYYY-MM-DD,postcode=... (repeat per person)")
    p.add_argument("--subjects-file", type=Path,
                   help="JSON list of subjects (objects with role and identifier fields)")


def _lookup_terms_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    latest = "" if required else " (default: the latest lookup's)"
    p.add_argument("--purpose", required=required, choices=[v.value for v in Purpose],
                   help="why the agencies are asked" + latest)
    p.add_argument("--gateway", choices=[v.value for v in StatutoryGateway],
                   help="statutory gateway (default: the purpose's own)")
    p.add_argument("--consent", required=required, choices=[v.value for v in ConsentState],
                   help="consent state" + latest)
    p.add_argument("--consent-reason", choices=[v.value for v in ReasonCode],
                   help="reason code when consent was not sought or is overridden")


# ---------------------------------------------------------------- shared helpers

def calendar_for(config: Path | None, home: str | None) -> WorkingCalendar:
    """The calendar named by `--config`, else the home's, else the default."""
    return load_calendar(config) if config is not None else home_calendar(Home.at(home))


def parse_aware(name: str, value: str) -> datetime:
    """Parse an ISO 8601 time that must carry a UTC offset (exit 2 otherwise)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name}: not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise UsageError(f"{name}: give a UTC offset, e.g. {value}+00:00")
    return moment


def _as_of(now: str | None) -> str:
    return parse_aware("--now", now).isoformat() if now else ""


def _parse_subject(spec: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--subject: expected KEY=VALUE, got {item!r}")
        fields[key.strip()] = value.strip()
    return fields


class IdentifiersInput(Strict, frozen=True):
    """A subject's identifiers as `--subject` and `--subjects-file` give them (all text)."""

    given_name: str = ""
    family_name: str = ""
    other_names: str | list[str] = ""  # several separated by ';', or a JSON list
    date_of_birth: str = ""
    sex: str = ""
    postcode: str = ""
    address: str = ""
    nhs_number: str = ""
    upn: str = ""


class SubjectInput(IdentifiersInput, frozen=True):
    """One subject: role and id, identifiers flat beside them or in `identifiers`."""

    role: str = ""
    subject_id: str = ""
    identifiers: IdentifiersInput | None = None


def _subject_message(n: int, spec: object) -> pb.Subject:
    """Subject `n` (1-based) as a `mash.v1.Subject`; UsageError naming the bad field."""
    from mash.v1 import mash_pb2 as pb  # noqa: F811 -- the stubs load only when used

    try:
        subject = decode(SubjectInput, spec, f"subject {n}")
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    ids = {f.name: getattr(subject, f.name) for f in msgspec.structs.fields(IdentifiersInput)}
    if subject.identifiers is not None:  # the nested table wins over flat fields
        ids |= {k: v for k, v in msgspec.structs.asdict(subject.identifiers).items() if v}
    other = ids.pop("other_names")
    others = other.split(";") if isinstance(other, str) else other
    return pb.Subject(subject_id=subject.subject_id, role=subject.role,
                      identifiers=pb.Identifiers(other_names=[o for o in others if o], **ids))


def _subjects(args: CreateArgs | EditArgs) -> list[pb.Subject]:
    """The --subject and --subjects-file people as `mash.v1.Subject`s."""
    specs: list[object] = [_parse_subject(s) for s in args.subject]
    if args.subjects_file:
        try:
            loaded = json.loads(args.subjects_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"--subjects-file: {exc}") from None
        if not isinstance(loaded, list):
            raise UsageError("--subjects-file: expected a JSON list of objects")
        specs += loaded
    return [_subject_message(n, spec) for n, spec in enumerate(specs, start=1)]


def referral_view(r: rpb.Referral) -> dict[str, JsonValue]:
    """A `mash.v1.Referral` as the JSON `mash referral show --json` prints (a contract)."""
    def identifiers(subject: pb.Subject) -> dict[str, str]:
        ids = {f.name: v for f, v in subject.identifiers.ListFields()
               if f.name != "other_names"}
        if subject.identifiers.other_names:
            ids["other_names"] = ";".join(subject.identifiers.other_names)
        return ids

    decisions: list[JsonValue] = [{"level_of_need": d.level_of_need, "outcome": d.outcome,
                  "rationale": d.rationale, "by": d.by, "at": d.at} for d in r.decisions]
    return {
        "referral_id": r.referral_id, "received_at": r.received_at, "source": r.source,
        "reason": r.reason, "status": r.status, "rag": r.rag,
        "subjects": [{"subject_id": s.subject_id, "role": s.role,
                      "identifiers": identifiers(s)} for s in r.subjects],
        "rag_history": [{"rag": h.rag, "at": h.at, "by": h.by, "reason": h.reason}
                        for h in r.rag_history],
        "status_history": [{"status": s.status, "at": s.at, "by": s.by, "note": s.note}
                           for s in r.status_history],
        "decision": decisions[-1] if decisions else None,
        "decisions": decisions,
        "edits": [{"at": e.at, "by": e.by, "change": e.change, "note": e.note}
                  for e in r.edits],
        "due_at": r.due_at,
        "timescale": r.timescale or None,
        "pending_reviews": r.pending_reviews,
        "recorded_by": r.recorded_by,
    }


def _print_referral(as_json: bool, referral: rpb.Referral,
                    refetch: rpb.Refetch | None = None) -> int:
    if as_json:
        view = referral_view(referral)
        if refetch is not None:
            view["refetch"] = {
                "outcome": refetch.outcome, "message": refetch.message,
                "asked": [{"agency": a.agency, "categories": list(a.categories)}
                          for a in refetch.asked],
                "lookup_id": refetch.lookup_id or None}
        print(json.dumps(view, indent=2, ensure_ascii=False))
        return 0
    timescale = referral.timescale
    state = f" ({timescale.replace('_', ' ')})" if timescale else ""
    print(f"{referral.referral_id}  {referral.status}  {referral.rag.upper()}  "
          f"due {referral.due_at}{state}" + (f"  {_FLAGS[timescale]}"
                                             if timescale in _FLAGS else ""))
    if refetch is not None:
        if not refetch.asked:
            print(refetch.message)
        for item in refetch.asked:
            print(f"asked {item.agency} for {', '.join(item.categories)}")
        if refetch.lookup_id:
            print(f"filed lookup {refetch.lookup_id}")
    return 0


# ---------------------------------------------------------------- handlers

def _timescale(args: TimescaleArgs) -> int:
    rag = parse(Rag, args.rag)
    received = parse_aware("--received", args.received)
    calendar = calendar_for(args.config, args.home)
    due = due_at(received, rag, calendar)
    out: dict[str, object] = {
        "due": due.isoformat(),
        "due_utc": due.astimezone(UTC).isoformat(),
        "rag": rag.value,
        "received": received.isoformat(),
        "working_hours": calendar.timescales.for_rag(rag).total_seconds() / 3600,
    }
    if args.now:
        now = parse_aware("--now", args.now)
        out["now"] = now.isoformat()
        out["state"] = timescale_state(due, now, calendar)
    print(json.dumps(out))
    return 0


def _create(args: CreateArgs) -> int:
    from mash.v1 import referrals_pb2 as rpb

    received = parse_aware("--received", args.received).isoformat() if args.received else ""
    referral = _call(args, "CreateReferral", rpb.CreateReferralRequest(
        referral_id=args.referral_id or "", source=args.source, reason=args.reason,
        rag=args.rag, received_at=received, subjects=_subjects(args)))
    return _print_referral(args.json, referral)


def _edit(args: EditArgs) -> int:
    from mash.v1 import referrals_pb2 as rpb

    referral = _call(args, "EditReferral", rpb.EditReferralRequest(
        referral_id=args.referral_id, reason=args.reason or "", source=args.source or "",
        put_subjects=_subjects(args), remove_subject_ids=args.remove, note=args.note))
    return _print_referral(args.json, referral)


def _show(args: ShowArgs) -> int:
    from mash.v1 import referrals_pb2 as rpb

    referral = _call(args, "GetReferral", rpb.GetReferralRequest(
        referral_id=args.referral_id, as_of=_as_of(args.now)))
    if args.json:
        return _print_referral(args.json, referral)
    _print_referral(args.json, referral)
    print(f"  received {referral.received_at} from {referral.source}: {referral.reason}")
    for s in referral.subjects:
        name = " ".join(filter(None, (s.identifiers.given_name, s.identifiers.family_name)))
        print(f"  {s.subject_id:<18} {s.role:<16} {name or s.subject_id}")
    for h in referral.rag_history:
        print(f"  rated {h.rag:<6} {h.at} by {h.by}: {h.reason}")
    for st in referral.status_history:
        print(f"  {st.status:<12} {st.at} by {st.by}" + (f": {st.note}" if st.note else ""))
    for e in referral.edits:
        print(f"  edited       {e.at} by {e.by}: {e.change}" + (f" ({e.note})" if e.note else ""))
    if referral.pending_reviews:
        print(f"  {referral.pending_reviews} request(s) awaiting a team manager's review")
    return 0


def _list(args: ListArgs) -> int:
    from mash.v1 import referrals_pb2 as rpb

    response: rpb.ListReferralsResponse = _call(args, "ListReferrals", rpb.ListReferralsRequest(
        status=args.status or "", include_closed=args.all, query=args.search,
        as_of=_as_of(args.now)))
    if args.json:
        views = [referral_view(r) for r in response.referrals]
        print(json.dumps([{k: v[k] for k in ("referral_id", "status", "rag", "received_at",
                                             "due_at", "timescale", "source")}
                          for v in views], indent=2))
        return 0
    for r in response.referrals:
        flag = _FLAGS.get(r.timescale, "")
        print(f"{r.referral_id:<16} {r.status:<12} {r.rag.upper():<6} "
              f"due {r.due_at}  {flag}".rstrip())
    return 0


def _consent(args: ReferralLookupArgs | RerateArgs) -> pb.Consent:
    from mash.v1 import mash_pb2 as pb

    return pb.Consent(state=args.consent or "", reason=args.consent_reason or "")


def _referral_lookup(args: ReferralLookupArgs) -> int:
    from mash.v1 import referrals_pb2 as rpb

    _call(args, "Lookup", rpb.ReferralLookupRequest(
        referral_id=args.referral_id, purpose=args.purpose, statutory_gateway=args.gateway or "",
        consent=_consent(args), agencies=args.agency))
    return _summary_show(SummaryShowArgs(**{
        f.name: getattr(args, f.name) for f in dataclasses.fields(StaffArgs)},
        referral_id=args.referral_id, format=args.format, out=None, now=None, earlier=False))


def _rerate(args: RerateArgs) -> int:
    from mash.v1 import referrals_pb2 as rpb

    response = _call(args, "Rerate", rpb.RerateRequest(
        referral_id=args.referral_id, rag=args.rag, reason=args.reason,
        purpose=args.purpose or "", statutory_gateway=args.gateway or "",
        consent=_consent(args), agencies=args.agency, no_refetch=args.no_refetch))
    refetch = response.refetch
    if refetch.outcome == "no_earlier_lookup":
        print(f"mash: {refetch.message} (run `mash referral lookup`)", file=sys.stderr)
    if refetch.outcome not in ("asked", "nothing_new"):
        return _print_referral(args.json, response.referral)
    return _print_referral(args.json, response.referral, refetch=refetch)


def _status(args: StatusArgs) -> int:
    from mash.v1 import referrals_pb2 as rpb

    return _print_referral(args.json, _call(args, "SetStatus", rpb.SetStatusRequest(
        referral_id=args.referral_id, status=args.status, note=args.note)))


def _decide(args: DecideArgs) -> int:
    from mash.v1 import referrals_pb2 as rpb

    return _print_referral(args.json, _call(args, "Decide", rpb.DecideRequest(
        referral_id=args.referral_id, level_of_need=args.level, outcome=args.outcome,
        rationale=args.rationale)))


def _attach(args: WithdrawnArgs) -> int:
    raise UsageError("attach-summary is withdrawn: the broker files each lookup's summary "
                     "with its referral itself (`mash referral lookup`), and a summary from "
                     "a file carries no agency signature the broker could verify")


def _purge(args: PurgeArgs) -> int:
    from mash.v1 import referrals_pb2 as rpb

    response = _call(args, "PurgeExpired", rpb.PurgeExpiredRequest())
    if args.json:
        print(json.dumps([{"referral_id": d.referral_id, "lookup_id": d.lookup_id,
                           "agency": d.agency, "agreement_id": d.agreement_id,
                           "deleted_at": d.deleted_at} for d in response.deleted]))
    else:
        print(f"deleted {len(response.deleted)} summary part(s) under retention")
    return 0


def _summary_show(args: SummaryShowArgs) -> int:
    from mash.v1 import referrals_pb2 as rpb

    response = _call(args, "GetSummary", rpb.SummaryRequest(
        referral_id=args.referral_id, format=args.format, include_earlier=args.earlier,
        as_of=_as_of(args.now)))
    text = response.document
    if args.out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return 0
    # The report holds personal data: private to the user (0600 even where a file was there).
    write_private(Path(args.out), text.encode("utf-8"))
    print(f"wrote {args.out}")
    return 0
