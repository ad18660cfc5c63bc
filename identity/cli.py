"""`mash token ...`: the development token issuer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from identity.tokens import DEFAULT_BROKER_ID, init_dev_issuer, issue_token, issuer_key_path
from mash.command import HOME, Subparsers, typed
from mash.errors import UsageError
from mash.home import Home
from mash.vocab import Role, parse


def register(sub: Subparsers) -> None:
    """Add `mash token ...` to the `mash` parser."""
    parser = sub.add_parser("token", help="development staff-token issuer")
    commands = parser.add_subparsers(dest="token_command", required=True, metavar="TOKEN_COMMAND")

    init = commands.add_parser("init", help="create the development issuer key and JWKS", parents=[HOME])
    init.add_argument("--force", action="store_true", help="replace the issuer key")
    init.set_defaults(handler=typed(InitArgs, _init))

    issue = commands.add_parser(
        "issue", help="print a signed staff token on stdout, bound to one client certificate", parents=[HOME])
    issue.add_argument("--role", required=True, help=", ".join(r.value for r in Role))
    issue.add_argument("--sub", required=True, help="staff member's subject id")
    issue.add_argument("--broker-id", default=DEFAULT_BROKER_ID,
                       help="the broker the token is for (its audience; default mash-demo)")
    issue.add_argument("--org", default=None, help="the MASH (default: the broker id)")
    device = issue.add_mutually_exclusive_group()
    device.add_argument("--client", default="client-staff",
                        help="bind to this client certificate of the home (default client-staff)")
    device.add_argument("--cert", default=None,
                        help="bind to the client certificate in this PEM file (the device's)")
    issue.add_argument("--ttl", type=int, default=900, help="lifetime in seconds (default 900)")
    issue.set_defaults(handler=typed(IssueArgs, _issue))
    register_idp(sub)


@dataclass(frozen=True)
class InitArgs:
    """`mash token init`."""

    home: str | None
    force: bool


@dataclass(frozen=True)
class IssueArgs:
    """`mash token issue`."""

    home: str | None
    role: str
    sub: str
    broker_id: str
    org: str | None
    client: str
    cert: str | None
    ttl: int


@dataclass(frozen=True)
class ServeArgs:
    """`mash idp serve`."""

    config: str


def _init(args: InitArgs) -> int:
    home = Home.at(args.home)
    init_dev_issuer(home, force=args.force)
    print(f"development issuer ready in {home.idp_dir}")
    return 0


def _issue(args: IssueArgs) -> int:
    home = Home.at(args.home)
    role = parse(Role, args.role)
    if args.ttl <= 0:
        raise UsageError("--ttl must be a positive number of seconds")
    if not args.sub:
        raise UsageError("--sub must not be empty")
    cert = Path(args.cert) if args.cert else home.tls_cert(args.client)
    if not cert.is_file():
        raise UsageError(f"no client certificate {cert}: a token is bound to the device that "
                         "presents it (give --client NAME or --cert FILE)")
    if not issuer_key_path(home).exists():
        init_dev_issuer(home)  # dev issuer only: create on first use
    try:
        token = issue_token(home, sub=args.sub, role=role, broker_id=args.broker_id,
                            org=args.org, ttl_s=args.ttl, cert=cert)
    except ValueError:
        raise UsageError(f"{cert} is not a PEM certificate") from None
    print(token)
    return 0


def register_idp(sub: Subparsers) -> None:
    """Add `mash idp serve` (the development OpenID Connect issuer)."""
    parser = sub.add_parser("idp", help="development OpenID Connect issuer (demo and tests only)")
    commands = parser.add_subparsers(dest="idp_command", required=True, metavar="IDP_COMMAND")
    serve = commands.add_parser("serve", help="serve discovery, JWKS, demo sign-in and tokens")
    serve.add_argument("--config", required=True, help="idp TOML config file")
    serve.set_defaults(handler=typed(ServeArgs, _serve_idp))


def _serve_idp(args: ServeArgs) -> int:
    from identity.oidc_server import IdpConfig, serve_idp
    from mash.command import load_config

    serve_idp(load_config(IdpConfig.load, Path(args.config)))
    return 0
