"""The policy engine and the data-sharing agreements (`policy/agreements/`).

The broker calls `evaluate` before it sends a query; every adapter calls the
same engine again before it discloses. Typical use::

    engine = load_engine(home)                       # shipped agreements, approvals from home
    decision = engine.evaluate(PolicyRequest.from_json(request_json))
    decision.permitted_categories, decision.to_json()
"""

from policy.agreement import Agreement, BreakGlassTerms, ConsentRule, PurposeTerms
from policy.approval import (
    ApprovalRecord,
    ApprovalState,
    ApprovalStatus,
    approval_status,
    approvals_dir,
    approve,
    approvers_file,
    create_approver,
    dev_approve_all,
    load_trusted_approvers,
)
from policy.decision import PolicyDecision
from policy.engine import SHIPPED_POLICY_DIR, PolicyEngine, load_engine
from policy.errors import (
    AgreementConflict,
    AgreementInvalid,
    ApprovalError,
    InvalidApprovalSignature,
    InvalidRequest,
    MalformedApproval,
    PolicyError,
    UnknownApprover,
)
from policy.reasons import NO_AGREEMENT_IN_FORCE, PolicyReason, Reason
from policy.request import DEFAULT_MASH_ID, BreakGlass, PolicyRequest

__all__ = [
    "DEFAULT_MASH_ID", "NO_AGREEMENT_IN_FORCE", "SHIPPED_POLICY_DIR", "Agreement",
    "AgreementConflict", "AgreementInvalid",
    "ApprovalError", "ApprovalRecord", "ApprovalState", "ApprovalStatus", "BreakGlass",
    "BreakGlassTerms", "ConsentRule", "InvalidApprovalSignature", "InvalidRequest",
    "MalformedApproval", "PolicyDecision", "PolicyEngine", "PolicyError", "PolicyReason",
    "PolicyRequest", "PurposeTerms", "Reason", "UnknownApprover", "approval_status",
    "approvals_dir", "approve", "approvers_file", "create_approver", "dev_approve_all",
    "load_engine", "load_trusted_approvers",
]
