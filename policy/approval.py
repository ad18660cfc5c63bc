"""Signed approvals of agreements: two different named people must approve a file's exact bytes.

An approval record names the agreement id, the sha256 of the file it approves,
the approver and the time, signed with the approver's Ed25519 key. Approver
public keys are pinned in `approvers.toml` in the home folder (never in git).
Editing an agreement after approval changes its sha256, so its approvals no
longer count and the engine DENYs everything under it (`agreement_altered`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mash.canonical import canonical_bytes
from mash.clock import utc_now
from mash.config import ConfigError, Strict, decode, load_toml
from mash.home import Home
from policy.agreement import Agreement
from policy.agreement_file import MIN_APPROVERS
from policy.errors import (
    AgreementInvalid,
    AlreadyApproved,
    ApproverAlreadyPinned,
    InvalidApprovalSignature,
    MalformedApproval,
    UnknownApprover,
)
from policy.loader import agreement_paths
from policy.schema import Severity, parse_agreement

RECORD_TYPE = "mash-policy-approval/v1"
REPLACEMENT_TYPE = "mash-policy-approver-replacement/v1"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

#: The two development approvers `dev_approve_all` creates (an IG lead and a Caldicott guardian).
DEV_APPROVERS = ("ig-lead-alex", "caldicott-guardian-sam")


def policy_home(home: Home) -> Path:
    """Where the policy part keeps its state in the home folder."""
    return home.root / "policy"


def approvers_dir(home: Home) -> Path:
    """Approver private keys (0600) and the pinned public keys file."""
    return policy_home(home) / "approvers"


def approvers_file(home: Home) -> Path:
    """The pinned approver public keys (`[approvers.<name>] public_key = "<base64>"`)."""
    return approvers_dir(home) / "approvers.toml"


def agreements_dir(home: Home) -> Path:
    """The agreement files a home's broker and adapters apply, where it keeps its own."""
    return policy_home(home) / "agreements"


def approvals_dir(home: Home) -> Path:
    """Signed approval records, one folder per agreement id."""
    return policy_home(home) / "approvals"


@dataclass(frozen=True)
class ApprovalRecord:
    """One signed approval, as stored (not yet verified)."""

    agreement_id: str
    agreement_sha256: str
    approver: str
    approved_at: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        """The canonical bytes the signature covers."""
        return _canonical({
            "type": RECORD_TYPE, "agreement_id": self.agreement_id,
            "agreement_sha256": self.agreement_sha256, "approver": self.approver,
            "approved_at": self.approved_at,
        })

    def to_json(self) -> dict[str, str]:
        """The stored JSON form."""
        return {"type": RECORD_TYPE, "agreement_id": self.agreement_id,
                "agreement_sha256": self.agreement_sha256, "approver": self.approver,
                "approved_at": self.approved_at,
                "signature": base64.b64encode(self.signature).decode("ascii")}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ApprovalRecord:
        """Parse a stored record; raise `MalformedApproval` on any problem."""
        try:
            raw = decode(ApprovalFile, data, "approval record")
        except ConfigError as exc:
            if exc.field == "type" and isinstance(data, Mapping) and "type" in data:
                raise MalformedApproval(f"not an approval record: {data['type']!r}") from None
            raise MalformedApproval(f"malformed approval record: field {exc.field!r}: "
                                    f"{exc.problem}") from None
        try:
            signature = base64.b64decode(raw.signature, validate=True)
        except ValueError as exc:
            raise MalformedApproval(f"malformed approval record: {exc}") from None
        return cls(raw.agreement_id, raw.agreement_sha256, raw.approver, raw.approved_at,
                   signature)


class ApprovalFile(Strict, frozen=True):
    """A stored approval record (`ApprovalRecord.to_json`)."""

    type: Literal["mash-policy-approval/v1"]
    agreement_id: str
    agreement_sha256: str
    approver: str
    approved_at: str
    signature: str


@dataclass(frozen=True)
class VerifiedApproval:
    """An approval whose signature verified against the approver's pinned key."""

    agreement_id: str
    agreement_sha256: str
    approver: str
    approved_at: str


