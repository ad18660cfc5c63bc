"""`mash timescale`, `mash referral ...` and `mash summary ...` (registered from mash/cli.py).

The referral commands work on the broker's referral store in a home folder
(`HOME/broker/referrals.sqlite`). Lookups themselves go through the broker's
gRPC API (`mash lookup`); `mash referral attach-summary` files a summary
that was saved to disk, until the broker files them itself.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, cast

import structlog
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from audit import AuditError
from broker import referral_audit
from broker.connection import add_connection_args
from broker.referral_record import Referral, ReferralError, rag_direction
from broker.referrals import (
    NewReferral,
    RetentionByAgreement,
    SqliteReferralStore,
    open_store,
    subjects_from_specs,
)
from broker.report import RENDERERS, build_report
from broker.report.json_view import referral_to_dict
from broker.timescales import (
    DEFAULT_CALENDAR,
    TimescaleError,
    WorkingCalendar,
    due_at,
    load_calendar,
    timescale_state,
)
from certs.files import write_private
from mash import logs
from mash.home import Home
from mash.v1 import mash_pb2
from mash.vocab import (
    Agency,
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

#: How a timescale in trouble is flagged in text output.
_FLAGS = {"breached": "BREACHED", "at_risk": "AT RISK"}

#: The per-local-authority calendar file inside a home folder (optional).
CALENDAR_FILE = "timescales.toml"

Handler = Callable[[argparse.Namespace], int]


class _StderrProxy:
    """Writes to whatever `sys.stderr` is at the time (never holds a closed stream)."""

    def write(self, text: str) -> int:
        """Write `text` to the current stderr."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current stderr."""
        sys.stderr.flush()


def _usage(message: str) -> Exception:
    from mash.errors import UsageError

    return UsageError(message)


def _friendly(handler: Handler) -> Handler:
    """Turn the workflow's own errors into one-line usage errors (exit 2)."""
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        # stdout carries the command's output (often JSON); application logs go to stderr.
        if not structlog.is_configured():
            logs.configure(json=True, level="warning", stream=cast(TextIO, _StderrProxy()))
        try:
            return handler(args)
        except (ReferralError, TimescaleError) as exc:
            raise _usage(str(exc)) from None
        except AuditError as exc:
            # Fail closed: nothing is shown or deleted without its audit record.
            print(f"mash: error: audit log: {exc}", file=sys.stderr)
            return 1
    return run


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", help="home folder (default ./.mash)")


def register(sub: Any) -> None:
    """Add `timescale`, `referral` and `summary` to the `mash` parser."""
    p = sub.add_parser("timescale", help="when a referral's research is due (working hours)",
                       description="Print the due time of a referral as JSON: "
                                   '{"due": "<ISO 8601 with offset>", ...}.')
    p.add_argument("--rag", required=True, help="red | amber | green")
    p.add_argument("--received", required=True,
                   help="when the referral was received, ISO 8601 with offset")
    p.add_argument("--now", help="also say whether the timescale is on_track/at_risk/breached "
                                 "at this ISO 8601 time")
    p.add_argument("--config", type=Path, help="local authority calendar TOML "
                                               "(default: HOME/config/timescales.toml if present)")
    _common(p)
    p.set_defaults(handler=_friendly(_timescale))
    _register_referral(sub)
    _register_summary(sub)


