"""Verify one audit log file: chain, content hashes, Merkle checkpoints, signatures, index.

Detects, and names the first bad entry for:

* an edited entry (its content no longer matches its chain hash);
* a deleted, inserted or reordered entry (ids not contiguous, or the chain broken);
* a rewritten run of entries with recomputed hashes (the Merkle root no longer
  matches a signed checkpoint);
* truncation (a checkpoint covers more entries than the file holds);
* a forged or re-signed checkpoint (signature check against the published key);
* a personal part removed without a redaction record, or a tampered person index;
* a forged redaction record: one that names a later entry, or one no signed
  checkpoint covers (anyone who can write the file could append it);
* with `witnessed` checkpoints (countersigned and kept by another party, see
  `audit.witness`): a log rewritten and re-signed by its own key holder, or cut
  short together with its checkpoints, and any witnessed checkpoint the log no
  longer holds.

Truncation that also removes every later checkpoint is only visible against a
checkpoint held elsewhere: a witnessed one, or one passed as `trusted_checkpoint`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.chain import GENESIS, LEAF_PREFIX, NO_PERSONAL
from audit.checkpoints import (
    Checkpoint,
    PublicKeyLike,
    key_id,
    public_key_of,
    verify_checkpoint,
)
from audit.errors import AuditFormatError, InvalidCheckpointSignature
from audit.merkle import Frontier
from audit.store import SqliteAuditStore

_REDACTION_MARK = '"kind":"entry_redacted"'
_PSEUDONYM_MARK = '"subject_pseudonyms"'


@dataclass(frozen=True)
class VerifyReport:
    """The result of verifying one log. `ok` is False at the first problem found."""

    ok: bool
    entries: int
    first_bad_entry: int | None = None
    problem: str = ""
    owner: str = ""
    checkpoints: int = 0
    signatures_checked: bool = False
    unanchored: int = 0
    key_given: bool = False
    witnessed: int = 0

    def line(self, name: str) -> str:
        """One human-readable line for `name` (the CLI prints these)."""
        if not self.ok:
            where = f"entry {self.first_bad_entry}: " if self.first_bad_entry else ""
            return f"FAIL {name}: {where}{self.problem}"
        if self.signatures_checked:
            sig = " (signatures checked)"
        elif self.key_given or not self.checkpoints:
            sig = ""
        else:
            sig = " (signatures NOT checked: no published key)"
        tail = ""
        if self.unanchored:
            tail = (f"; {self.unanchored} newest not yet under a checkpoint (the service adds "
                    "one within its interval and when it stops)")
        held = f", {self.witnessed} witnessed" if self.witnessed else ""
        return (f"OK   {name}: {self.entries} entries, {self.checkpoints} checkpoints{held}"
                f"{sig}{tail}")


def _fail(entries: int, first: int | None, problem: str, owner: str = "") -> VerifyReport:
    return VerifyReport(ok=False, entries=entries, first_bad_entry=first, problem=problem,
                        owner=owner)


KeysLike = PublicKeyLike | Sequence[PublicKeyLike]


def verify_log(path: Path, *, checkpoint_public_key: KeysLike | None = None,
               trusted_checkpoint: Checkpoint | Sequence[Checkpoint] | None = None,
               witnessed: Sequence[Checkpoint] = ()) -> VerifyReport:
    """Verify the log at `path`; see the module docstring for what is detected.

    Without `checkpoint_public_key`, checkpoints are checked against the
    recomputed roots but not for their signature, so a rewrite that also
    rewrote the checkpoints is NOT detected; the report says so. Several keys
    (after a rotation) may be given; each checkpoint names the key id it used.
    `trusted_checkpoint`: checkpoint(s) of this log kept outside it (published).
    `witnessed`: checkpoints of this log another party countersigned; each must also
    still be among the log's own checkpoints.
    """
    try:
        store = SqliteAuditStore.open_readonly(Path(path))
    except AuditFormatError as exc:
        return _fail(0, None, str(exc))
    try:
        # One read transaction: a live log is verified as of one consistent snapshot.
        store.conn.execute("BEGIN")
        return _verify(store, checkpoint_public_key, trusted_checkpoint, tuple(witnessed))
    finally:
        store.close()


def _keys(given: KeysLike | None) -> dict[str, PublicKeyLike] | None:
    if given is None:
        return None
    many: list[PublicKeyLike]
    if isinstance(given, bytes | bytearray | Ed25519PublicKey):
        many = [bytes(given) if isinstance(given, bytearray) else given]
    else:
        many = list(given)
    return {key_id(pk): pk for pk in (public_key_of(k) for k in many)}


def _verify(store: SqliteAuditStore, public_key: KeysLike | None,
            trusted: Checkpoint | Sequence[Checkpoint] | None,
            witnessed: tuple[Checkpoint, ...]) -> VerifyReport:
    owner = store.owner()
    try:
        keys = _keys(public_key)
    except Exception as exc:
        return _fail(0, None, f"unusable checkpoint key: {exc}", owner)
    own = [sc.checkpoint for sc in store.checkpoints()]
    extra = [trusted] if isinstance(trusted, Checkpoint) else list(trusted or ())
    checkpoints = sorted([*own, *extra, *witnessed], key=lambda c: c.tree_size)
    for cp in checkpoints:
        if cp.log != owner:
            return _fail(0, None, f"checkpoint names log {cp.log!r}, not {owner!r}", owner)
        if keys is not None:
            key = keys.get(cp.key_id or "")
            if key is None:
                return _fail(0, None, f"checkpoint at size {cp.tree_size} is not signed by a "
                             "published checkpoint key", owner)
            try:
                verify_checkpoint(cp, key)
            except InvalidCheckpointSignature as exc:
                return _fail(0, None, str(exc), owner)
    pending = iter(checkpoints)
    next_cp = next(pending, None)
    index_rows = _grouped(store.pseudonym_rows())
    index_next = next(index_rows, None)
    # The hot loop over every entry: raw rows and inlined hashing (same bytes as
    # chain.entry_leaf / chain.chain_hash / merkle.Frontier; tests check both paths agree).
    sha256 = hashlib.sha256
    nodes: list[bytes] = []
    prev = GENESIS
    last_good_anchor = 0
    redacted: list[int] = []
    redaction_refs: set[int] = set()
    redaction_records: list[int] = []
    expected = 1
    rows = store.conn.execute("SELECT id, core, personal, personal_hash, prev_hash, entry_hash"
                              " FROM entries ORDER BY id")
    for entry_id, core, personal, stored_ph, prev_hash, entry_hash in rows:
        if entry_id != expected:
            return _fail(expected - 1, expected,
                         f"missing (deleted); next entry present is {entry_id}", owner)
        ph: bytes | None
        if personal is not None:
            ph = sha256(personal.encode("utf-8")).digest()
            if ph != stored_ph:
                return _fail(expected - 1, entry_id, "personal part edited (hash mismatch)",
                             owner)
            stored_pseudonyms = tuple(sorted(set(
                json.loads(personal).get("subject_pseudonyms", ())))) \
                if _PSEUDONYM_MARK in personal else ()
        else:
            ph = stored_ph
            stored_pseudonyms = ()
            if ph is not None:
                redacted.append(entry_id)
        # The person index must list exactly the pseudonyms in the entry, or search/SAR lies.
        indexed: tuple[str, ...] = ()
        if index_next is not None and index_next[0] < entry_id:
            return _fail(expected - 1, index_next[0], "person index names a missing entry", owner)
        if index_next is not None and index_next[0] == entry_id:
            indexed = index_next[1]
            index_next = next(index_rows, None)
        if indexed != stored_pseudonyms:
            return _fail(expected - 1, entry_id, "person index does not match the entry", owner)
        leaf = sha256(LEAF_PREFIX + entry_id.to_bytes(8, "big")
                      + sha256(core.encode("utf-8")).digest() + (ph or NO_PERSONAL)).digest()
        if prev_hash != prev:
            return _fail(expected - 1, entry_id,
                         "chain broken (an entry before it was deleted, inserted or reordered)",
                         owner)
        if sha256(prev + leaf).digest() != entry_hash:
            return _fail(expected - 1, entry_id, "content does not match its hash (edited)",
                         owner)
        if _REDACTION_MARK in core:
            refs = [int(i) for i in json.loads(core).get("refers_to", ())]
            if any(i >= entry_id for i in refs):
                return _fail(expected - 1, entry_id,
                             "redaction record names a later entry (forged)", owner)
            redaction_refs.update(refs)
            redaction_records.append(entry_id)
        prev = entry_hash
        nodes.append(leaf)
        size = n = expected  # entries so far (ids are contiguous from 1)
        while not n & 1:
            right = nodes.pop()
            nodes[-1] = sha256(b"\x01" + nodes[-1] + right).digest()
            n >>= 1
        while next_cp is not None and next_cp.tree_size == size:
            if next_cp.root_hash != Frontier(size, nodes).root():
                return _fail(size, last_good_anchor + 1,
                             f"entries {last_good_anchor + 1}..{size} do not match the "
                             f"checkpoint at size {size} (rewritten)", owner)
            last_good_anchor = size
            next_cp = next(pending, None)
        expected += 1
    count = expected - 1
    if next_cp is not None:
        return _fail(count, count + 1,
                     f"log truncated: a checkpoint covers {next_cp.tree_size} entries, "
                     f"only {count} present", owner)
    if index_next is not None:
        return _fail(count, index_next[0], "person index names a missing entry", owner)
    unrecorded = [i for i in redacted if i not in redaction_refs]
    if unrecorded:
        return _fail(count, unrecorded[0],
                     "personal part removed without a redaction record", owner)
    unsigned = [i for i in redaction_records if i > last_good_anchor]
    if keys is not None and unsigned:
        # A redaction is followed at once by a signed checkpoint (AuditLog.redact): one
        # that no signed checkpoint covers was appended by someone without the key.
        return _fail(count, unsigned[0], "redaction record not covered by a signed "
                     "checkpoint (forged)", owner)
    own_roots = {(c.tree_size, c.root_hash) for c in own}
    gone = [c for c in witnessed if (c.tree_size, c.root_hash) not in own_roots]
    if gone:
        return _fail(count, None, f"the checkpoint at size {gone[0].tree_size} witnessed by "
                     "another party is missing from the log", owner)
    return VerifyReport(ok=True, entries=count, owner=owner, checkpoints=len(own) + len(extra),
                        signatures_checked=keys is not None and bool(checkpoints),
                        unanchored=count - last_good_anchor, key_given=keys is not None,
                        witnessed=len({(c.tree_size, c.root_hash) for c in witnessed}))


def _grouped(rows: Iterator[tuple[int, str]]) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(entry id, sorted pseudonyms) from (entry id, pseudonym) rows sorted by entry id."""
    current: int | None = None
    acc: list[str] = []
    for entry_id, pseudonym in rows:
        if entry_id != current:
            if current is not None:
                yield current, tuple(acc)
            current, acc = entry_id, []
        acc.append(pseudonym)
    if current is not None:
        yield current, tuple(acc)