class ApprovalState(StrEnum):
    """Whether an agreement may take effect."""

    APPROVED = "approved"
    UNAPPROVED = "unapproved"
    ALTERED = "altered"  # approved once, but the file changed since


@dataclass(frozen=True)
class ApprovalStatus:
    """The approval state of one agreement file, with who approved it."""

    state: ApprovalState
    approvers: tuple[str, ...]  # distinct, valid approvals of the current bytes
    stale_approvers: tuple[str, ...]  # valid approvals of other bytes of this agreement
    rejected_records: int  # records that failed to parse or verify


def verify_record(record: ApprovalRecord,
                  trusted: Mapping[str, Ed25519PublicKey]) -> VerifiedApproval:
    """Verify one record's signature against the approver's pinned key."""
    key = trusted.get(record.approver)
    if key is None:
        raise UnknownApprover(f"approver {record.approver!r} is not pinned")
    try:
        key.verify(record.signature, record.signed_bytes())
    except InvalidSignature:
        raise InvalidApprovalSignature(
            f"approval by {record.approver!r} of {record.agreement_id!r} does not verify") from None
    return VerifiedApproval(record.agreement_id, record.agreement_sha256, record.approver,
                            record.approved_at)


def read_records(approvals: Path | None, agreement_id: str) -> tuple[list[ApprovalRecord], int]:
    """Every parseable record for `agreement_id`, and how many files failed to parse."""
    if approvals is None or not _NAME.match(agreement_id):
        return [], 0
    folder = approvals / agreement_id
    if not folder.is_dir():
        return [], 0
    records: list[ApprovalRecord] = []
    bad = 0
    for file in sorted(folder.glob("*.json")):
        try:
            records.append(ApprovalRecord.from_json(json.loads(file.read_text("utf-8"))))
        except (MalformedApproval, ValueError, OSError):
            bad += 1
    return records, bad


def approval_status(agreement: Agreement, approvals: Path | None,
                    trusted: Mapping[str, Ed25519PublicKey]) -> ApprovalStatus:
    """Decide whether `agreement` is approved: enough distinct, valid approvals of its exact bytes.

    Only approvers the agreement itself names count, and never fewer than two.
    """
    records, bad = read_records(approvals, agreement.id)
    current: set[str] = set()
    stale: set[str] = set()
    named = set(agreement.approvers)
    for record in records:
        if record.agreement_id != agreement.id:
            bad += 1
            continue
        try:
            verified = verify_record(record, trusted)
        except (UnknownApprover, InvalidApprovalSignature):
            bad += 1
            continue
        if verified.approver not in named:
            bad += 1
        elif verified.agreement_sha256 == agreement.sha256:
            current.add(verified.approver)
        else:
            stale.add(verified.approver)
    needed = max(MIN_APPROVERS, agreement.approvals_required)
    if len(current) >= needed:
        state = ApprovalState.APPROVED
    elif stale:
        state = ApprovalState.ALTERED
    else:
        state = ApprovalState.UNAPPROVED
    return ApprovalStatus(state, tuple(sorted(current)), tuple(sorted(stale - current)), bad)


def approve(agreement_path: Path, *, approver: str, key: Ed25519PrivateKey, at: datetime,
            approvals_dir: Path | None = None) -> ApprovalRecord:
    """Sign an approval of the agreement file's exact bytes; write it if `approvals_dir` is given.

    Refuses (AgreementInvalid) a file with lint errors: nobody approves a broken agreement.
    """
    if not _NAME.match(approver):
        raise UnknownApprover(f"approver name {approver!r} is not a valid name")
    if at.tzinfo is None:
        raise ValueError("approval time must carry a timezone")
    agreement, problems = parse_agreement(agreement_path)
    if agreement is None:
        first = next(p for p in problems if p.severity is Severity.ERROR)
        raise AgreementInvalid(first.path, first.line, first.field, first.message)
    if approver not in agreement.approvers:
        raise UnknownApprover(f"{approver!r} is not named in {agreement.id}'s approval.approvers")
    if approvals_dir is not None:
        existing = approvals_dir / agreement.id / f"{agreement.sha256[:16]}-{approver}.json"
        if existing.is_file():
            # One approver, one approval of a version: a second is neither counted nor logged.
            raise AlreadyApproved(f"{approver} has already approved this version of "
                                  f"{agreement.id} (sha256 {agreement.sha256[:16]}...)")
    unsigned = ApprovalRecord(agreement.id, agreement.sha256, approver,
                              at.isoformat().replace("+00:00", "Z"), b"")
    record = ApprovalRecord(unsigned.agreement_id, unsigned.agreement_sha256, approver,
                            unsigned.approved_at, key.sign(unsigned.signed_bytes()))
    if approvals_dir is not None:
        write_record(record, approvals_dir)
    return record


