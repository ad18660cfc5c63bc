"""`mash pki ...`: create and maintain the private CA, certificates, signing keys, trust store."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from cryptography import x509

from certs import pki, requests
from certs.authority import server_names_of
from certs.errors import InvalidName, PkiError
from certs.names import PeerKind, Principal
from certs.truststore import TrustStore
from mash.command import HOME, Handler, Subparsers, typed
from mash.errors import UsageError
from mash.home import Home
from mash.vocab import Agency

R = TypeVar("R")


def register(sub: Subparsers) -> None:
    """Add `mash pki ...` to the `mash` parser."""
    parser = sub.add_parser("pki", help="private CA, TLS certificates, signing keys, trust store")
    commands = parser.add_subparsers(dest="pki_command", required=True, metavar="PKI_COMMAND")

    init = _cmd(commands, "init", "create the CA, certificates, signing keys and trust store",
                typed(InitArgs, _init))
    init.add_argument("--broker", action="append", metavar="ID",
                      help="broker id (repeatable; default mash-demo)")
    init.add_argument("--agency", action="append", metavar="AGENCY",
                      help="agency adapter (repeatable; default every agency)")
    init.add_argument("--client", action="append", metavar="NAME",
                      help="client certificate name (repeatable; default staff)")
    init.add_argument("--force", action="store_true",
                      help="start again: new CA, certificates and keys (old ones stop working)")

    issue = _cmd(commands, "issue", "issue a certificate (and signing keys) for one principal",
                 typed(IssueArgs, _issue))
    issue.add_argument("--kind", required=True, choices=[k.value for k in PeerKind])
    issue.add_argument("name", help="broker id, agency, or client name")
    issue.add_argument("--force", action="store_true", help="re-issue even if a good one exists")
    _server_name_args(issue)

    rotate = _cmd(commands, "rotate", "new TLS key and certificate for NAME (e.g. adapter-police)",
                  typed(RotateArgs, _rotate))
    rotate.add_argument("name", nargs="?", help="certificate name; or use --expiring-within")
    rotate.add_argument("--expiring-within", type=float, metavar="DAYS",
                        help="rotate every certificate that expires within DAYS")
    rotate.add_argument("--revoke-old", action="store_true",
                        help="also revoke the certificate being replaced")

    revoke = _cmd(commands, "revoke", "revoke the current TLS certificate of NAME",
                  typed(RevokeArgs, _revoke))
    revoke.add_argument("name", help="certificate name, e.g. adapter-police")
    revoke.add_argument("--reason", default="unspecified")

    rotate_signing = _cmd(commands, "rotate-signing",
                          "new message-signing key for OWNER; old key kept for an overlap",
                          typed(RotateSigningArgs, _rotate_signing))
    rotate_signing.add_argument("owner", help="e.g. adapter-police, broker-mash-demo")
    rotate_signing.add_argument("--overlap-hours", type=float, default=7 * 24,
                                help="how long the old key still verifies (default 168)")

    _cmd(commands, "show", "print certificates (with expiry) and the trust store",
         typed(HomeArgs, _show))

    request = _cmd(commands, "request",
                   "agency side: create keys here and write a certificate request file",
                   typed(RequestArgs, _request))
    request.add_argument("--kind", required=True, choices=[k.value for k in PeerKind])
    request.add_argument("name", help="agency (for an adapter), broker id or client name")
    request.add_argument("--out", default=None, help="request file (default in the pki folder)")
    request.add_argument("--new-signing-keys", action="store_true",
                         help="replace the signing keys too (signing-key rotation)")

    approve = _cmd(commands, "approve",
                   "CA side: issue the certificate and pin the keys of a request file",
                   typed(ApproveArgs, _approve))
    approve.add_argument("request", help="the .request.toml file received")
    _server_name_args(approve)

    install = _cmd(commands, "install",
                   "agency side: install the approved certificate, CA and trust store",
                   typed(InstallArgs, _install))
    install.add_argument("name", help="certificate name, e.g. adapter-police")
    install.add_argument("--cert", required=True, help="the issued certificate (PEM)")
    install.add_argument("--ca", required=True, help="the MASH CA certificate (ca.pem)")
    install.add_argument("--trust-store", required=True, help="the MASH trust.toml")


def _server_name_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dns", action="append", default=[], metavar="NAME",
                        help="a DNS name the service is reached by (repeatable; brokers and "
                             "adapters only; default: its demo name, e.g. police.adapter.localhost)")
    parser.add_argument("--ip", action="append", default=[], metavar="ADDRESS",
                        help="an IP address the service is reached by (repeatable)")


def _cmd(commands: Subparsers, name: str, help_text: str,
         handler: Handler) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, parents=[HOME])
    parser.set_defaults(handler=handler)
    return parser


def _run(fn: Callable[[], R]) -> R:
    # PKI errors caused by the operator's input or missing set-up are usage errors (exit 2).
    try:
        return fn()
    except (InvalidName, PkiError) as exc:
        raise UsageError(str(exc)) from None


@dataclass(frozen=True)
class HomeArgs:
    """Arguments of a command that takes only `--home`."""

    home: str | None


@dataclass(frozen=True)
class ServerNameArgs(HomeArgs):
    """The names a service's certificate answers to (`_server_name_args`)."""

    dns: list[str]
    ip: list[str]


