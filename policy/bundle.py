"""Signed policy bundles: how agreements and their approvals reach every party.

The IG lead of a MASH exports the agreements in force between that MASH and the agencies,
their signed approvals and the approvers' public keys as one JSON file signed by a pinned
approver (`mash policy bundle export`). The bundle names the MASH that published it
(`mash-policy-bundle/v2`, `mash_id`). Each agency's adapter host installs it (`mash policy
bundle install`) into that MASH's own slot (`policy.mash_slots`): the bundle's signature must
verify against an approver pinned for that MASH on that host -- pinned on the MASH's first
install (`--pin-approvers`, from keys the IG lead hands over out of band and the operator
checks by fingerprint) -- every approval in it must verify too, and every agreement in it
must be that MASH's own. Only then is the MASH's slot replaced, whole; every other MASH's
slot stays as it was, and running broker and adapters pick the change up without a restart
(`policy.reloading`).

A bundle written before bundles named their MASH (`mash-policy-bundle/v1`) is still read:
it installs into the home's own agreements and approvals folders, verified against the
home's pinned approvers, as it always did.
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
from typing import Final, Literal, TypeAlias

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mash.canonical import JsonValue, canonical_bytes
from mash.clock import utc_now
from mash.config import ConfigError, Strict, decode
from mash.home import Home
from policy.agreement import Agreement
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
from policy.loader import agreement_paths, load_agreements
from policy.mash_slots import InstalledFile, SlotError, check_mash_id, read_slot, read_slots, replace_slot
from policy.schema import parse_agreement

#: A bundle of the home's own agreements, naming no MASH (still read and installed).
BUNDLE_TYPE: Final = "mash-policy-bundle/v1"
#: A bundle published by one MASH (`mash_id`), installed into that MASH's slot.
MASH_BUNDLE_TYPE: Final = "mash-policy-bundle/v2"
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
    #: the MASH whose slot it replaced; "" for a bundle naming no MASH (the home's own)
    mash_id: str = ""
    #: agreements installed into the home's own folder that a MASH's own slot overrides
    superseded: tuple[str, ...] = ()


def fingerprint(key: Ed25519PublicKey) -> str:
    """A public key's SHA-256 fingerprint, as operators compare it read aloud."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return ":".join(digest[i:i + 4] for i in range(0, 32, 4))


def _canonical(body: Mapping[str, JsonValue]) -> bytes:
    return canonical_bytes(body)  # RFC 8785, as everything signed


def sign_bundle(body: Mapping[str, JsonValue], key: Ed25519PrivateKey) -> dict[str, JsonValue]:
    """`body` (a bundle without its signature) with `key`'s signature over it."""
    return {**body, "signature": base64.b64encode(key.sign(_canonical(body))).decode()}


def export_bundle(home: Home, policy_dir: Path, *, signer: str, key: Ed25519PrivateKey,
                  at: datetime, mash_id: str | None = None) -> MashBundleFile:
    """The signed bundle MASH `mash_id` publishes: `policy_dir`'s agreements, the home's
    approvals of them and its approvers (`bundle_json` is the document to write).

    `mash_id` defaults to the one MASH the agreements name; an agreement with another MASH
    is refused (each MASH publishes its own).
    """
    trusted = load_trusted_approvers(approvers_file(home))
    if signer not in trusted:
        raise BundleError(f"{signer!r} is not a pinned approver of this home")
    if trusted[signer].public_bytes_raw() != key.public_key().public_bytes_raw():
        raise BundleError(f"the key given is not {signer!r}'s pinned key")
    parsed: list[tuple[Path, Agreement]] = []
    for path in agreement_paths(policy_dir):
        agreement, _problems = parse_agreement(path)
        if agreement is None:
            raise BundleError(f"{path.name} has errors: fix it before publishing")
        parsed.append((path, agreement))
    mash = mash_id if mash_id is not None else _the_one_mash(parsed)
    try:
        check_mash_id(mash)
    except SlotError as exc:
        raise BundleError(str(exc)) from None
    agreements: dict[str, str] = {}
    approvals: list[ApprovalJson] = []
    for path, agreement in parsed:
        if agreement.mash_id != mash:
            raise BundleError(f"{path.name} ({agreement.id}) is an agreement with "
                              f"{agreement.mash_id}, not {mash}: a bundle carries one MASH's "
                              "agreements (export from a folder of that MASH's alone, "
                              "--policy-dir)")
        agreements[path.name] = path.read_text(encoding="utf-8")
        records, _bad = read_records(approvals_dir(home), agreement.id)
        approvals += [dict[str, object](r.to_json()) for r in records
                      if r.agreement_sha256 == agreement.sha256 and r.approver in trusted]
    unsigned = MashBundleFile(
        type=MASH_BUNDLE_TYPE, mash_id=mash, created_at=at.isoformat(), signer=signer,
        agreements=agreements, approvals=tuple(approvals),
        approvers={name: base64.b64encode(k.public_bytes_raw()).decode()
                   for name, k in sorted(trusted.items())},
        signature="")
    signature = key.sign(_canonical(_signed_part(unsigned)))
    return msgspec.structs.replace(unsigned, signature=base64.b64encode(signature).decode())