def _register_referral(sub: Any) -> None:
    referral = sub.add_parser("referral", help="record and move referrals through the MASH")
    rsub = referral.add_subparsers(dest="referral_command", required=True, metavar="ACTION")

    p = rsub.add_parser("create", help="record a newly received referral")
    p.add_argument("--id", dest="referral_id", help="referral id (default: generated)")
    p.add_argument("--source", required=True, help=" | ".join(s.value for s in ReferralSource))
    p.add_argument("--reason", required=True, help="why the referral was made")
    p.add_argument("--rag", required=True, help="initial rating: red | amber | green")
    p.add_argument("--received", help="when received, ISO 8601 with offset (default: now)")
    p.add_argument("--subject", action="append", default=[], metavar="K=V,K=V",
                   help="a subject: role=child,given_name=...,family_name=...,"
                        "date_of_birth=YYYY-MM-DD,postcode=... (repeat per person)")
    p.add_argument("--subjects-file", type=Path,
                   help="JSON list of subjects (objects with role and identifier fields)")
    p.add_argument("--by", required=True, help="staff id recording the referral")
    _common(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(_create))

    p = rsub.add_parser("show", help="a referral with its history and timescale")
    p.add_argument("referral_id")
    p.add_argument("--now", help="judge the timescale at this ISO 8601 time (default: now)")
    _common(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(_show))

    p = rsub.add_parser("list", help="open referrals, most urgent first")
    p.add_argument("--status", help=" | ".join(s.value for s in ReferralStatus))
    p.add_argument("--all", action="store_true", help="include decided and closed referrals")
    p.add_argument("--now", help="judge timescales at this ISO 8601 time (default: now)")
    _common(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(_list))

    p = rsub.add_parser(
        "lookup", help="ask every agency about the referral's subjects, through the broker",
        description="Build the lookup from the stored referral (its subjects and current "
                    "rating), ask the running broker, file the summary with the referral "
                    "under the agreements' retention and print the summary report.")
    p.add_argument("referral_id")
    _lookup_terms_args(p, required=True)
    p.add_argument("--agency", action="append", default=[], help="ask only these agencies")
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_connection_args(p, default_role=Role.MASH_SOCIAL_WORKER.value, default_sub="sw-104")
    p.set_defaults(handler=_friendly(_referral_lookup))

    p = rsub.add_parser(
        "rerate", help="change the RAG rating (who and why are recorded)",
        description="Record a new rating. When the rating is raised, policy is evaluated "
                    "again under the latest lookup's terms and the broker is asked only for "
                    "the categories newly permitted; lowering never asks anything.")
    p.add_argument("referral_id")
    p.add_argument("--rag", required=True)
    p.add_argument("--reason", required=True)
    p.add_argument("--by", required=True)
    _lookup_terms_args(p, required=False)
    p.add_argument("--agency", action="append", default=[],
                   help="re-ask only these agencies (default: all)")
    p.add_argument("--no-refetch", action="store_true",
                   help="only record the rating; ask no agency again")
    add_connection_args(p, default_role=Role.MASH_SOCIAL_WORKER.value, default_sub="sw-104")
    _json_flag(p)
    p.set_defaults(handler=_friendly(_rerate))

    p = rsub.add_parser("status", help="move a referral: screening -> researching -> closed")
    p.add_argument("referral_id")
    p.add_argument("status", help="researching | closed")
    p.add_argument("--by", required=True)
    p.add_argument("--note", default="")
    _common(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(_status))

    p = rsub.add_parser("decide", help="record the team manager's decision")
    p.add_argument("referral_id")
    p.add_argument("--level", required=True, help=" | ".join(v.value for v in LevelOfNeed))
    p.add_argument("--outcome", required=True, help=" | ".join(v.value for v in Outcome))
    p.add_argument("--rationale", required=True)
    p.add_argument("--by", required=True)
    _common(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(_decide))

    p = rsub.add_parser("attach-summary", help="file a lookup's summary (binary or JSON proto)")
    p.add_argument("referral_id")
    p.add_argument("file", type=Path, help="a serialized mash.v1.ReferralSummary")
    p.add_argument("--retain-days", action="append", default=[], metavar="AGREEMENT=DAYS",
                   help="retention of an agreement's disclosures (repeat per agreement)")
    p.add_argument("--default-retain-days", type=int,
                   help="retention for agreements not named (default: refuse)")
    p.add_argument("--policy-dir", type=Path,
                   help="agreements to take retention from (default: the shipped agreements); "
                        "--retain-days overrides them")
    _common(p)
    p.set_defaults(handler=_friendly(_attach))

    p = rsub.add_parser("purge", help="delete summaries whose retention has passed "
                                      "(each deletion is recorded in the audit log)")
    _common(p)
    _json_flag(p)
    p.set_defaults(handler=_friendly(_purge))


