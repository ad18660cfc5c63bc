"""`mash audit ...`: verify the logs, show a referral's trail (and the IG lead's tools)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mash.audit.errors import AuditFormatError
from mash.audit.keys import published_checkpoint_keys
from mash.audit.reading import logs_in, records_for_referral, render_referral_trail
from mash.audit.store import SqliteAuditStore
from mash.audit.verify import verify_log
from mash.home import Home


def register(sub: Any) -> None:
    """Add `mash audit` and its sub-commands to the `mash` parser."""
    audit = sub.add_parser("audit", help="verify, search and report on the audit logs")
    commands = audit.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")

    verify = commands.add_parser(
        "verify", help="check every audit log under the home; exit 1 naming the first bad entry")
    _home_arg(verify)
    verify.set_defaults(handler=cmd_verify)

    show = commands.add_parser("show", help="the audit trail of one referral, across all logs")
    _home_arg(show)
    show.add_argument("--referral", required=True, metavar="ID", help="referral id")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(handler=cmd_show)


def _home_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", default=None, metavar="DIR", help="home folder (default ./.mash)")


def cmd_verify(args: argparse.Namespace) -> int:
    """`mash audit verify`: one line per log; exit 1 if any log fails."""
    home = Home.at(args.home)
    paths = logs_in(home)
    if not paths:
        print(f"no audit logs under {home.audit_dir}")
        return 0
    first_bad: str | None = None
    for path in paths:
        owner = _owner_of(path)
        keys = published_checkpoint_keys(home, owner) if owner else None
        report = verify_log(path, checkpoint_public_key=keys.keys if keys and keys.keys else None)
        line = report.line(path.name)
        if report.ok and keys is not None and keys.keys and keys.source != "trust store":
            line += f" [key from {keys.source}]"
        print(line)
        if not report.ok and first_bad is None:
            where = f" entry {report.first_bad_entry}" if report.first_bad_entry else ""
            first_bad = f"{path.name}{where}: {report.problem}"
    if first_bad is not None:
        print(f"audit verify FAILED: first bad entry: {first_bad}")
        return 1
    print(f"audit verify: all {len(paths)} logs intact")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """`mash audit show --referral ID`: the referral's trail, readable or JSON."""
    home = Home.at(args.home)
    if args.format == "json":
        records = records_for_referral(home, args.referral)
        print(json.dumps([r.to_json_dict() for r in records], indent=2))
    else:
        print(render_referral_trail(home, args.referral))
    return 0


def _owner_of(path: Path) -> str | None:
    try:
        store = SqliteAuditStore.open_readonly(path)
    except AuditFormatError:
        return None
    try:
        return store.owner()
    finally:
        store.close()
