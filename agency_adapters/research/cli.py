"""`mash adapter research list|show|answer|alerts`: the agency's MASH researcher at work.

A client of the running adapter's `Research` service over mTLS: the researcher's client
certificate and their MASH's staff token (role `agency_researcher`, bound to that
certificate) say who they are -- nothing typed on the command line does. Without
`--token`, a development token is issued from the home's development issuer (demo and
tests only), as every staff command does.

Exit codes: 0 done; 1 the adapter could not be reached or refused who you are
(`alerts`: 1 while any Red item is near or past its due time); 2 the request was wrong
(an unknown item, a category the agreement does not permit, an item already answered).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mash.command import HOME, Subparsers, typed
from mash.errors import UsageError
from mash.home import Home

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from mash.v1 import research_pb2

A = TypeVar("A")

_BAD_INPUT = ("INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "PERMISSION_DENIED")


def register(asub: Subparsers) -> None:
    """Add `mash adapter research ...` under `mash adapter`."""
    research = asub.add_parser("research", help="the researcher queue (agencies without an API)")
    rsub = research.add_subparsers(dest="research_command", required=True, metavar="ACTION")
    lst = rsub.add_parser("list", parents=[HOME], help="queued queries with their RAG and due time")
    lst.add_argument("--state", default="pending", choices=("pending", "answered", "all"))
    _connection(lst)
    lst.set_defaults(handler=typed(ListArgs, _list))
    show = rsub.add_parser("show", parents=[HOME], help="one queued query: the subjects as asked, purpose, "
                                        "RAG, due time, the categories you may disclose")
    show.add_argument("item_id", help="the item's id (R-...)")
    _connection(show)
    show.set_defaults(handler=typed(ItemArgs, _show))
    answer = rsub.add_parser("answer", parents=[HOME], help="record what may be disclosed, or not known; the "
                                            "adapter signs it for the MASH that asked")
    answer.add_argument("item_id", help="the item's id (R-...)")
    what = answer.add_mutually_exclusive_group(required=True)
    what.add_argument("--not-known", action="store_true",
                      help="nobody matching the subjects was found")
    what.add_argument("--fact", nargs=4, action="append",
                      metavar=("SUBJECT", "CATEGORY", "DATE", "SUMMARY"),
                      help="one fact that may be disclosed (repeatable): subject id, data "
                           "category, date YYYY-MM-DD, a one-line minimised summary")
    answer.add_argument("--band", action="append", default=[], metavar="SUBJECT=BAND",
                        help="how sure you are it is the subject: certain or high (default)")
    _connection(answer)
    answer.set_defaults(handler=typed(AnswerArgs, _answer))
    alerts = rsub.add_parser("alerts", parents=[HOME], help="Red items near or past their due time "
                                            "(exit 1 while any stands)")
    _connection(alerts)
    alerts.set_defaults(handler=typed(ConnectionArgs, _alerts))


def _connection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None,
                   help="the adapter's config (finds its home, agency and running port)")
    p.add_argument("--agency", default=None, help="the agency's adapter (default: the config's)")
    p.add_argument("--address", default=None, help="the adapter's host:port (default: its "
                                                   "port file in the home)")
    p.add_argument("--server-name", default=None,
                   help="the name the adapter's certificate must carry")
    p.add_argument("--broker-id", default="mash-demo",
                   help="your MASH (its broker id): the development token is for it")
    p.add_argument("--token", default=None,
                   help="your staff token (default: a development token for --sub)")
    p.add_argument("--sub", default="researcher-1", help="staff id for a development token")
    p.add_argument("--client", default="client-staff", help="your client certificate's name")
    p.add_argument("--json", action="store_true", help="print JSON")


@dataclass(frozen=True)
class ConnectionArgs:
    """The arguments `_connection` adds (and `--home`): which adapter, as whom."""

    home: str | None
    config: Path | None
    agency: str | None
    address: str | None
    server_name: str | None
    broker_id: str
    token: str | None
    sub: str
    client: str
    json: bool


@dataclass(frozen=True)
class ListArgs(ConnectionArgs):
    """`mash adapter research list`."""

    state: str


@dataclass(frozen=True)
class ItemArgs(ConnectionArgs):
    """`mash adapter research show ITEM`."""

    item_id: str


@dataclass(frozen=True)
class AnswerArgs(ItemArgs):
    """`mash adapter research answer ITEM`: not known, or facts (subject, category, date,
    summary) each with a band."""

    not_known: bool
    fact: list[list[str]] | None
    band: list[str]


class ResearchClient:
    """A blocking client of one adapter's `Research` service."""

    def __init__(self, home: Home, agency: str, address: str, token: str, client_name: str,
                 server_name: str | None = None, timeout_s: float = 30.0) -> None:
        import grpc

        from certs.names import PeerKind, Principal
        from certs.tls import channel_credentials, client_channel_options
        from mash.v1 import research_pb2_grpc

        expected = Principal(PeerKind.ADAPTER, agency)
        self._channel = grpc.secure_channel(
            address, channel_credentials(home, client_name),
            options=client_channel_options(expected, address, server_name))
        self.stub = research_pb2_grpc.ResearchStub(self._channel)
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.timeout_s = timeout_s

    def call(self, method: str, request: Message) -> Any:
        """`Research.<method>(request)` as this researcher (grpc's stubs are untyped: the
        caller names the reply's type)."""
        return getattr(self.stub, method)(request, metadata=self.metadata,
                                          timeout=self.timeout_s)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