@dataclass(frozen=True)
class InitArgs(HomeArgs):
    """`mash pki init`."""

    broker: list[str] | None
    agency: list[str] | None
    client: list[str] | None
    force: bool


@dataclass(frozen=True)
class IssueArgs(ServerNameArgs):
    """`mash pki issue`."""

    kind: str
    name: str
    force: bool


@dataclass(frozen=True)
class RotateArgs(HomeArgs):
    """`mash pki rotate`."""

    name: str | None
    expiring_within: float | None
    revoke_old: bool


@dataclass(frozen=True)
class RevokeArgs(HomeArgs):
    """`mash pki revoke`."""

    name: str
    reason: str


@dataclass(frozen=True)
class RotateSigningArgs(HomeArgs):
    """`mash pki rotate-signing`."""

    owner: str
    overlap_hours: float


@dataclass(frozen=True)
class RequestArgs(HomeArgs):
    """`mash pki request`."""

    kind: str
    name: str
    out: str | None
    new_signing_keys: bool


@dataclass(frozen=True)
class ApproveArgs(ServerNameArgs):
    """`mash pki approve`."""

    request: str


@dataclass(frozen=True)
class InstallArgs(HomeArgs):
    """`mash pki install`."""

    name: str
    cert: str
    ca: str
    trust_store: str


def _init(args: InitArgs) -> int:
    home = Home.at(args.home)
    summary = _run(lambda: pki.init_pki(
        home,
        brokers=args.broker or ("mash-demo",),
        agencies=args.agency or tuple(Agency),
        clients=args.client or ("staff",),
        force=args.force,
    ))
    print(f"PKI in {home.pki_dir}: {len(summary.created)} created, {len(summary.kept)} kept")
    for item in summary.created:
        print(f"  created {item}")
    print(f"trust store: {home.trust_store}")
    return 0


def _issue(args: IssueArgs) -> int:
    home = Home.at(args.home)
    summary = _run(lambda: pki.issue(home, Principal(PeerKind(args.kind), args.name),
                                     force=args.force, dns=args.dns, ips=args.ip))
    for item in summary.created:
        print(f"created {item}")
    for item in summary.kept:
        print(f"kept {item}")
    principal = summary.principals[0]
    if principal.serves:
        names = server_names_of(pki.read_certificate(home, principal.cert_name))
        print(f"{principal.cert_name} answers to: {names.describe()}")
    return 0