def _the_one_mash(parsed: list[tuple[Path, Agreement]]) -> str:
    named = sorted({a.mash_id for _, a in parsed})
    if len(named) != 1:
        raise BundleError("say which MASH publishes this bundle (--mash): the agreements name "
                          + (", ".join(named) if named else "no MASH (there are none)"))
    return named[0]


#: An approval record as a bundle carries it: plain JSON, checked (`ApprovalRecord.from_json`)
#: and verified on install, so a bad one is refused with what is wrong with it.
ApprovalJson: TypeAlias = dict[str, object]


class BundleFile(Strict, frozen=True):
    """A policy bundle naming no MASH (`mash-policy-bundle/v1`), checked before it is verified."""

    type: Literal["mash-policy-bundle/v1"]
    created_at: str
    signer: str
    #: file name -> the agreement file's text
    agreements: dict[str, str]
    approvals: tuple[ApprovalJson, ...]
    #: approver name -> raw Ed25519 public key, base64
    approvers: dict[str, str]
    signature: str


class MashBundleFile(Strict, frozen=True):
    """A policy bundle published by one MASH (`mash-policy-bundle/v2`), as `export_bundle`
    writes it; the signature covers every other field, `mash_id` included."""

    type: Literal["mash-policy-bundle/v2"]
    #: the MASH (its broker id) that published the bundle, and whose agreements it holds
    mash_id: str
    created_at: str
    signer: str
    agreements: dict[str, str]
    approvals: tuple[ApprovalJson, ...]
    approvers: dict[str, str]
    signature: str


#: A bundle of either version, decoded and shape-checked but not yet verified.
Bundle: TypeAlias = BundleFile | MashBundleFile


def bundle_json(bundle: Bundle) -> dict[str, JsonValue]:
    """The bundle as the JSON document it is written as (field order as declared)."""
    doc: dict[str, JsonValue] = msgspec.to_builtins(bundle)
    return doc


def _signed_part(bundle: Bundle) -> dict[str, JsonValue]:
    """What the signature covers: every field but the signature.

    The structs refuse unknown fields and have no defaults, so this is the document exactly
    as read (the approvals are kept as the JSON they were read from).
    """
    return {k: v for k, v in bundle_json(bundle).items() if k != "signature"}


def read_bundle(path: Path) -> Bundle:
    """A bundle file, size- and shape-checked (not yet verified)."""
    return _read(path)[0]


def _read(path: Path) -> tuple[Bundle, str]:
    """The bundle and the sha256 of the very bytes it was read from."""
    try:
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise BundleError(f"{path} is larger than {MAX_BUNDLE_BYTES} bytes")
        raw = path.read_bytes()
        doc: object = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise BundleError(f"{path} is not a policy bundle (not JSON)") from None
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind not in (BUNDLE_TYPE, MASH_BUNDLE_TYPE):
        raise BundleError(f"{path} is not a policy bundle ({MASH_BUNDLE_TYPE} or "
                          f"{BUNDLE_TYPE})")
    try:
        bundle: Bundle = (decode(BundleFile, doc, path) if kind == BUNDLE_TYPE
                          else decode(MashBundleFile, doc, path))
    except ConfigError as exc:
        raise BundleError(str(exc)) from None
    return bundle, hashlib.sha256(raw).hexdigest()


def bundle_approvers(doc: Bundle) -> dict[str, Ed25519PublicKey]:
    """The approver keys a bundle carries (to pin on a first install, after checking them)."""
    out = {}
    for name, value in doc.approvers.items():
        try:
            out[name] = Ed25519PublicKey.from_public_bytes(
                base64.b64decode(value, validate=True))
        except ValueError:
            raise BundleError(f"the bundle's key for approver {name!r} is not an Ed25519 key"
                              ) from None
    return out


def install_bundle(home: Home, path: Path, *, pin_approvers: bool = False,
                   at: datetime | None = None) -> InstalledBundle:
    """Verify the bundle at `path` and install it, whole or not at all.

    A bundle naming its MASH replaces that MASH's slot and nothing else; one naming none
    replaces the home's own agreements and approvals. `pin_approvers` pins the bundle's
    approver keys where none are pinned yet (that MASH's first install); keys once pinned
    are never taken from a bundle.
    """
    doc, sha256 = _read(path)
    if isinstance(doc, BundleFile):
        return _install_home(home, doc, sha256, pin_approvers)
    return _install_for_mash(home, doc, sha256, pin_approvers, at or utc_now())