def write_record(record: ApprovalRecord, approvals: Path) -> Path:
    """Store a record as `<approvals>/<agreement_id>/<sha256[:16]>-<approver>.json`."""
    if not _NAME.match(record.agreement_id):
        raise MalformedApproval(f"agreement id {record.agreement_id!r} is not a safe name")
    folder = approvals / record.agreement_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{record.agreement_sha256[:16]}-{record.approver}.json"
    path.write_text(json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n", "utf-8")
    return path


# ---------------------------------------------------------------- approver keys

class PinnedApproverEntry(Strict, frozen=True):
    """One `[approvers."name"]` table of the approvers file."""

    public_key: str


class ApproversFile(Strict, frozen=True):
    """The approvers file (`pin_approver` writes it)."""

    approvers: dict[str, PinnedApproverEntry] = msgspec.field(default_factory=dict)


def load_trusted_approvers(path: Path) -> dict[str, Ed25519PublicKey]:
    """The pinned approver public keys; an absent file pins nobody (so nothing is approved)."""
    if not path.is_file():
        return {}
    out: dict[str, Ed25519PublicKey] = {}
    try:
        doc = load_toml(path, ApproversFile)
        for name, entry in doc.approvers.items():
            raw = base64.b64decode(entry.public_key, validate=True)
            out[name] = Ed25519PublicKey.from_public_bytes(raw)
    except (ConfigError, ValueError) as exc:
        # Fail closed and loudly: a damaged pin file must be fixed, not half-read.
        raise MalformedApproval(f"{path}: pinned approver keys cannot be read: {exc}") from None
    return out


def pin_approver(path: Path, name: str, public_key: Ed25519PublicKey) -> None:
    """Add (or replace) an approver's pinned public key in the approvers file."""
    if not _NAME.match(name):
        raise UnknownApprover(f"approver name {name!r} is not a valid name")
    pinned = {n: k for n, k in load_trusted_approvers(path).items() if n != name}
    pinned[name] = public_key
    lines = ["# Pinned public keys of the people who approve data-sharing agreements.",
             "# Generated at set-up; never committed.", ""]
    for n in sorted(pinned):
        raw = pinned[n].public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        lines += [f'[approvers."{n}"]', f'public_key = "{base64.b64encode(raw).decode()}"', ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), "utf-8")


def approver_key_path(home: Home, name: str) -> Path:
    """The private signing key of approver `name` (PEM, 0600)."""
    if not _NAME.match(name):
        raise UnknownApprover(f"approver name {name!r} is not a valid name")
    return approvers_dir(home) / f"{name}.key"


def create_approver(home: Home, name: str) -> Ed25519PrivateKey:
    """Generate a key for a new approver (0600) and pin its public key; return the private key.

    An approver who is already pinned keeps their key: replacing it is `replace_approver`.
    """
    if name in load_trusted_approvers(approvers_file(home)):
        raise ApproverAlreadyPinned(
            f"approver {name!r} already has a pinned key; replacing it needs --replace and "
            "the approval of another pinned approver (--approved-by)")
    return _new_key(home, name)


@dataclass(frozen=True)
class ApproverReplacement:
    """A pinned approver's key replaced, signed by another pinned approver."""

    approver: str
    old_key_sha256: str
    new_key_sha256: str
    approved_by: str
    approved_at: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        """The canonical bytes the witness's signature covers."""
        return _canonical({"type": REPLACEMENT_TYPE, "approver": self.approver,
                           "old_key_sha256": self.old_key_sha256,
                           "new_key_sha256": self.new_key_sha256,
                           "approved_by": self.approved_by, "approved_at": self.approved_at})


