"""`mash policy ...`: lint, explain, diff, test, status, approve and dry-run agreements.

Exit codes: 0 success, 1 a check failed (lint errors, failing scenarios, a
dry-run or diff that found changes with `--fail-on-change`), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

from audit.reading import printable
from mash.clock import utc_now
from mash.command import HOME, Subparsers, typed
from mash.errors import UsageError
from mash.files import write_text
from mash.home import Home
from mash.vocab import Agency, parse
from policy.errors import PolicyError

Format = Literal["text", "json"]
T = TypeVar("T")


# ---------------------------------------------------------------- arguments


@dataclass(frozen=True)
class LintArgs:
    """`mash policy lint`."""

    dir: Path | None
    today: date | None


@dataclass(frozen=True)
class ExplainArgs:
    """`mash policy explain`."""

    home: str | None
    request: str
    policy_dir: Path | None
    format: Format
    assume_approved: bool


@dataclass(frozen=True)
class DiffArgs:
    """`mash policy diff`."""

    old: Path
    new: Path
    at: datetime | None
    agency: list[str] | None
    format: Format
    fail_on_change: bool


@dataclass(frozen=True)
class ScenarioTestArgs:
    """`mash policy test`."""

    dir: Path | None
    scenarios: Path | None


@dataclass(frozen=True)
class StatusArgs:
    """`mash policy status`."""

    home: str | None
    policy_dir: Path | None
    at: datetime | None
    format: Format
    live: bool


@dataclass(frozen=True)
class BundleExportArgs:
    """`mash policy bundle export`."""

    home: str | None
    out: Path
    signer: str
    policy_dir: Path | None
    mash_id: str | None


@dataclass(frozen=True)
class BundleInstallArgs:
    """`mash policy bundle install`."""

    home: str | None
    bundle: Path
    pin_approvers: bool


@dataclass(frozen=True)
class BundleShowArgs:
    """`mash policy bundle show`."""

    bundle: Path


@dataclass(frozen=True)
class ApproveArgs:
    """`mash policy approve`."""

    home: str | None
    files: list[Path]
    approver: str


@dataclass(frozen=True)
class AddApproverArgs:
    """`mash policy add-approver`."""

    home: str | None
    name: str
    replace: bool
    approved_by: str | None


@dataclass(frozen=True)
class DevApproveArgs:
    """`mash policy dev-approve`."""

    home: str | None
    policy_dir: Path | None


@dataclass(frozen=True)
class DryRunArgs:
    """`mash policy dry-run`."""

    home: str | None
    policy_dir: Path
    since: str
    from_jsonl: Path | None
    current_dir: Path | None
    at: datetime | None
    broker_id: str | None
    fail_on_change: bool


def register(sub: Subparsers) -> None:
    """Add `mash policy ...` to the `mash` parser."""
    policy = sub.add_parser("policy", help="data-sharing agreements: lint, explain, diff, test, "
                            "status, approve, dry-run")
    cmds = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")

    lint = cmds.add_parser("lint", help="validate a folder of agreements (file, line, field)")
    lint.add_argument("dir", nargs="?", type=Path, help="policy folder (default: shipped)")
    lint.add_argument("--today", type=date.fromisoformat, help="date for review checks")
    lint.set_defaults(handler=typed(LintArgs, _lint))

    explain = cmds.add_parser("explain", help="evaluate one request and explain the decision", parents=[HOME])
    explain.add_argument("--request", required=True, help="request JSON file ('-' for stdin)")
    explain.add_argument("--policy-dir", type=Path, help="policy folder (default: shipped)")
    explain.add_argument("--format", choices=("text", "json"), default="text")
    explain.add_argument("--assume-approved", action="store_true",
                         help="evaluate a draft as if approved (never for live decisions)")
    explain.set_defaults(handler=typed(ExplainArgs, _explain))

    diff = cmds.add_parser("diff", help="effect difference between two policy folders")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    diff.add_argument("--at", type=_time, help="moment to compare at (default: now)")
    diff.add_argument("--agency", action="append", help="only this agency (repeatable)")
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.add_argument("--fail-on-change", action="store_true", help="exit 1 if anything changes")
    diff.set_defaults(handler=typed(DiffArgs, _diff))

    test = cmds.add_parser("test", help="run the scenario files beside the agreements")
    test.add_argument("dir", nargs="?", type=Path, help="policy folder (default: shipped)")
    test.add_argument("--scenarios", type=Path, help="scenario folder (default: DIR/scenarios)")
    test.set_defaults(handler=typed(ScenarioTestArgs, _test))

    status = cmds.add_parser("status", help="in force, awaiting approval, expiring, overdue", parents=[HOME])
    status.add_argument("--policy-dir", type=Path, help="policy folder (default: shipped)")
    status.add_argument("--at", type=_time, help="moment to report at (default: now)")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.add_argument("--live", action="store_true",
                        help="the policy version each running broker and adapter of this home "
                             "applies now (exit 1 if they differ or one refused a reload)")
    status.set_defaults(handler=typed(StatusArgs, _status))

    bundle = cmds.add_parser("bundle", help="publish agreements and approvals to every party")
    bundle_cmds = bundle.add_subparsers(dest="bundle_command", required=True, metavar="ACTION")
    export = bundle_cmds.add_parser("export", help="write a bundle signed by you (IG lead)", parents=[HOME])
    export.add_argument("--out", type=Path, required=True, help="the bundle file to write")
    export.add_argument("--as", dest="signer", required=True, help="your approver name")
    export.add_argument("--policy-dir", type=Path, help="policy folder (default: the home's)")
    export.add_argument("--mash", dest="mash_id", metavar="MASH_ID",
                        help="the MASH (its broker id) publishing the bundle; every agreement "
                             "in it must be that MASH's (default: the one MASH they name)")
    export.set_defaults(handler=typed(BundleExportArgs, _bundle_export))
    install = bundle_cmds.add_parser("install", help="verify a bundle and apply it to its "
                                     "MASH's agreements, leaving other MASHs' (agency IT)",
                                     parents=[HOME])
    install.add_argument("bundle", type=Path)
    install.add_argument("--pin-approvers", action="store_true",
                         help="FIRST INSTALL OF A MASH'S BUNDLE ONLY: pin the bundle's "
                              "approver keys for that MASH (check their fingerprints with its "
                              "IG lead first: see `bundle show`)")
    install.set_defaults(handler=typed(BundleInstallArgs, _bundle_install))
    show = bundle_cmds.add_parser("show", help="what a bundle holds, and its approvers' "
                                  "key fingerprints")
    show.add_argument("bundle", type=Path)
    show.set_defaults(handler=typed(BundleShowArgs, _bundle_show))

    approve = cmds.add_parser("approve", help="sign your approval of agreement files", parents=[HOME])
    approve.add_argument("files", nargs="+", type=Path)
    approve.add_argument("--as", dest="approver", required=True, help="your approver name")
    approve.set_defaults(handler=typed(ApproveArgs, _approve))

    add = cmds.add_parser("add-approver", help="create an approver's signing key and pin it", parents=[HOME])
    add.add_argument("name")
    add.add_argument("--replace", action="store_true",
                     help="replace the pinned key of an existing approver (needs --approved-by)")
    add.add_argument("--approved-by", metavar="APPROVER",
                     help="another pinned approver who signs the key replacement")
    add.set_defaults(handler=typed(AddApproverArgs, _add_approver))

    dev = cmds.add_parser("dev-approve", help="DEVELOPMENT: approve every agreement as the two "
                          "demo approvers", parents=[HOME])
    dev.add_argument("--policy-dir", type=Path, help="policy folder (default: shipped)")
    dev.set_defaults(handler=typed(DevApproveArgs, _dev_approve))

    dry = cmds.add_parser("dry-run", help="replay recorded requests against a draft", parents=[HOME])
    dry.add_argument("--policy-dir", type=Path, required=True, help="the draft policy folder")
    dry.add_argument("--since", default="30d", help="how far back (e.g. 30d, 12h, 2w)")
    dry.add_argument("--from-jsonl", type=Path, help="read requests from a JSON-lines export "
                     "instead of the broker audit log")
    dry.add_argument("--current-dir", type=Path,
                     help="current policy folder for requests without a recorded decision "
                     "(default: shipped)")
    dry.add_argument("--at", type=_time, help="'now' for --since (default: now)")
    dry.add_argument("--broker-id", help="only this broker's log (default: every broker log)")
    dry.add_argument("--fail-on-change", action="store_true", help="exit 1 if anything changes")
    dry.set_defaults(handler=typed(DryRunArgs, _dry_run))


# ---------------------------------------------------------------- handlers

def _lint(args: LintArgs) -> int:
    from policy.lint import has_errors, lint_dir

    problems = _guard(lambda: lint_dir(_dir(args.dir), today=args.today or _now().date()))
    for p in problems:
        print(p)
    errors = sum(1 for p in problems if p.severity == "error")
    print(f"{errors} error(s), {len(problems) - errors} warning(s)")
    return 1 if has_errors(problems) else 0


def _explain(args: ExplainArgs) -> int:
    from policy.engine import PolicyEngine, load_engine
    from policy.explain import explain_text
    from policy.request import PolicyRequest

    raw = sys.stdin.read() if args.request == "-" else _read(Path(args.request))
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"request is not valid JSON: {exc}") from None
    request = _guard(lambda: PolicyRequest.from_json(data))
    policy_dir = _dir(args.policy_dir, Home.at(args.home))
    engine = _guard(lambda: PolicyEngine.load_assuming_approval(policy_dir)
                    if args.assume_approved else load_engine(Home.at(args.home), policy_dir))
    decision = engine.evaluate(request)
    if args.format == "json":
        print(json.dumps(decision.to_json(), indent=2))
    else:
        print(explain_text(request, decision,
                           engine.agreement_for(request.mash_id, request.agency, request.at)))
    return 0


def _diff(args: DiffArgs) -> int:
    from policy.diff import effect_diff

    agencies = [parse(Agency, a) for a in args.agency] if args.agency else None
    report = _guard(lambda: effect_diff(args.old, args.new, at=args.at or _now(),
                                        agencies=agencies))
    if args.format == "json":
        print(json.dumps({"classes_compared": report.classes_compared,
                          "classes_changed": report.classes_changed,
                          "changes": report.lines()}, indent=2))
    else:
        for line in report.lines():
            print(line)
        print(f"{report.classes_changed} of {report.classes_compared} request classes change "
              f"({len(report.changes)} group(s))")
    return 1 if args.fail_on_change and report.changes else 0


def _test(args: ScenarioTestArgs) -> int:
    from policy.scenarios import PRINCIPLES, run_scenarios

    report = _guard(lambda: run_scenarios(_dir(args.dir), args.scenarios))
    for r in report.results:
        mark = "ok  " if r.passed else "FAIL"
        where = f"{Path(r.file).name}:{r.line}"
        principle = f"[{r.principle}] " if r.principle is not None else ""
        print(f"{mark} {where} {principle}{r.name}")
        for f in r.failures:
            print(f"       {f}")
    failed = sum(1 for r in report.results if not r.passed)
    missing = sorted(set(PRINCIPLES) - report.principles_covered)
    print(f"{len(report.results) - failed} passed, {failed} failed"
          + (f"; principles without a scenario: {missing}" if missing else ""))
    return 0 if report.passed else 1


def _status(args: StatusArgs) -> int:
    from policy.engine import load_engine
    from policy.status import agreement_statuses

    if args.live:
        return _status_live(Home.at(args.home), args.format)
    engine = _guard(lambda: load_engine(Home.at(args.home), _dir(args.policy_dir, Home.at(args.home))))
    statuses = agreement_statuses(engine, now=args.at or _now())
    if args.format == "json":
        print(json.dumps([s.to_json() for s in statuses], indent=2))
        return 0
    for s in statuses:
        print(f"{s.agreement_id:32} {s.mash_id}/{s.agency:22} {'; '.join(s.flags())}")
    applied = sum(s.applied for s in statuses)
    print(f"{applied} of {len(statuses)} agreement(s) in force and approved")
    return 0


def _status_live(home: Home, fmt: str) -> int:
    from policy.reloading import differ_by_mash, read_live, stale

    parties = read_live(home.run_dir)
    if not parties:
        raise UsageError(f"no running broker or adapter has reported its policy in {home.run_dir}")
    odd = stale(parties)
    odd_by_mash = differ_by_mash(parties)
    faulty = [str(p.get("party")) for p in parties if p.get("fault") and not p.get("stopped")]
    if fmt == "json":
        print(json.dumps({"parties": parties, "differ": odd, "refused_reload": faulty,
                          "differ_by_mash": odd_by_mash}, indent=2))
    else:
        for p in parties:
            flag = " (DIFFERS)" if p.get("party") in odd else ""
            fault = f"  reload refused: {p['fault']}" if p.get("fault") else ""
            if p.get("stopped"):
                fault += f"  NOT RUNNING ({p['stopped']})"
            print(f"{p.get('party', '?'):34} version {p.get('version', '?')}{flag}  "
                  f"loaded {p.get('loaded_at', '?')}{fault}")
            mashes = p.get("mashes")
            for mash, entry in sorted(mashes.items() if isinstance(mashes, dict) else ()):
                bundle = entry.get("bundle") or {}
                source = (f"bundle {str(bundle.get('sha256', ''))[:16]} signed by "
                          f"{bundle.get('signer', '?')}" if bundle else "home's own folder")
                differs = " (DIFFERS)" if p.get("party") in odd_by_mash.get(mash, ()) else ""
                print(f"  {mash:32} version {entry.get('version', '?')}{differs}  {source}")
    return 1 if odd or faulty else 0


def _bundle_export(args: BundleExportArgs) -> int:
    from policy.approval import load_approver_key
    from policy.bundle import bundle_json, export_bundle

    home = Home.at(args.home)
    try:
        key = load_approver_key(home, args.signer)
    except FileNotFoundError:
        raise UsageError(f"no signing key for approver {args.signer!r} in {home.root}") from None
    doc = _guard(lambda: export_bundle(home, _dir(args.policy_dir, home), signer=args.signer,
                                       key=key, at=_now(), mash_id=args.mash_id))
    write_text(args.out, json.dumps(bundle_json(doc), indent=2, ensure_ascii=False) + "\n")
    print(f"bundle of {doc.mash_id}: {len(doc.agreements)} agreement(s) and "
          f"{len(doc.approvals)} approval(s), signed by {args.signer}, written to {args.out}")
    return 0


def _bundle_install(args: BundleInstallArgs) -> int:
    from policy.bundle import install_bundle

    done = _guard(lambda: install_bundle(Home.at(args.home), args.bundle,
                                         pin_approvers=args.pin_approvers))
    where = (f"for {done.mash_id} (other MASHs' agreements unchanged)" if done.mash_id
             else "into the home's own agreements (a bundle naming no MASH)")
    print(f"installed bundle sha256 {done.sha256[:16]} signed by {done.signer} at "
          f"{done.created_at} {where}: {len(done.agreements)} agreement(s) "
          f"({', '.join(done.agreements)}), {done.approvals} approval(s); running parties "
          "reload it within seconds (or send them SIGHUP)")
    if done.superseded:
        print("not applied, as their MASH has a bundle of its own installed: "
              + ", ".join(done.superseded))
    return 0


def _bundle_show(args: BundleShowArgs) -> int:
    from policy.bundle import MashBundleFile, bundle_approvers, fingerprint, read_bundle

    doc = _guard(lambda: read_bundle(args.bundle))
    print(f"policy bundle of {doc.mash_id}" if isinstance(doc, MashBundleFile) and doc.mash_id
          else "policy bundle naming no MASH (installs into the home's own agreements)",
          f"signed by {doc.signer} at {doc.created_at}")
    for name in sorted(doc.agreements):
        print(f"  agreement file {name}")
    print(f"  {len(doc.approvals)} approval record(s)")
    for name, key in sorted(_guard(lambda: bundle_approvers(doc)).items()):
        print(f"  approver {name:28} key fingerprint {fingerprint(key)}")
    return 0


def _approve(args: ApproveArgs) -> int:
    from policy.approval import approvals_dir, approve, load_approver_key
    from policy.approval_audit import record_approvals

    home = Home.at(args.home)
    try:
        key = load_approver_key(home, args.approver)
    except FileNotFoundError:
        raise UsageError(f"no signing key for approver {args.approver!r} in {home.root} "
                         "(create one with `mash policy add-approver`)") from None
    for path in args.files:
        record = _guard(partial(approve, path, approver=args.approver, key=key, at=_now(),
                                approvals_dir=approvals_dir(home)))
        record_approvals(home, [record])  # each approval on record as soon as it exists
        print(f"approved {record.agreement_id} sha256 {record.agreement_sha256} "
              f"as {record.approver} at {record.approved_at}")
    return 0


def _add_approver(args: AddApproverArgs) -> int:
    from audit.events import EventKind
    from policy.approval import approvers_file, create_approver, replace_approver
    from policy.approval_audit import record_approver_change

    home = Home.at(args.home)
    if not args.replace:
        if args.approved_by:
            raise UsageError("--approved-by is for --replace only")
        _guard(lambda: create_approver(home, args.name))
        record_approver_change(home, EventKind.APPROVER_PINNED, args.name, by=args.name,
                               detail={})
        print(f"approver {args.name} created; public key pinned in {approvers_file(home)}")
        return 0
    approved_by = args.approved_by
    if not approved_by:
        raise UsageError("--replace needs --approved-by: another pinned approver signs the change")
    change = _guard(lambda: replace_approver(home, args.name, approved_by=approved_by,
                                             at=_now()))
    record_approver_change(home, EventKind.APPROVER_KEY_REPLACED, args.name,
                           by=approved_by,
                           detail={"old_key_sha256": change.old_key_sha256,
                                   "new_key_sha256": change.new_key_sha256})
    print(f"approver {args.name}'s key replaced (approved by {args.approved_by}); their "
          f"approvals signed with the old key no longer count")
    return 0


def _dev_approve(args: DevApproveArgs) -> int:
    from policy.approval import dev_approve_all

    out = _guard(lambda: dev_approve_all(Home.at(args.home), _dir(args.policy_dir, Home.at(args.home))))
    print(f"every agreement approved by the development approvers; records in {out}")
    return 0


def _dry_run(args: DryRunArgs) -> int:
    from policy.dry_run import broker_logs, dry_run, parse_since, read_broker_audit, read_jsonl
    from policy.engine import PolicyEngine

    home = Home.at(args.home)
    since = (args.at or _now()) - _guard(lambda: parse_since(args.since))
    if args.from_jsonl is not None:
        if not args.from_jsonl.is_file():
            raise UsageError(f"no such file: {args.from_jsonl}")
        records = read_jsonl(args.from_jsonl)
    else:
        logs = broker_logs(home.audit_dir)
        if args.broker_id:
            logs = [log for log in logs if log.stem == f"broker-{args.broker_id}"]
        if not logs:
            raise UsageError(f"no broker audit log in {home.audit_dir} (use --from-jsonl FILE)")
        records = (record for log in logs for record in read_broker_audit(log))
    draft = _guard(lambda: PolicyEngine.load_assuming_approval(args.policy_dir))
    current = _guard(lambda: PolicyEngine.load_assuming_approval(_dir(args.current_dir)))
    report = _guard(lambda: dry_run(records, draft, current=current, since=since))
    # Replayed from an audit log: its content is escaped, as every audit command does.
    for change in report.changes:
        print(printable(change.describe()))
    for skipped in report.skipped:
        print(printable(f"skipped {skipped}"), file=sys.stderr)
    print(f"{len(report.changes)} of {report.replayed} replayed decision(s) would change"
          + (f"; {len(report.skipped)} record(s) skipped" if report.skipped else ""))
    return 1 if args.fail_on_change and report.changes else 0


# ---------------------------------------------------------------- helpers


def _dir(path: Path | None, home: Home | None = None) -> Path:
    from policy.engine import SHIPPED_POLICY_DIR, default_policy_dir

    if path is not None:
        return path
    return default_policy_dir(home) if home is not None else SHIPPED_POLICY_DIR


def _now() -> datetime:
    return utc_now()


def _time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _guard(fn: Callable[[], T]) -> T:
    """Run `fn`, turning this part's errors into a one-line usage error (exit 2)."""
    try:
        return fn()
    except PolicyError as exc:
        raise UsageError(str(exc)) from None