def _client(args: ConnectionArgs) -> ResearchClient:
    from identity.tokens import issue_token
    from mash.vocab import Agency, Role, UnknownVocabulary, parse

    home_root, agency = args.home, args.agency
    if args.config is not None:
        from agency_adapters.config import AdapterConfig
        from mash.command import load_config

        config = load_config(AdapterConfig.load, args.config)
        home_root = home_root or str(config.home.root)
        agency = agency or str(config.agency)
    home = Home.at(home_root)
    try:
        agency = str(parse(Agency, agency or "police"))
    except UnknownVocabulary as exc:
        raise UsageError(str(exc)) from None
    address = args.address
    if not address:
        port_file = home.run_dir / f"adapter-{agency}.port"
        if not port_file.exists():
            raise UsageError(f"no running {agency} adapter found ({port_file}); give --address")
        address = f"127.0.0.1:{port_file.read_text().strip()}"
    token = args.token or issue_token(home, sub=args.sub, role=Role.AGENCY_RESEARCHER,
                                      broker_id=args.broker_id, client=args.client)
    return ResearchClient(home, agency, address, token, args.client, args.server_name)


def _run(args: ConnectionArgs, method: str, request: Message) -> Any:
    """Call the adapter; a refusal is printed and becomes the exit code (raised as _Exit)."""
    import grpc

    client = _client(args)
    try:
        return client.call(method, request)
    except grpc.RpcError as exc:
        code = exc.code().name if exc.code() is not None else "UNKNOWN"
        print(f"mash: error: {code.lower()}: {exc.details()}", file=sys.stderr)
        raise _Exit(2 if code in _BAD_INPUT else 1) from None
    finally:
        client.close()


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _handled(fn: Callable[[A], int]) -> Callable[[A], int]:
    def run(args: A) -> int:
        try:
            return fn(args)
        except _Exit as exc:
            return exc.code
    run.__doc__ = fn.__doc__
    return run


def _local(iso: str) -> str:
    from mash.clock import LONDON

    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(LONDON).strftime("%a %d %b %H:%M")


def _left(item: research_pb2.ResearchItem) -> str:
    if not item.due_at:
        return "-"
    m = int(item.minutes_left)
    sign = "-" if m < 0 else ""
    return f"{sign}{abs(m) // 60}h{abs(m) % 60:02d}m"


def _as_dict(message: Message) -> dict[str, object]:
    from google.protobuf.json_format import MessageToDict

    out: dict[str, object] = MessageToDict(message, preserving_proto_field_name=True,
                                        always_print_fields_with_no_presence=True)
    return out


def _table(items: list[research_pb2.ResearchItem]) -> None:
    print(f"{'ITEM':<16} {'RAG':<6} {'DUE (UK time)':<17} {'LEFT':>8}  {'STATE':<9} REFERRAL")
    for i in items:
        flag = "  ALERT: Red, near its deadline" if i.alert else ""
        print(f"{i.item_id:<16} {i.rag.upper():<6} {_local(i.due_at):<17} {_left(i):>8}  "
              f"{i.state:<9} {i.referral_id}{flag}")


