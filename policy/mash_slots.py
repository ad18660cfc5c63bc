"""Each MASH's own policy on a host that serves several MASHs: agreements, approvals, approvers.

A police force's adapter serves every MASH in its area, and each MASH's IG lead publishes a
signed policy bundle of their own (`policy.bundle`). Each is installed into that MASH's own
slot, so installing one MASH's bundle never touches another's agreements or approvals, and
each MASH's approvers are pinned for that MASH alone: an approval counts only for the
agreements in its own MASH's slot, and a slot holds only agreements that govern its own
MASH's queries.

    HOME/policy/mashes/<mash id>/current               the version in force (one line)
    HOME/policy/mashes/<mash id>/<version>/agreements/ the MASH's agreement files
                                          /approvals/  their signed approvals
                                          /approvers.toml   the MASH's pinned approvers
                                          /installed.json   the bundle it came from

An install writes a new version folder whole, then replaces `current` atomically (the
commit point: a reader sees the old version or the new one), then removes the versions
before the previous one. A MASH that has a slot is governed by its slot alone: agreements
naming it in the home's own agreements folder are superseded.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mash.config import ConfigError, Strict, decode
from mash.files import write_text
from mash.home import Home
from policy.approval import policy_home
from policy.errors import PolicyError

#: A MASH id as a broker id is written (`broker_id` in the broker's config).
_MASH_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_VERSION = re.compile(r"^v-[0-9a-f]{12}$")
INSTALLED_TYPE = "mash-policy-slot/v1"


class SlotError(PolicyError):
    """A MASH's slot cannot be read or written; the message says why."""


class InstalledFile(Strict, frozen=True):
    """`installed.json`: which signed bundle a MASH's slot holds."""

    type: Literal["mash-policy-slot/v1"]
    mash_id: str
    signer: str
    created_at: str
    bundle_sha256: str
    installed_at: str


@dataclass(frozen=True)
class MashSlot:
    """The version of one MASH's policy in force on this host."""

    mash_id: str
    folder: Path
    installed: InstalledFile

    @property
    def agreements(self) -> Path:
        """The MASH's agreement files."""
        return self.folder / "agreements"

    @property
    def approvals(self) -> Path:
        """Their signed approval records (one folder per agreement id)."""
        return self.folder / "approvals"

    @property
    def approvers_file(self) -> Path:
        """The MASH's pinned approvers (the format of the home's `approvers.toml`)."""
        return self.folder / "approvers.toml"


def mashes_dir(home: Home) -> Path:
    """Where a home keeps each MASH's own policy slot."""
    return policy_home(home) / "mashes"


def check_mash_id(mash_id: str) -> str:
    """`mash_id` if it is a safe MASH id (it names a folder), else `SlotError`."""
    if not _MASH_ID.match(mash_id):
        raise SlotError(f"{mash_id!r} is not a MASH id (lower-case letters, digits and '-')")
    return mash_id


def read_slot(home: Home, mash_id: str) -> MashSlot | None:
    """MASH `mash_id`'s slot in force, or None when the host holds none for it.

    A slot whose pointer or record is damaged raises `SlotError`: that MASH's policy must
    be fixed (reinstalled), never half-read.
    """
    root = mashes_dir(home) / check_mash_id(mash_id)
    pointer = root / "current"
    if not pointer.is_file():
        return None
    try:
        version = pointer.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SlotError(f"{pointer}: cannot be read: {exc.strerror}") from None
    if not _VERSION.match(version) or not (root / version).is_dir():
        raise SlotError(f"{pointer} names no installed version ({version[:40]!r})")
    record = root / version / "installed.json"
    try:
        installed = decode(InstalledFile, json.loads(record.read_text(encoding="utf-8")),
                           record)
    except (OSError, ValueError) as exc:
        raise SlotError(f"{record}: cannot be read: {exc}") from None
    except ConfigError as exc:
        raise SlotError(str(exc)) from None
    if installed.mash_id != mash_id:
        raise SlotError(f"{record} is MASH {installed.mash_id!r}'s, in {mash_id!r}'s slot")
    return MashSlot(mash_id, root / version, installed)


def read_slots(home: Home) -> list[MashSlot]:
    """Every MASH slot installed in the home, by MASH id."""
    root = mashes_dir(home)
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _MASH_ID.match(p.name)):
        slot = read_slot(home, folder.name)
        if slot is not None:
            out.append(slot)
    return out


def replace_slot(home: Home, mash_id: str, fill: Callable[[Path], InstalledFile]) -> MashSlot:
    """Install a new version of MASH `mash_id`'s slot, whole or not at all.

    `fill` writes the version's files into the folder it is given and returns its record;
    if it raises, nothing in force changes. The version before is kept (a reader that has
    just read the old pointer still finds it whole); older ones are removed.
    """
    root = mashes_dir(home) / check_mash_id(mash_id)
    root.mkdir(parents=True, exist_ok=True)
    before = read_slot(home, mash_id)
    version = f"v-{secrets.token_hex(6)}"
    staging = root / f".staging-{version}"
    try:
        staging.mkdir()
        installed = fill(staging)
        write_text(staging / "installed.json", json.dumps({
            "type": INSTALLED_TYPE, "mash_id": installed.mash_id, "signer": installed.signer,
            "created_at": installed.created_at, "bundle_sha256": installed.bundle_sha256,
            "installed_at": installed.installed_at}, indent=2) + "\n")
        staging.rename(root / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_text(root / "current", version + "\n")  # the commit point
    keep = {version, before.folder.name if before else ""}
    for old in root.iterdir():
        if old.is_dir() and old.name not in keep and (
                _VERSION.match(old.name) or old.name.startswith(".staging-")):
            shutil.rmtree(old, ignore_errors=True)
    return MashSlot(mash_id, root / version, installed)
