"""`mash token ...`: the development token issuer."""

from __future__ import annotations

import argparse
from typing import Any

from identity.tokens import init_dev_issuer, issue_token, issuer_key_path
from mash.errors import UsageError
from mash.home import Home
from mash.vocab import Role, parse


def register(sub: Any) -> None:
    """Add `mash token ...` to the `mash` parser."""
    parser = sub.add_parser("token", help="development staff-token issuer")
    commands = parser.add_subparsers(dest="token_command", required=True, metavar="TOKEN_COMMAND")

    init = commands.add_parser("init", help="create the development issuer key and JWKS")
    init.add_argument("--home", default=None, help="home folder (default .mash)")
    init.add_argument("--force", action="store_true", help="replace the issuer key")
    init.set_defaults(handler=_init)

    issue = commands.add_parser("issue", help="print a signed staff token on stdout")
    issue.add_argument("--role", required=True, help=", ".join(r.value for r in Role))
    issue.add_argument("--sub", required=True, help="staff member's subject id")
    issue.add_argument("--org", default="mash-demo")
    issue.add_argument("--ttl", type=int, default=900, help="lifetime in seconds (default 900)")
    issue.add_argument("--home", default=None, help="home folder (default .mash)")
    issue.set_defaults(handler=_issue)


def _init(args: argparse.Namespace) -> int:
    home = Home.at(args.home)
    init_dev_issuer(home, force=args.force)
    print(f"development issuer ready in {home.idp_dir}")
    return 0


def _issue(args: argparse.Namespace) -> int:
    home = Home.at(args.home)
    role = parse(Role, args.role)
    if args.ttl <= 0:
        raise UsageError("--ttl must be a positive number of seconds")
    if not args.sub:
        raise UsageError("--sub must not be empty")
    if not issuer_key_path(home).exists():
        init_dev_issuer(home)  # dev issuer only: create on first use
    print(issue_token(home, sub=args.sub, role=role, org=args.org, ttl_s=args.ttl))
    return 0
