"""`mash audit ...`: verify the logs, show a referral's trail (and the IG lead's tools)."""

from __future__ import annotations

import base64
import binascii
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from audit.checkpoints import Checkpoint
from audit.errors import (
    AuditFormatError,
    EntryNotFound,
    InvalidCheckpointSignature,
    InvalidInclusionProof,
)
from audit.home_verify import verify_home
from audit.ig_cli import register_ig
from audit.proofs import InclusionProof, check_proof, prove
from audit.reading import logs_in, printable, records_for_referral, render_referral_trail
from audit.store import SqliteAuditStore
from mash.command import HOME, Subparsers, typed
from mash.errors import UsageError
from mash.home import Home


def register(sub: Subparsers) -> None:
    """Add `mash audit` and its sub-commands to the `mash` parser."""
    audit = sub.add_parser("audit", help="verify, search and report on the audit logs")
    commands = audit.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")

    verify = commands.add_parser(
        "verify", help="check every audit log under the home; exit 1 naming the first bad entry",
        parents=[HOME])
    verify.add_argument("--checkpoint", action="append", default=[], type=Path, metavar="FILE",
                        help="published checkpoints to hold the logs to (JSON from `mash audit "
                             "checkpoints` or a proof); catches truncation of the newest "
                             "entries together with their checkpoints")
    verify.add_argument("--witnesses", action="append", default=[], type=Path, metavar="FILE",
                        help="a witness store copied from another party (HOME/witness/<name>"
                             ".sqlite there): hold this home's logs to the checkpoints it "
                             "countersigned; the home's own HOME/witness/ is always read")
    verify.set_defaults(handler=typed(VerifyArgs, cmd_verify))

    cps = commands.add_parser(
        "checkpoints", help="print the latest signed checkpoint of each log (to publish)", parents=[HOME])
    cps.set_defaults(handler=typed(HomeArgs, cmd_checkpoints))

    show = commands.add_parser("show", help="the audit trail of one referral, across all logs",
                               parents=[HOME])
    show.add_argument("--referral", required=True, metavar="ID", help="referral id")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(handler=typed(ShowArgs, cmd_show))

    prove_p = commands.add_parser(
        "prove", help="print an inclusion proof of one entry against its signed checkpoint", parents=[HOME])
    prove_p.add_argument("entry_id", type=int, metavar="ENTRY_ID")
    prove_p.add_argument("--log", default=None, metavar="NAME",
                         help="which log under the home (file stem, e.g. adapter-police; "
                              "default: the broker's)")
    prove_p.set_defaults(handler=typed(ProveArgs, cmd_prove))

    check = commands.add_parser(
        "check-proof", help="check an inclusion proof with the published checkpoint key")
    check.add_argument("proof", metavar="PROOF.json", help="a proof printed by `mash audit prove`"
                       " (- for stdin)")
    check.add_argument("--key", required=True, metavar="FILE",
                       help="the log owner's checkpoint public key: PEM, or base64/hex raw bytes")
    check.set_defaults(handler=typed(CheckProofArgs, cmd_check_proof))

    register_ig(commands)


@dataclass(frozen=True)
class HomeArgs:
    """Arguments of a command that takes only `--home`."""

    home: str | None


@dataclass(frozen=True)
class VerifyArgs:
    """`mash audit verify`."""

    home: str | None
    checkpoint: list[Path]
    witnesses: list[Path]


@dataclass(frozen=True)
class ShowArgs:
    """`mash audit show`."""

    home: str | None
    referral: str
    format: str


@dataclass(frozen=True)
class ProveArgs:
    """`mash audit prove`."""

    home: str | None
    entry_id: int
    log: str | None


@dataclass(frozen=True)
class CheckProofArgs:
    """`mash audit check-proof`."""

    proof: str
    key: str


