"""Signed policy bundles: how agreements and their approvals reach every party.

The IG lead exports the agreements in force, their signed approvals and the approvers'
public keys as one JSON file signed by a pinned approver (`mash policy bundle export`).
Each agency's adapter host installs it (`mash policy bundle install`): the bundle's
signature must verify against an approver pinned on that host -- pinned when the adapter
was installed (`--pin-approvers` on the very first install, from keys the IG lead hands
over out of band and the operator checks by fingerprint) -- and every approval in it must
verify too. Only then are the agreements and approvals swapped in, whole; running broker and
adapters pick them up without a restart (`policy.reloading`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mash.canonical import canonical_bytes
from mash.config import ConfigError, Strict, decode
from mash.home import Home
from policy.approval import (
    ApprovalRecord,
    agreements_dir,
    approvals_dir,
    approvers_file,
    load_trusted_approvers,
    pin_approver,
    read_records,
    verify_record,
    write_record,
)
from policy.errors import PolicyError
from policy.loader import agreement_paths
from policy.schema import parse_agreement

BUNDLE_TYPE = "mash-policy-bundle/v1"
#: A bundle larger than this is refused before it is parsed.
MAX_BUNDLE_BYTES = 8 * 1024 * 1024


class BundleError(PolicyError):
    """A bundle cannot be exported or installed; the message says why."""


@dataclass(frozen=True)
class InstalledBundle:
    """What an install put in place."""

    signer: str
    created_at: str
    agreements: tuple[str, ...]
    approvals: int
    sha256: str


def fingerprint(key: Ed25519PublicKey) -> str:
    """A public key's SHA-256 fingerprint, as operators compare it read aloud."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return ":".join(digest[i:i + 4] for i in range(0, 32, 4))


def _canonical(body: Mapping[str, Any]) -> bytes:
    return canonical_bytes(body)  # RFC 8785, as everything signed


def export_bundle(home: Home, policy_dir: Path, *, signer: str, key: Ed25519PrivateKey,
                  at: datetime) -> dict[str, Any]:
    """The signed bundle of `policy_dir`'s agreements and the home's approvals and approvers."""
    trusted = load_trusted_approvers(approvers_file(home))
    if signer not in trusted:
        raise BundleError(f"{signer!r} is not a pinned approver of this home")
    if trusted[signer].public_bytes_raw() != key.public_key().public_bytes_raw():
        raise BundleError(f"the key given is not {signer!r}'s pinned key")
    agreements: dict[str, str] = {}
    approvals: list[dict[str, str]] = []
    for path in agreement_paths(policy_dir):
        agreement, _problems = parse_agreement(path)
        if agreement is None:
            raise BundleError(f"{path.name} has errors: fix it before publishing")
        agreements[path.name] = path.read_text(encoding="utf-8")
        records, _bad = read_records(approvals_dir(home), agreement.id)
        approvals += [r.to_json() for r in records
                      if r.agreement_sha256 == agreement.sha256 and r.approver in trusted]
    body = {"type": BUNDLE_TYPE, "created_at": at.isoformat(), "signer": signer,
            "agreements": agreements, "approvals": approvals,
            "approvers": {name: base64.b64encode(k.public_bytes_raw()).decode()
                          for name, k in sorted(trusted.items())}}
    return {**body, "signature": base64.b64encode(key.sign(_canonical(body))).decode()}