def _verified_approvals(doc: Bundle, pinned: Mapping[str, Ed25519PublicKey],
                        whose: str) -> list[ApprovalRecord]:
    """Check the bundle's signature by a pinned approver, then every approval in it."""
    signer = doc.signer
    if signer not in pinned:
        raise BundleError(f"the bundle is signed by {signer!r}, who is not a pinned approver"
                          f"{whose}")
    try:
        pinned[signer].verify(base64.b64decode(doc.signature, validate=True),
                              _canonical(_signed_part(doc)))
    except (InvalidSignature, ValueError):
        raise BundleError(f"the bundle's signature by {signer!r} does not verify: it was "
                          "altered or not signed by that approver") from None
    records = []
    for raw in doc.approvals:
        try:
            record = ApprovalRecord.from_json(raw)
            verify_record(record, pinned)
        except PolicyError as exc:
            raise BundleError(f"an approval in the bundle does not verify: {exc}") from None
        records.append(record)
    return records


def _write_agreements(doc: Bundle, folder: Path) -> list[Agreement]:
    """Write the bundle's agreement files into `folder`, each checked as it is written."""
    folder.mkdir()
    out = []
    for name, text in doc.agreements.items():
        if Path(name).name != name or not name.endswith(".toml"):
            raise BundleError(f"the bundle's agreement file name {name!r} is not allowed")
        (folder / name).write_text(text, encoding="utf-8")
        agreement, problems = parse_agreement(folder / name)
        if agreement is None:
            first = problems[0] if problems else None
            raise BundleError(f"{name} in the bundle has errors"
                              + (f": line {first.line}, {first.field}: {first.message}"
                                 if first else ""))
        out.append(agreement)
    try:
        load_agreements(folder)  # one id per file, as every party will load them
    except PolicyError as exc:
        raise BundleError(f"the bundle's agreements do not load: {exc}") from None
    return out


def _install_for_mash(home: Home, doc: MashBundleFile, sha256: str, pin: bool,
                      at: datetime) -> InstalledBundle:
    try:
        mash = check_mash_id(doc.mash_id)
        slot = read_slot(home, mash)
    except SlotError as exc:
        raise BundleError(str(exc)) from None
    pinned = load_trusted_approvers(slot.approvers_file) if slot else {}
    if pin:
        if pinned:
            raise BundleError(f"this host already pins approvers for {mash}: a bundle cannot "
                              "replace them")
        pinned = bundle_approvers(doc)
    first = "" if pinned or pin else (
        f" (this host pins no approvers for {mash} yet: install {mash}'s first bundle with "
        f"--pin-approvers, after checking the approvers' key fingerprints with {mash}'s IG lead)")
    records = _verified_approvals(doc, pinned, f" of {mash} on this host{first}")
    names: list[str] = []

    def fill(folder: Path) -> InstalledFile:
        for agreement in _write_agreements(doc, folder / "agreements"):
            if agreement.mash_id != mash:
                raise BundleError(
                    f"agreement {agreement.id} ({agreement.path.name}) in {mash}'s bundle names "
                    f"the party mash_id = {agreement.mash_id!r}: it would govern queries from "
                    f"broker {agreement.mash_id}, and {mash}'s approvers may approve only "
                    f"{mash}'s agreements")
            names.append(agreement.id)
        (folder / "approvals").mkdir()
        for record in records:
            write_record(record, folder / "approvals")
        for name, key in sorted(pinned.items()):
            pin_approver(folder / "approvers.toml", name, key)
        return InstalledFile(type="mash-policy-slot/v1", mash_id=mash, signer=doc.signer,
                             created_at=doc.created_at, bundle_sha256=sha256,
                             installed_at=at.isoformat())

    replace_slot(home, mash, fill)
    return InstalledBundle(doc.signer, doc.created_at, tuple(sorted(names)), len(records),
                           sha256, mash_id=mash)


def _install_home(home: Home, doc: BundleFile, sha256: str,
                  pin: bool) -> InstalledBundle:
    """A bundle naming no MASH: the home's own agreements and approvals, swapped whole."""
    pinned = load_trusted_approvers(approvers_file(home))
    if pin:
        if pinned:
            raise BundleError("this home already pins approvers: a bundle cannot replace them "
                              "(use mash policy add-approver with another approver's approval)")
        pinned = bundle_approvers(doc)
    elif not pinned:
        raise BundleError("this home pins no approvers: pin them first (--pin-approvers on the "
                          "first install, after checking their fingerprints)")
    records = _verified_approvals(doc, pinned, "")
    try:
        own_slots = {s.mash_id for s in read_slots(home)}
    except SlotError as exc:
        raise BundleError(str(exc)) from None
    with tempfile.TemporaryDirectory(dir=_policy_parent(home)) as staging:
        staged = Path(staging)
        agreements = _write_agreements(doc, staged / "agreements")
        new_approvals = staged / "approvals"
        new_approvals.mkdir()
        for record in records:
            write_record(record, new_approvals)
        _swap(staged / "agreements", agreements_dir(home))
        _swap(new_approvals, approvals_dir(home))
    if pin:  # after the files: until then nothing verifies, so nothing is applied early
        for name, key in pinned.items():
            pin_approver(approvers_file(home), name, key)
    return InstalledBundle(doc.signer, doc.created_at,
                           tuple(sorted(a.id for a in agreements)), len(records), sha256,
                           superseded=tuple(sorted(a.id for a in agreements
                                                   if a.mash_id in own_slots)))


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