def cmd_verify(args: VerifyArgs) -> int:
    """`mash audit verify`: one line per log; exit 1 if any log fails or cannot be checked.

    Fails closed: no home, no logs, or no usable trust store is a failure with a reason,
    and a log is checked only against the checkpoint keys pinned in the trust store.
    """
    result = verify_home(Home.at(args.home), published=_read_checkpoints(args.checkpoint),
                         witness_files=args.witnesses)
    for verdict in result.verdicts:
        print(verdict.text)
    if result.first_bad is not None:
        print(printable(f"audit verify FAILED: {'first bad entry: ' if result.verdicts else ''}"
                        f"{result.first_bad}"))
        return 1
    print(f"audit verify: all {result.logs} logs intact")
    return 0


def cmd_checkpoints(args: HomeArgs) -> int:
    """`mash audit checkpoints`: a JSON list, one latest checkpoint per log."""
    out = []
    for path in logs_in(Home.at(args.home)):
        try:
            store = SqliteAuditStore.open_readonly(path)
        except AuditFormatError:
            continue
        with store:
            cps = store.checkpoints()
        if cps:
            out.append(cps[-1].checkpoint.to_json_dict())
    print(json.dumps(out, indent=2))
    return 0


def _read_checkpoints(files: list[Path]) -> list[Checkpoint]:
    out: list[Checkpoint] = []
    for f in files:
        try:
            data = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read checkpoint file {f}: {exc}") from None
        # a list of checkpoints, one checkpoint, or a proof (which carries its checkpoint)
        if isinstance(data, list):
            items = data
        elif isinstance(data, dict) and "checkpoint" in data:
            items = [data["checkpoint"]]
        else:
            items = [data]
        try:
            out.extend(Checkpoint.from_json_dict(d) for d in items)
        except ValueError as exc:  # a ConfigError names the field
            raise UsageError(f"{f} is not a checkpoint: {exc}") from None
    return out


def cmd_show(args: ShowArgs) -> int:
    """`mash audit show --referral ID`: the referral's trail, readable or JSON."""
    home = Home.at(args.home)
    if args.format == "json":
        records = records_for_referral(home, args.referral)
        print(json.dumps([r.to_json_dict() for r in records], indent=2))
    else:
        print(render_referral_trail(home, args.referral))
    return 0


def cmd_prove(args: ProveArgs) -> int:
    """`mash audit prove ENTRY_ID`: the proof as JSON on stdout."""
    home = Home.at(args.home)
    name = args.log
    if name is None:
        brokers = [p.stem for p in logs_in(home) if p.stem.startswith("broker")]
        if len(brokers) != 1:
            raise UsageError("name the log with --log (one of: "
                             f"{', '.join(p.stem for p in logs_in(home)) or 'none'})")
        name = brokers[0]
    path = home.audit_dir / f"{name}.sqlite"
    if not path.is_file():
        raise UsageError(f"no audit log {name!r} under {home.audit_dir}")
    try:
        proof = prove(path, args.entry_id)
    except EntryNotFound as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(proof.to_json_dict(), indent=2))
    return 0


def cmd_check_proof(args: CheckProofArgs) -> int:
    """`mash audit check-proof PROOF --key FILE`: VALID (exit 0) or INVALID (exit 1)."""
    try:
        text = sys.stdin.read() if args.proof == "-" else Path(args.proof).read_text()
        proof = InclusionProof.from_json_dict(json.loads(text))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read proof: {exc}") from None
    except InvalidInclusionProof as exc:
        raise UsageError(str(exc)) from None
    key = _read_public_key(Path(args.key))
    try:
        check_proof(proof, key)
    except (InvalidInclusionProof, InvalidCheckpointSignature) as exc:
        print(printable(f"INVALID: {exc}"))
        return 1
    cp = proof.checkpoint
    print(printable(f"VALID: entry {proof.entry_id} is in log {cp.log!r} as signed at "
                    f"{cp.timestamp} (tree size {cp.tree_size}, key {cp.key_id})"))
    print(printable(f"entry: {proof.core}"))
    return 0


def _read_public_key(path: Path) -> bytes:
    try:
        data = path.read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"cannot read key: {exc}") from None
    if data.startswith(b"-----BEGIN"):
        return data
    text = data.decode("ascii", "replace")
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise UsageError("key must be PEM, or the raw key in base64 or hex") from None
    if len(raw) != 32:
        raise UsageError("raw Ed25519 public key must be 32 bytes")
    return raw