def _register_summary(sub: Any) -> None:
    summary = sub.add_parser("summary", help="the summary report a team manager decides from")
    ssub = summary.add_subparsers(dest="summary_command", required=True, metavar="ACTION")
    p = ssub.add_parser("show", help="a referral's summary report")
    p.add_argument("referral_id")
    p.add_argument("--format", choices=sorted(RENDERERS), default="text")
    p.add_argument("--out", type=Path, help="write to this file (private to you) not stdout")
    p.add_argument("--now", help="judge timescales and indicators at this ISO 8601 time")
    p.add_argument("--by", default="unidentified",
                   help="staff id of the reader (recorded in the audit log)")
    p.add_argument("--role", help="the reader's role (recorded in the audit log)")
    _common(p)
    p.set_defaults(handler=_friendly(_summary_show))


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


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
    path = config
    if path is None:
        candidate = Home.at(home).config_dir / CALENDAR_FILE
        path = candidate if candidate.is_file() else None
    if path is None:
        return DEFAULT_CALENDAR
    return load_calendar(path)


def parse_aware(name: str, value: str) -> datetime:
    """Parse an ISO 8601 time that must carry a UTC offset (exit 2 otherwise)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _usage(f"{name}: not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise _usage(f"{name}: give a UTC offset, e.g. {value}+00:00")
    return moment


def _now(args: argparse.Namespace) -> datetime:
    value = getattr(args, "now", None)
    return parse_aware("--now", value) if value else datetime.now(UTC)


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[SqliteReferralStore]:
    store = open_store(Home.at(args.home))
    try:
        yield store
    finally:
        store.close()


def _referral_view(referral: Referral, now: datetime, calendar: WorkingCalendar
                   ) -> dict[str, Any]:
    data = referral_to_dict(referral)
    due = referral.due_at(calendar)
    data["due_at"] = due.isoformat()
    open_ = referral.status in (ReferralStatus.SCREENING, ReferralStatus.RESEARCHING)
    data["timescale"] = timescale_state(due, now, calendar) if open_ else None
    return data


def _print_referral(args: argparse.Namespace, referral: Referral,
                    refetch: dict[str, Any] | None = None) -> int:
    calendar = calendar_for(None, args.home)
    view = _referral_view(referral, _now(args), calendar)
    if refetch is not None:
        view["refetch"] = refetch
    if args.json:
        print(json.dumps(view, indent=2, ensure_ascii=False))
        return 0
    state = f" ({view['timescale'].replace('_', ' ')})" if view["timescale"] else ""
    print(f"{referral.referral_id}  {referral.status.value}  {referral.rag.value.upper()}  "
          f"due {view['due_at']}{state}")
    if refetch is not None:
        for item in refetch.get("not_asked", ()):
            print(f"NOT asked (broker not reached): {item['agency']} for "
                  f"{', '.join(item['categories'])}")
        if not refetch["asked"] and not refetch.get("not_asked"):
            print("nothing newly permitted: no agency asked again")
        for item in refetch["asked"]:
            print(f"asked {item['agency']} for {', '.join(item['categories'])}")
        if refetch.get("lookup_id"):
            print(f"filed lookup {refetch['lookup_id']}")
    return 0


def _parse_subject(spec: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise _usage(f"--subject: expected KEY=VALUE, got {item!r}")
        fields[key.strip()] = value.strip()
    return fields


# ---------------------------------------------------------------- handlers

def _timescale(args: argparse.Namespace) -> int:
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


def _create(args: argparse.Namespace) -> int:
    specs: list[dict[str, str]] = [_parse_subject(s) for s in args.subject]
    if args.subjects_file:
        try:
            loaded = json.loads(args.subjects_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise _usage(f"--subjects-file: {exc}") from None
        if not isinstance(loaded, list) or not all(isinstance(s, dict) for s in loaded):
            raise _usage("--subjects-file: expected a JSON list of objects")
        specs += [{str(k): str(v) for k, v in s.items()} for s in loaded]
    received = parse_aware("--received", args.received) if args.received else datetime.now(UTC)
    new = NewReferral(
        referral_id=args.referral_id, received_at=received,
        source=parse(ReferralSource, args.source), reason=args.reason,
        subjects=subjects_from_specs(specs), rag=parse(Rag, args.rag), by=args.by)
    with _store(args) as store:
        return _print_referral(args, store.create(new))


def _show(args: argparse.Namespace) -> int:
    with _store(args) as store:
        referral = store.get(args.referral_id)
    if args.json:
        return _print_referral(args, referral)
    calendar = calendar_for(None, args.home)
    view = _referral_view(referral, _now(args), calendar)
    print(f"{referral.referral_id}  {referral.status.value}  {referral.rag.value.upper()}  "
          f"due {view['due_at']}" + (f" ({view['timescale']})" if view["timescale"] else "")
          + (f"  {_FLAGS[view['timescale']]}" if view["timescale"] in _FLAGS else ""))
    print(f"  received {referral.received_at.isoformat()} from {referral.source.value}: "
          f"{referral.reason}")
    for s in referral.subjects:
        print(f"  {s.subject_id:<18} {s.role.value:<16} {s.display_name}")
    for h in referral.rag_history:
        print(f"  rated {h.rag.value:<6} {h.at.isoformat()} by {h.by}: {h.reason}")
    for st in referral.status_history:
        print(f"  {st.status.value:<12} {st.at.isoformat()} by {st.by}"
              + (f": {st.note}" if st.note else ""))
    return 0


def _list(args: argparse.Namespace) -> int:
    status = parse(ReferralStatus, args.status) if args.status else None
    calendar = calendar_for(None, args.home)
    now = _now(args)
    with _store(args) as store:
        referrals = store.referrals(status)
    if status is None and not args.all:
        referrals = [r for r in referrals
                     if r.status in (ReferralStatus.SCREENING, ReferralStatus.RESEARCHING)]
    # Work is ordered by its due time: the most urgent first.
    views = sorted((_referral_view(r, now, calendar) for r in referrals),
                   key=lambda v: (v["due_at"], v["referral_id"]))
    if args.json:
        print(json.dumps([{k: v[k] for k in ("referral_id", "status", "rag", "received_at",
                                             "due_at", "timescale", "source")}
                          for v in views], indent=2))
        return 0
    for v in views:
        flag = _FLAGS.get(v["timescale"] or "", "")
        print(f"{v['referral_id']:<16} {v['status']:<12} {v['rag'].upper():<6} "
              f"due {v['due_at']}  {flag}".rstrip())
    return 0


def _rerate(args: argparse.Namespace) -> int:
    rag = parse(Rag, args.rag)
    home = Home.at(args.home)
    now = datetime.now(UTC)
    with _store(args) as store:
        before = store.get(args.referral_id)
        raised = rag_direction(before.rag, rag) == "raised" and not args.no_refetch
        # Terms are settled before anything is recorded, so bad flags change nothing.
        terms = _rerate_terms(args, store) if raised else None
        after = store.rerate(args.referral_id, rag, args.by, args.reason)
        if terms is None:
            if raised:
                print("mash: agencies not asked again: no earlier lookup through the broker "
                      "for this referral (run `mash referral lookup`)", file=sys.stderr)
            return _print_referral(args, after)
        from broker import referral_flow
        from broker.planning import Requester
        from policy.engine import load_engine

        engine = load_engine(home)
        permitted = referral_flow.policy_permitted(
            engine, args.broker_id, Requester(args.sub, Role(args.role), args.broker_id), terms,
            [s.role for s in after.subjects], now)
        agencies = [parse(Agency, a) for a in args.agency] or list(Agency)
        plan = referral_flow.plan_after_rerate(store, before, after, permitted, agencies)
        asked = [{"agency": r.agency.value, "categories": [c.value for c in r.categories]}
                 for r in plan]
        refetch: dict[str, Any] = {"asked": asked, "lookup_id": None}
        if plan:
            code, lookup_id = _ask_refetch(args, store, after, plan, terms, engine, now)
            if code:
                _print_referral(args, after, refetch={"asked": [], "not_asked": asked,
                                                      "lookup_id": None,
                                                      "error": "broker not reached"})
                return code
            refetch["lookup_id"] = lookup_id
    return _print_referral(args, after, refetch=refetch)


def _rerate_terms(args: argparse.Namespace, store: SqliteReferralStore) -> Any:
    """The terms to re-ask under: the flags, else the latest lookup's; None if none known."""
    from broker import referral_flow

    latest = referral_flow.latest_terms(store, args.referral_id)
    if latest is None and not (args.purpose or args.consent):
        return None
    # A summary filed by hand (attach-summary) still says which purpose it was asked for.
    purpose = args.purpose or (latest.purpose if latest else None) or \
        referral_flow.latest_purpose(store.summaries(args.referral_id))
    consent = args.consent or (latest.consent_state if latest else None)
    if purpose is None or consent is None:
        raise _usage("--purpose and --consent are needed: no earlier lookup terms are known")
    # A reason belongs to its consent state, a gateway to its purpose: kept only with them.
    reason = args.consent_reason or (latest.consent_reason
                                     if latest and not args.consent else None)
    gateway = args.gateway or (latest.gateway if latest and not args.purpose else None)
    return referral_flow.LookupTerms.of(purpose, consent, reason, gateway)