def _rotate(args: RotateArgs) -> int:
    home = Home.at(args.home)
    if (args.name is None) == (args.expiring_within is None):
        raise UsageError("give either NAME or --expiring-within DAYS")
    if args.name is not None:
        names: tuple[str, ...] = (args.name,)
    elif args.expiring_within is not None:
        names = pki.expiring(home, timedelta(days=args.expiring_within))
        if not names:
            print(f"no certificate expires within {args.expiring_within:g} days")
    for name in names:
        if len(names) > 1 and not home.tls_key(name).exists():
            print(f"{name}: key held by its owner; ask them to run `mash pki request`")
            continue
        issued = _run(functools.partial(pki.rotate_tls, home, name, revoke_old=args.revoke_old))
        print(f"{issued.name}: new certificate serial {issued.serial:x}, valid until "
              f"{issued.not_after:%Y-%m-%d}; restart the service to use it")
    return 0


def _revoke(args: RevokeArgs) -> int:
    home = Home.at(args.home)
    entry = _run(lambda: pki.revoke(home, args.name, reason=args.reason))
    print(f"revoked {entry.name} serial {entry.serial:x}; "
          f"issue a new one with `mash pki rotate {entry.name}`")
    return 0


def _rotate_signing(args: RotateSigningArgs) -> int:
    home = Home.at(args.home)
    if args.overlap_hours < 0:
        raise UsageError("--overlap-hours must not be negative")
    key = _run(lambda: pki.rotate_signing(home, args.owner,
                                          overlap=timedelta(hours=args.overlap_hours)))
    print(f"{key.owner}: new signing key {key.key_id}; old keys verify for "
          f"{args.overlap_hours:g} more hours")
    return 0


def _request(args: RequestArgs) -> int:
    home = Home.at(args.home)
    out = Path(args.out) if args.out else None
    principal = _run(lambda: Principal(PeerKind(args.kind), args.name))
    path = _run(lambda: requests.create_request(home, principal, out=out,
                                                new_signing_keys=args.new_signing_keys))
    print(f"keys created under {home.pki_dir} (keep them there)")
    print(f"request written to {path}: send it to the MASH PKI operator")
    return 0


def _approve(args: ApproveArgs) -> int:
    home = Home.at(args.home)
    issued = _run(lambda: requests.approve_request(home, Path(args.request), dns=args.dns,
                                                   ips=args.ip))
    print(f"issued {issued.name} serial {issued.serial:x}, valid until {issued.not_after:%Y-%m-%d}")
    print(f"send back: {home.tls_cert(issued.name)}, {home.ca_cert}, {home.trust_store}")
    return 0


def _install(args: InstallArgs) -> int:
    home = Home.at(args.home)
    _run(lambda: requests.install_certificate(
        home, args.name, cert=Path(args.cert), ca=Path(args.ca),
        trust_store=Path(args.trust_store)))
    print(f"installed {args.name} certificate, CA and trust store under {home.pki_dir}")
    return 0


def _show(args: HomeArgs) -> int:
    home = Home.at(args.home)
    store = _run(lambda: TrustStore.load(home.trust_store))
    print(f"certificates in {home.pki_dir}")
    for path in sorted(home.pki_dir.glob("*.pem")):
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        state = "REVOKED" if store.is_revoked(cert.serial_number) else "ok"
        print(f"  {path.stem:<36} serial {cert.serial_number:040x}  "
              f"until {cert.not_valid_after_utc:%Y-%m-%d}  {state}")
        names = server_names_of(cert)
        if names:
            print(f"  {'':<36} answers to {names.describe()}")
    print(f"trust store {home.trust_store}")
    print(f"{'key_id':<17} {'owner':<36} {'purpose':<19} {'not_before':<11} not_after")
    for key in sorted(store.keys, key=lambda k: (k.owner, k.not_before)):
        print(f"{key.key_id:<17} {key.owner:<36} {key.purpose:<19} "
              f"{key.not_before:%Y-%m-%d}  {key.not_after:%Y-%m-%d %H:%M}")
    if store.revoked:
        print("revoked certificates:")
        for revoked in store.revoked:
            print(f"  {revoked.name:<30} serial {revoked.serial:x}  "
                  f"{revoked.revoked_at:%Y-%m-%d %H:%M}  {revoked.reason}")
    return 0