def replace_approver(home: Home, name: str, *, approved_by: str,
                     at: datetime) -> ApproverReplacement:
    """Give pinned approver `name` a new key, on the signed approval of another pinned approver.

    The other approver's key must be pinned and must verify their signature over the
    change (old and new key fingerprints); the record is kept beside the pins. Every
    approval `name` signed with the old key stops counting.
    """
    pinned = load_trusted_approvers(approvers_file(home))
    if name not in pinned:
        raise UnknownApprover(f"approver {name!r} is not pinned: add them without --replace")
    if approved_by == name or approved_by not in pinned:
        raise UnknownApprover("a key replacement needs the approval of another pinned approver, "
                              f"not {approved_by!r}")
    witness = load_approver_key(home, approved_by)
    if _fingerprint(witness.public_key()) != _fingerprint(pinned[approved_by]):
        raise InvalidApprovalSignature(f"{approved_by}'s key in this home is not their pinned key")
    old = _fingerprint(pinned[name])
    new_key = Ed25519PrivateKey.generate()
    unsigned = ApproverReplacement(name, old, _fingerprint(new_key.public_key()), approved_by,
                                   at.isoformat().replace("+00:00", "Z"), b"")
    record = ApproverReplacement(unsigned.approver, unsigned.old_key_sha256,
                                 unsigned.new_key_sha256, approved_by, unsigned.approved_at,
                                 witness.sign(unsigned.signed_bytes()))
    pinned[approved_by].verify(record.signature, record.signed_bytes())
    folder = approvers_dir(home) / "replacements"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{record.approved_at.replace(':', '')}-{name}.json").write_text(json.dumps({
        "type": REPLACEMENT_TYPE, "approver": name, "old_key_sha256": record.old_key_sha256,
        "new_key_sha256": record.new_key_sha256, "approved_by": approved_by,
        "approved_at": record.approved_at,
        "signature": base64.b64encode(record.signature).decode("ascii")},
        indent=2, sort_keys=True) + "\n", "utf-8")
    _write_key(home, name, new_key)
    return record


def _fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _new_key(home: Home, name: str) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    _write_key(home, name, key)
    return key


def _write_key(home: Home, name: str, key: Ed25519PrivateKey) -> None:
    """Store the private key (0600) and pin its public key."""
    path = approver_key_path(home, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pin_approver(approvers_file(home), name, key.public_key())


def load_approver_key(home: Home, name: str) -> Ed25519PrivateKey:
    """Read approver `name`'s private key from the home folder."""
    key = serialization.load_pem_private_key(approver_key_path(home, name).read_bytes(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise UnknownApprover(f"approver key of {name!r} is not Ed25519")
    return key


def dev_approve_all(home: Home, policy_dir: Path,
                    approvers: Iterable[str] = DEV_APPROVERS, *,
                    at: datetime | None = None) -> Path:
    """Development set-up: create approver keys if missing and approve every agreement.

    Returns the approvals folder. For the demo and tests only -- in production
    each approver runs `mash policy approve` with their own key.
    """
    when = at or utc_now()
    out = approvals_dir(home)
    trusted = load_trusted_approvers(approvers_file(home))
    for name in approvers:
        if name in trusted and approver_key_path(home, name).is_file():
            key = load_approver_key(home, name)
        else:
            key = _new_key(home, name)
        for path in agreement_paths(policy_dir):
            try:
                approve(path, approver=name, key=key, at=when, approvals_dir=out)
            except AlreadyApproved:
                continue  # set-up runs again in the same home: nothing new to approve
    return out


def _canonical(data: Mapping[str, str]) -> bytes:
    # RFC 8785. Approvals signed before it used ASCII-escaped sorted JSON: the same bytes
    # for every valid record, whose fields are ASCII (names and ids match _NAME, the
    # digest is hex, the time ISO 8601), so they still verify.
    return canonical_bytes(data)