def _ask_refetch(args: argparse.Namespace, store: SqliteReferralStore, referral: Referral,
                 plan: Any, terms: Any, engine: Any, now: datetime) -> tuple[int, str | None]:
    """Ask the broker for the planned categories; (exit code, filed lookup id)."""
    import grpc

    from broker import referral_flow
    from broker.connection import NoRunningBroker, connect

    try:
        with connect(args) as client:
            _, stored = referral_flow.refetch(client, store, referral, plan, terms,
                                              engine.agreements, args.sub, now)
    except NoRunningBroker as exc:
        print(f"mash: rating recorded, but agencies were not asked again: {exc}",
              file=sys.stderr)
        return 1, None
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNAVAILABLE:
            print("mash: rating recorded, but agencies were not asked again: no broker is "
                  "running at that address (UNAVAILABLE)", file=sys.stderr)
        else:
            print(f"mash: rating recorded, but the broker refused the re-ask: "
                  f"{exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1, None
    return 0, stored.lookup_id if stored else None


def _referral_lookup(args: argparse.Namespace) -> int:
    import grpc

    from broker import referral_flow
    from broker.connection import NoRunningBroker, connect
    from policy.engine import load_engine

    home = Home.at(args.home)
    terms = referral_flow.LookupTerms.of(args.purpose, args.consent, args.consent_reason,
                                         args.gateway)
    agencies = [parse(Agency, a) for a in args.agency]
    now = datetime.now(UTC)
    agreements = load_engine(home).agreements
    with _store(args) as store:
        referral = store.get(args.referral_id)
        try:
            with connect(args) as client:
                referral_flow.referral_lookup(client, store, referral, terms, agreements,
                                              args.sub, now, agencies)
        except NoRunningBroker as exc:
            print(f"mash: {exc}", file=sys.stderr)
            return 1
        except grpc.RpcError as exc:
            print(f"mash: lookup refused: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
    args.by, args.out, args.now = args.sub, None, None
    return _summary_show(args)


def _status(args: argparse.Namespace) -> int:
    with _store(args) as store:
        return _print_referral(args, store.set_status(
            args.referral_id, parse(ReferralStatus, args.status), args.by, args.note))


def _decide(args: argparse.Namespace) -> int:
    with _store(args) as store:
        return _print_referral(args, store.decide(
            args.referral_id, parse(LevelOfNeed, args.level), parse(Outcome, args.outcome),
            args.rationale, args.by))


def read_summary(path: Path) -> mash_pb2.ReferralSummary:
    """A `ReferralSummary` from a file: protobuf JSON if it starts with `{`, else binary."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _usage(f"{path}: {exc.strerror}") from None
    summary = mash_pb2.ReferralSummary()
    try:
        if data.lstrip().startswith(b"{"):
            json_format.Parse(data.decode("utf-8"), summary)
        else:
            summary.ParseFromString(data)
    except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
        raise _usage(f"{path}: not a mash.v1.ReferralSummary ({exc})") from None
    return summary


def _retention(specs: Sequence[str], default: int | None, home: Home,
               policy_dir: Path | None) -> RetentionByAgreement:
    days: dict[str, int] = {}
    for spec in specs:
        agreement, sep, value = spec.partition("=")
        if not sep or not value.isdigit() or int(value) < 1:
            raise _usage(f"--retain-days: expected AGREEMENT=DAYS, got {spec!r}")
        days[agreement] = int(value)
    if default is not None and default < 1:
        raise _usage("--default-retain-days: must be at least 1")
    from policy.engine import load_engine
    from policy.errors import PolicyError

    try:
        agreements = load_engine(home, policy_dir).agreements
    except PolicyError as exc:
        raise _usage(f"--policy-dir: {exc}") from None
    return RetentionByAgreement.from_agreements(agreements).overridden(days, default)


def _attach(args: argparse.Namespace) -> int:
    summary = read_summary(args.file)
    if summary.referral_id != args.referral_id:
        raise _usage(f"{args.file}: summary is for referral {summary.referral_id!r}, "
                     f"not {args.referral_id!r}")
    retention = _retention(args.retain_days, args.default_retain_days, Home.at(args.home),
                           args.policy_dir)
    with _store(args) as store:
        stored = store.save_summary(summary, retention)
    print(f"filed lookup {stored.lookup_id} for {stored.referral_id} "
          f"({len(stored.summary.agencies)} agencies)")
    return 0


def _purge(args: argparse.Namespace) -> int:
    home = Home.at(args.home)
    with _store(args) as store:
        deleted = store.purge_expired()
    # Recorded after the deletions commit, so the log never claims a deletion that rolled
    # back; the store's own `deletions` table keeps them too if this write fails.
    referral_audit.record(home, *(referral_audit.deletion_event(d) for d in deleted))
    if args.json:
        print(json.dumps([{"referral_id": d.referral_id, "lookup_id": d.lookup_id,
                           "agency": str(d.agency), "agreement_id": d.agreement_id,
                           "deleted_at": d.deleted_at.isoformat()} for d in deleted]))
    else:
        print(f"deleted {len(deleted)} summary part(s) under retention")
    return 0


def _summary_show(args: argparse.Namespace) -> int:
    calendar = calendar_for(None, args.home)
    with _store(args) as store:
        referral = store.get(args.referral_id)
        summaries = [s.summary for s in store.summaries(args.referral_id)]
        deletions = store.deletions(args.referral_id)
    report = build_report(referral, summaries, now=_now(args), calendar=calendar,
                          deletions=deletions)
    # Who read the summary is recorded before it is shown: no record, no report.
    referral_audit.record(Home.at(args.home), referral_audit.viewed_event(
        referral.referral_id, args.by, args.role, args.format,
        tuple(s.lookup_id for s in summaries)))
    text = RENDERERS[args.format](report)
    if args.out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return 0
    # The report holds personal data: private to the user (0600 even where a file was there).
    write_private(Path(args.out), text.encode("utf-8"))
    print(f"wrote {args.out}")
    return 0
