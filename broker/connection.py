"""How a staff command finds and connects to the running broker (shared by every CLI part).

`add_connection_args` adds the same connection flags to any sub-command;
`connect_from_args` turns them into a `BrokerClient`. The broker's port is
found from `HOME/run/broker-<id>.port` (written by the running broker) unless
`--address` is given; without `--token` a development token is issued from the
home's dev identity provider. gRPC is imported only when connecting, so the
`mash` CLI starts quickly.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mash.home import Home
from mash.vocab import Role

if TYPE_CHECKING:
    from broker.client import BrokerClient


class NoRunningBroker(Exception):
    """No broker address was given and no running broker was found in the home folder."""


def add_connection_args(p: argparse.ArgumentParser, *, default_role: str,
                        default_sub: str) -> None:
    """Add --address/--broker-id/--server-name/--token/--role/--sub/--client to `p`.

    `p` takes `--home` from its parent parser (`mash.command.HOME`).
    """
    p.add_argument("--address", help="broker host:port (default: the running demo broker)")
    p.add_argument("--broker-id", default="mash-demo",
                   help="the broker meant: its certificate must say mash://broker/<id>")
    p.add_argument("--server-name", default=None,
                   help="the name the broker's certificate must carry (default: the host of "
                        "--address; on loopback, its demo name <id>.broker.localhost)")
    p.add_argument("--token", help="bearer token (default: issue one from the dev issuer)")
    p.add_argument("--role", default=default_role, choices=[r.value for r in Role],
                   help="role for a dev token")
    p.add_argument("--sub", default=default_sub, help="staff id for a dev token")
    p.add_argument("--client", default="client-staff", help="client certificate name")


@dataclass(frozen=True)
class ConnectionArgs:
    """The arguments `add_connection_args` adds (and `--home`), for typed handlers to extend."""

    home: str | None
    address: str | None
    broker_id: str
    server_name: str | None
    token: str | None
    role: str
    sub: str
    client: str



def broker_address(args: ConnectionArgs) -> str:
    """The broker's host:port from `--address`, else from the running broker's port file.

    Raises `NoRunningBroker` when neither is available.
    """
    if args.address:
        return str(args.address)
    port_file = Home.at(args.home).run_dir / f"broker-{args.broker_id}.port"
    if not port_file.exists():
        raise NoRunningBroker(f"no running broker found ({port_file}); give --address")
    return f"127.0.0.1:{port_file.read_text().strip()}"


def connect(args: ConnectionArgs) -> BrokerClient:
    """A BrokerClient for the connection arguments; raises `NoRunningBroker`."""
    from broker.client import BrokerClient
    from identity.tokens import issue_token

    home = Home.at(args.home)
    address = broker_address(args)
    # a dev token is bound to the certificate this client presents, for the broker meant
    token = args.token or issue_token(home, sub=args.sub, role=Role(args.role),
                                      broker_id=args.broker_id, client=args.client)
    return BrokerClient(home, address, token, client_name=args.client,
                        broker_id=args.broker_id, server_name=args.server_name)


def connect_from_args(args: ConnectionArgs) -> BrokerClient:
    """Like `connect`, but a missing broker is a usage error (exit 2) for the CLI."""
    from mash.errors import UsageError

    try:
        return connect(args)
    except NoRunningBroker as exc:
        raise UsageError(str(exc)) from None