@_handled
def _list(args: ListArgs) -> int:
    from mash.v1 import research_pb2 as rpb

    reply: rpb.ListResearchResponse = _run(args, "ListItems",
                                           rpb.ListResearchRequest(state=args.state))
    if args.json:
        print(json.dumps([_as_dict(i) for i in reply.items], indent=2))
        return 0
    if not reply.items:
        print(f"no {args.state if args.state != 'all' else ''} research items".replace("  ", " "))
        return 0
    _table(list(reply.items))
    alerts = sum(1 for i in reply.items if i.alert)
    if alerts:
        print(f"{alerts} Red item(s) near or past their deadline")
    return 0


@_handled
def _show(args: ItemArgs) -> int:
    from mash.v1 import research_pb2 as rpb

    item: rpb.ResearchItem = _run(args, "GetItem", rpb.GetResearchRequest(item_id=args.item_id))
    if args.json:
        print(json.dumps(_as_dict(item), indent=2))
        return 0
    print(f"research item {item.item_id}  ({item.state})")
    print(f"  referral {item.referral_id} from {item.broker_id}; asked by a "
          f"{item.requester_role}")
    print(f"  RAG {item.rag.upper()}, due {_local(item.due_at)} (left {_left(item)})"
          + ("  ALERT: Red, near its deadline" if item.alert else ""))
    print(f"  purpose {item.purpose} under {item.statutory_gateway}")
    permitted = {p.subject_id: list(p.categories) for p in item.permitted}
    for s in item.subjects:
        ids = s.identifiers
        shown = [f"{k}={v}" for k, v in (
            ("given_name", ids.given_name), ("family_name", ids.family_name),
            ("date_of_birth", ids.date_of_birth), ("sex", ids.sex), ("postcode", ids.postcode),
            ("address", ids.address), ("nhs_number", ids.nhs_number), ("upn", ids.upn)) if v]
        if ids.other_names:
            shown.append("other_names=" + "/".join(ids.other_names))
        print(f"  subject {s.subject_id} ({s.role}): {', '.join(shown)}")
        cats = permitted.get(s.subject_id) or []
        print(f"    you may disclose: {', '.join(cats) if cats else 'nothing'}")
    if item.state == "answered":
        print(f"  answered {item.outcome} by {item.answered_by} at {_local(item.answered_at)}")
    return 0


@_handled
def _answer(args: AnswerArgs) -> int:
    from mash.v1 import mash_pb2 as pb
    from mash.v1 import research_pb2 as rpb

    request = rpb.AnswerResearchRequest(item_id=args.item_id, not_known=args.not_known)
    bands: dict[str, str] = {}
    for spec in args.band:
        sid, sep, band = spec.partition("=")
        if not sep or not sid or not band:
            raise UsageError(f"--band {spec!r}: give SUBJECT=certain or SUBJECT=high")
        bands[sid] = band
    findings: dict[str, research_pb2.ResearchFinding] = {}
    for sid, category, occurred_on, summary in args.fact or ():
        finding = findings.get(sid)
        if finding is None:
            finding = findings[sid] = request.findings.add(subject_id=sid,
                                                           match_band=bands.get(sid, ""))
        finding.facts.append(pb.Fact(category=category, occurred_on=occurred_on,
                                     summary=summary))
    unknown = set(bands) - set(findings)
    if unknown:
        raise UsageError(f"--band names a subject with no --fact: {sorted(unknown)[0]}")
    item: rpb.ResearchItem = _run(args, "Answer", request)
    if args.json:
        print(json.dumps(_as_dict(item), indent=2))
        return 0
    print(f"answered {item.item_id}: {item.outcome}; signed for {item.broker_id}, which "
          f"collects it when the referral's summary is next viewed")
    return 0


@_handled
def _alerts(args: ConnectionArgs) -> int:
    from mash.v1 import research_pb2 as rpb

    reply: rpb.ResearchAlertsResponse = _run(args, "Alerts", rpb.ListResearchRequest())
    if args.json:
        print(json.dumps({"alert_minutes": reply.alert_minutes,
                          "items": [_as_dict(i) for i in reply.items]}, indent=2))
    elif not reply.items:
        print(f"no Red items due within {reply.alert_minutes} minutes")
    else:
        _table(list(reply.items))
        print(f"ALERT: {len(reply.items)} Red item(s) due within {reply.alert_minutes} "
              f"minutes or overdue")
    return 1 if reply.items else 0
