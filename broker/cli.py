"""`mash broker serve` and `mash lookup`."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from broker.connection import ConnectionArgs, add_connection_args, connect_from_args
from mash.command import HOME, Subparsers, typed
from mash.vocab import ConsentState, Purpose, Rag, ReasonCode, Role, StatutoryGateway


def register(sub: Subparsers) -> None:
    """Add `mash broker ...` and `mash lookup`."""
    broker = sub.add_parser("broker", help="run the MASH broker")
    bsub = broker.add_subparsers(dest="broker_command", required=True, metavar="ACTION")
    serve = bsub.add_parser("serve", help="serve the staff-facing broker API over mTLS")
    serve.add_argument("--config", required=True, type=Path, help="broker TOML config file")
    serve.set_defaults(handler=typed(ServeArgs, _serve))

    lookup = sub.add_parser("lookup", help="ask every agency what it knows for a referral", parents=[HOME])
    lookup.add_argument("--referral", required=True, help="referral id")
    lookup.add_argument("--rag", required=True, choices=[r.value for r in Rag])
    lookup.add_argument("--purpose", required=True, choices=[p.value for p in Purpose])
    lookup.add_argument("--gateway", required=True, choices=[g.value for g in StatutoryGateway])
    lookup.add_argument("--consent", required=True, choices=[c.value for c in ConsentState])
    lookup.add_argument("--consent-reason", choices=[r.value for r in ReasonCode])
    lookup.add_argument("--subjects", type=Path,
                        help="JSON file: a list of {subject_id, role, identifiers{...}}")
    lookup.add_argument("--demo-referral", type=int,
                        help="use the subjects of demo referral N from the seeded data")
    lookup.add_argument("--agency", action="append", default=[], help="ask only these agencies")
    lookup.add_argument("--format", choices=["text", "json"], default="text")
    add_connection_args(lookup, default_role=Role.MASH_SOCIAL_WORKER.value, default_sub="sw-104")
    lookup.set_defaults(handler=typed(LookupArgs, _lookup))

    review = sub.add_parser("review", help="team managers: requests held for review")
    rsub = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    rlist = rsub.add_parser("list", help="list held requests", parents=[HOME])
    rlist.add_argument("--status", default="pending",
                       choices=["pending", "approved", "rejected", "all"])
    rlist.add_argument("--referral", default="", help="only this referral")
    rlist.add_argument("--format", choices=["text", "json"], default="text")
    add_connection_args(rlist, default_role=Role.MASH_TEAM_MANAGER.value, default_sub="tm-310")
    rlist.set_defaults(handler=typed(ReviewListArgs, _review_list))
    for action in ("approve", "reject"):
        r = rsub.add_parser(action, help=f"{action} a held request, with a recorded reason", parents=[HOME])
        r.add_argument("review_id")
        r.add_argument("--reason", required=True, help="why (recorded in the audit log)")
        r.add_argument("--format", choices=["text", "json"], default="text")
        add_connection_args(r, default_role=Role.MASH_TEAM_MANAGER.value, default_sub="tm-310")
        r.set_defaults(handler=typed(ReviewDecideArgs, _review_decide),
                       approve=action == "approve")
    for action in ("approve-all", "reject-all"):
        r = rsub.add_parser(action, help=f"{action.split('-')[0]} every pending request of one "
                                         "referral in one decision, with a recorded reason", parents=[HOME])
        r.add_argument("referral_id")
        r.add_argument("--reason", required=True, help="why (recorded with every review)")
        r.add_argument("--format", choices=["text", "json"], default="text")
        add_connection_args(r, default_role=Role.MASH_TEAM_MANAGER.value, default_sub="tm-310")
        r.set_defaults(handler=typed(ReviewDecideAllArgs, _review_decide_all),
                       approve=action == "approve-all")


@dataclass(frozen=True)
class ServeArgs:
    """`mash broker serve`."""

    config: Path


@dataclass(frozen=True)
class LookupArgs(ConnectionArgs):
    """`mash lookup`."""

    referral: str
    rag: str
    purpose: str
    gateway: str
    consent: str
    consent_reason: str | None
    subjects: Path | None
    demo_referral: int | None
    agency: list[str]
    format: str


@dataclass(frozen=True)
class ReviewListArgs(ConnectionArgs):
    """`mash review list`."""

    status: str
    referral: str
    format: str


@dataclass(frozen=True)
class ReviewDecideArgs(ConnectionArgs):
    """`mash review approve|reject REVIEW_ID`."""

    review_id: str
    reason: str
    format: str
    approve: bool


@dataclass(frozen=True)
class ReviewDecideAllArgs(ConnectionArgs):
    """`mash review approve-all|reject-all REFERRAL_ID`."""

    referral_id: str
    reason: str
    format: str
    approve: bool


def _review_list(args: ReviewListArgs) -> int:
    import grpc
    from google.protobuf import json_format

    try:
        with connect_from_args(args) as client:
            reviews = client.list_reviews(args.status, args.referral)
    except grpc.RpcError as exc:
        print(f"mash: refused: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps([json_format.MessageToDict(r, preserving_proto_field_name=True)
                          for r in reviews], indent=2))
        return 0
    if not reviews:
        print(f"no {args.status} reviews")
    for r in reviews:
        print(f"{r.review_id}  {r.status:<8} referral {r.referral_id}  {r.agency:<10} "
              f"{r.purpose} rag={r.rag} consent={r.consent_state}"
              f"{' (' + r.consent_reason + ')' if r.consent_reason else ''}  "
              f"asked by {r.requester_role} {r.requester_id} at {r.requested_at}")
        print(f"    categories held: {', '.join(r.categories)}")
        if r.decided_by:
            print(f"    {r.status} by {r.decided_by} at {r.decided_at}: {r.decision_reason}")
    return 0


def _review_decide(args: ReviewDecideArgs) -> int:
    import grpc
    from google.protobuf import json_format

    try:
        with connect_from_args(args) as client:
            response = client.decide_review(args.review_id, approve=args.approve,
                                            reason=args.reason)
    except grpc.RpcError as exc:
        print(f"mash: refused: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    # The broker files what an approval released with the referral itself.
    filed = response.filed_lookup_id
    if args.format == "json":
        print(json_format.MessageToJson(response, preserving_proto_field_name=True))
        return 0
    print(f"review {response.review.review_id}: {response.review.status}")
    if response.HasField("result"):
        print(f"{response.result.agency}: {response.result.status}")
    if filed:
        print(f"filed with referral {response.review.referral_id} as lookup {filed}")
    return 0


def _review_decide_all(args: ReviewDecideAllArgs) -> int:
    import grpc
    from google.protobuf import json_format

    from mash.v1 import referrals_pb2 as rpb

    try:
        with connect_from_args(args) as client:
            response = client.referrals("DecideReviews", rpb.DecideReviewsRequest(
                referral_id=args.referral_id, approve=args.approve, reason=args.reason))
    except grpc.RpcError as exc:
        print(f"mash: refused: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json_format.MessageToJson(response, preserving_proto_field_name=True))
        return 0
    for decided in response.decisions:
        line = f"review {decided.review.review_id} ({decided.review.agency}): " \
               f"{decided.review.status}"
        if decided.HasField("result"):
            line += f"; {decided.result.agency}: {decided.result.status}"
        if decided.filed_lookup_id:
            line += f"; filed with referral {args.referral_id} as lookup " \
                    f"{decided.filed_lookup_id}"
        print(line)
    return 0


def _serve(args: ServeArgs) -> int:
    from broker.config import BrokerConfig
    from broker.server import IdentityProviderUnavailable, run
    from mash.command import load_config
    from mash.errors import UsageError

    try:
        run(load_config(BrokerConfig.load, args.config))
    except IdentityProviderUnavailable as exc:
        raise UsageError(str(exc)) from None
    return 0


def _lookup(args: LookupArgs) -> int:
    import grpc
    from google.protobuf import json_format

    from broker.summary_text import format_summary
    from mash.demo_data import demo_referrals
    from mash.errors import UsageError
    from mash.home import Home
    from mash.v1 import mash_pb2 as pb

    home = Home.at(args.home)
    if args.subjects:
        try:
            raw = json.loads(args.subjects.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"--subjects: {exc}") from None
    elif args.demo_referral is not None:
        referrals = demo_referrals(home)
        if not 0 <= args.demo_referral < len(referrals):
            raise UsageError(f"--demo-referral: 0..{len(referrals) - 1}")
        # demo files carry seed metadata (known_to, match_at_seed) beside each subject
        raw = [{k: v for k, v in s.items() if k in ("subject_id", "role", "identifiers")}
               for s in referrals[args.demo_referral]["subjects"]]
    else:
        raise UsageError("give --subjects FILE or --demo-referral N")
    request = pb.LookupRequest(
        referral_id=args.referral, rag=args.rag, purpose=args.purpose,
        statutory_gateway=args.gateway,
        consent=pb.Consent(state=args.consent, reason=args.consent_reason or ""),
        agencies=args.agency,
    )
    try:
        for s in raw:
            json_format.ParseDict(s, request.subjects.add(), ignore_unknown_fields=False)
    except (json_format.ParseError, TypeError) as exc:
        raise UsageError(f"subjects: {exc}") from None
    try:
        with connect_from_args(args) as client:
            summary = client.lookup(request)
    except grpc.RpcError as exc:
        print(f"mash: lookup refused: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json_format.MessageToJson(summary, preserving_proto_field_name=True))
    else:
        print(format_summary(summary))
    return 0