def read_bundle(path: Path) -> dict[str, Any]:
    """A bundle file's JSON, size- and shape-checked (not yet verified)."""
    try:
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise BundleError(f"{path} is larger than {MAX_BUNDLE_BYTES} bytes")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise BundleError(f"{path} is not a policy bundle (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("type") != BUNDLE_TYPE:
        raise BundleError(f"{path} is not a policy bundle ({BUNDLE_TYPE})")
    try:
        decode(BundleFile, doc, path)
    except ConfigError as exc:
        raise BundleError(str(exc)) from None
    # the signature covers the document as read, so the caller gets it exactly as read
    return doc


class BundleFile(Strict, frozen=True):
    """A policy bundle file as `export_bundle` writes it (checked before it is verified)."""

    type: Literal["mash-policy-bundle/v1"]
    created_at: str
    signer: str
    #: file name -> the agreement file's text
    agreements: dict[str, str]
    approvals: tuple[dict[str, Any], ...]
    #: approver name -> raw Ed25519 public key, base64
    approvers: dict[str, str]
    signature: str


def bundle_approvers(doc: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The approver keys a bundle carries (to pin on a first install, after checking them)."""
    out = {}
    for name, value in doc["approvers"].items():
        try:
            out[str(name)] = Ed25519PublicKey.from_public_bytes(
                base64.b64decode(str(value), validate=True))
        except ValueError:
            raise BundleError(f"the bundle's key for approver {name!r} is not an Ed25519 key"
                              ) from None
    return out


def install_bundle(home: Home, path: Path, *, pin_approvers: bool = False) -> InstalledBundle:
    """Verify the bundle at `path` and put its agreements and approvals in the home, whole.

    `pin_approvers` pins the bundle's approver keys on a host that pins none yet (a first
    install); a host that pins approvers never takes keys from a bundle.
    """
    doc = read_bundle(path)
    pinned = load_trusted_approvers(approvers_file(home))
    if pin_approvers:
        if pinned:
            raise BundleError("this home already pins approvers: a bundle cannot replace them "
                              "(use mash policy add-approver with another approver's approval)")
        for name, key in bundle_approvers(doc).items():
            pin_approver(approvers_file(home), name, key)
        pinned = load_trusted_approvers(approvers_file(home))
    if not pinned:
        raise BundleError("this home pins no approvers: pin them first (--pin-approvers on the "
                          "first install, after checking their fingerprints)")
    signer = doc["signer"]
    if signer not in pinned:
        raise BundleError(f"the bundle is signed by {signer!r}, who is not a pinned approver")
    body = {k: v for k, v in doc.items() if k != "signature"}
    try:
        pinned[signer].verify(base64.b64decode(doc["signature"], validate=True), _canonical(body))
    except (InvalidSignature, ValueError):
        raise BundleError(f"the bundle's signature by {signer!r} does not verify: it was "
                          "altered or not signed by that approver") from None
    records = []
    for raw in doc["approvals"]:
        try:
            record = ApprovalRecord.from_json(raw)
            verify_record(record, pinned)
        except PolicyError as exc:
            raise BundleError(f"an approval in the bundle does not verify: {exc}") from None
        records.append(record)
    with tempfile.TemporaryDirectory(dir=_policy_parent(home)) as staging:
        staged = Path(staging)
        new_agreements = staged / "agreements"
        new_agreements.mkdir()
        names = []
        for name, text in doc["agreements"].items():
            if not isinstance(text, str) or Path(name).name != name or not name.endswith(".toml"):
                raise BundleError(f"the bundle's agreement file name {name!r} is not allowed")
            (new_agreements / name).write_text(text, encoding="utf-8")
            agreement, problems = parse_agreement(new_agreements / name)
            if agreement is None:
                first = problems[0] if problems else None
                raise BundleError(f"{name} in the bundle has errors"
                                  + (f": line {first.line}, {first.field}: {first.message}"
                                     if first else ""))
            names.append(agreement.id)
        new_approvals = staged / "approvals"
        new_approvals.mkdir()
        for record in records:
            write_record(record, new_approvals)
        _swap(new_agreements, agreements_dir(home))
        _swap(new_approvals, approvals_dir(home))
    return InstalledBundle(signer, doc["created_at"], tuple(sorted(names)), len(records),
                           hashlib.sha256(path.read_bytes()).hexdigest())


def _policy_parent(home: Home) -> Path:
    parent = agreements_dir(home).parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def _swap(new: Path, target: Path) -> None:
    """Put folder `new` at `target`, the old one moved aside first and removed after."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
