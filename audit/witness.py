"""Witnessed checkpoints: another party countersigns a log's signed checkpoints and keeps them.

A host that holds its own checkpoint key can rewrite its whole log and sign new
checkpoints, or cut off its newest entries together with their checkpoints; its
own checkpoints cannot show that. So each party witnesses the other's: the
broker countersigns every adapter's checkpoints (they ride on each signed
disclosure) and each adapter the broker's (on each signed query). The witness
checks the owner's signature against the key pinned in its trust store, signs
the checkpoint with its own checkpoint key, and keeps it in its witness store
(`HOME/witness/<witness>.sqlite`). `mash audit verify` then holds each log to
every checkpoint witnessed of it: a rewritten log no longer matches them, and a
log missing a witnessed checkpoint fails.

A witness keeps one checkpoint per (log, size, root): two different roots for
one size of one log -- the owner showing different histories to different
parties -- are both kept, and verification fails on the one that does not match.
"""

from __future__ import annotations

import base64
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.applog import emit
from audit.checkpoints import Checkpoint, key_id, verify_checkpoint
from audit.errors import AuditError, InvalidCheckpointSignature
from certs.reloading import TrustSource
from mash.canonical import JsonValue, canonical_bytes
from mash.clock import Clock, utc_now
from mash.migrations import Migration, SchemaError, migrate, schema_version
from mash.v1 import mash_pb2 as pb

#: The trust-store purpose of a checkpoint key (as `mash pki` pins it).
CHECKPOINT_PURPOSE = "audit-checkpoint"

#: Signature domain of a witness's countersignature.
_DOMAIN = b"mash.v1.CheckpointWitness"
#: Longest log name a witness accepts (log names are `broker-<id>` / `adapter-<agency>`).
MAX_LOG_NAME = 128

#: The witness store's schema, oldest first (see `mash.migrations`); a store made before
#: stores carried a version (user_version 0) holds the first shape and is adopted as it is.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "witnessed checkpoints, append-only", """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS witnessed (
            log TEXT NOT NULL,
            tree_size INTEGER NOT NULL,
            root_hash BLOB NOT NULL,
            timestamp TEXT NOT NULL,
            key_id TEXT NOT NULL,
            signature BLOB NOT NULL,
            witnessed_at TEXT NOT NULL,
            witness_key_id TEXT NOT NULL,
            witness_signature BLOB NOT NULL,
            PRIMARY KEY (log, tree_size, root_hash)
        );
        CREATE TRIGGER IF NOT EXISTS witnessed_no_delete BEFORE DELETE ON witnessed
        BEGIN SELECT RAISE(ABORT, 'witness store is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS witnessed_no_edit BEFORE UPDATE ON witnessed
        BEGIN SELECT RAISE(ABORT, 'witness store is append-only'); END;
    """),
)

#: The pinned checkpoint public keys of a log owner (`broker-mash-demo` -> keys).
PinnedKeys = Callable[[str], Sequence[Ed25519PublicKey]]


class WitnessError(AuditError):
    """A witnessed checkpoint or its countersignature does not verify."""


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint of log `checkpoint.log`, countersigned by `witness` at `witnessed_at`."""

    checkpoint: Checkpoint
    witness: str
    witnessed_at: str
    witness_key_id: str
    witness_signature: bytes

    def signed_bytes(self) -> bytes:
        """The exact bytes the witness signed: the checkpoint, its owner's signature, when, who."""
        return signed_bytes(self.checkpoint, self.witness, self.witnessed_at)

    def verify(self, witness_keys: Sequence[Ed25519PublicKey]) -> None:
        """Raise `WitnessError` unless one of `witness_keys` made the countersignature."""
        for pk in witness_keys:
            if key_id(pk) != self.witness_key_id:
                continue
            try:
                pk.verify(self.witness_signature, self.signed_bytes())
                return
            except InvalidSignature:
                break
        raise WitnessError(f"witness {self.witness}'s countersignature of {self.checkpoint.log} "
                           f"at size {self.checkpoint.tree_size} does not verify under its "
                           "pinned key")

    def to_json_dict(self) -> dict[str, JsonValue]:
        """A JSON-ready form."""
        return {"checkpoint": self.checkpoint.to_json_dict(), "witness": self.witness,
                "witnessed_at": self.witnessed_at, "witness_key_id": self.witness_key_id,
                "witness_signature": base64.b64encode(self.witness_signature).decode()}


def signed_bytes(cp: Checkpoint, witness: str, witnessed_at: str) -> bytes:
    """What a witness signs for checkpoint `cp`."""
    body: dict[str, JsonValue] = {"checkpoint": cp.to_json_dict(), "witness": witness,
                                  "witnessed_at": witnessed_at}
    return _DOMAIN + b"\0" + canonical_bytes(body)


class WitnessStore:
    """The append-only SQLite file in which one party keeps the checkpoints it witnessed."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def create_or_open(cls, path: Path, witness: str) -> WitnessStore:
        """Open (creating if needed) the witness store of `witness` at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        try:
            migrate(conn, MIGRATIONS, store=f"witness store {path.name}")
        except SchemaError as exc:
            conn.close()
            raise WitnessError(str(exc)) from None
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('witness', ?)", (witness,))
        return cls(conn)

    @classmethod
    def open_readonly(cls, path: Path) -> WitnessStore:
        """Open an existing witness store for reading."""
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            conn.execute("SELECT 1 FROM witnessed LIMIT 1")
            version = schema_version(conn)
        except sqlite3.Error as exc:
            raise WitnessError(f"{path.name} is not a readable witness store: {exc}") from None
        if version > len(MIGRATIONS):
            conn.close()
            raise WitnessError(f"{path.name}: schema version {version} is newer than this "
                               f"mash-hub understands ({len(MIGRATIONS)}); upgrade mash-hub to "
                               "read it")
        return cls(conn)

    def witness(self) -> str:
        """Whose store this is."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'witness'").fetchone()
        return str(row[0]) if row else ""

    def add(self, record: Witnessed) -> bool:
        """Keep `record`; False if this (log, size, root) was already kept."""
        cp = record.checkpoint
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO witnessed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cp.log, cp.tree_size, cp.root_hash, cp.timestamp, cp.key_id or "",
             cp.signature or b"", record.witnessed_at, record.witness_key_id,
             record.witness_signature))
        return cur.rowcount == 1

    def latest(self) -> dict[str, Checkpoint]:
        """The largest witnessed checkpoint of each log."""
        out: dict[str, Checkpoint] = {}
        for w in self.records():
            if w.checkpoint.tree_size >= out.get(w.checkpoint.log, w.checkpoint).tree_size:
                out[w.checkpoint.log] = w.checkpoint
        return out

    def records(self) -> Iterator[Witnessed]:
        """Every kept record, by log and size."""
        witness = self.witness()
        rows = self._conn.execute("SELECT log, tree_size, root_hash, timestamp, key_id, signature,"
                                  " witnessed_at, witness_key_id, witness_signature FROM witnessed"
                                  " ORDER BY log, tree_size")
        for log, size, root, ts, kid, sig, at, wkid, wsig in rows:
            yield Witnessed(Checkpoint(str(log), int(size), bytes(root), str(ts), str(kid),
                                       bytes(sig)), witness, str(at), str(wkid), bytes(wsig))

    def close(self) -> None:
        """Close the file."""
        self._conn.close()


class Witness:
    """One party's witness: checks, countersigns and keeps other parties' checkpoints.

    `observe` is cheap for a checkpoint already seen (an in-memory comparison), so it
    may be called for every query or disclosure; a new checkpoint costs one signature
    check, one signature and one small durable write.
    """

    def __init__(self, store: WitnessStore, *, owner: str, key: Ed25519PrivateKey,
                 pinned_keys: PinnedKeys, clock: Clock = utc_now) -> None:
        self._store = store
        self.owner = owner
        self._key = key
        self._key_id = key_id(key.public_key())
        self._pinned = pinned_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._seen = {log: (cp.tree_size, cp.root_hash) for log, cp in store.latest().items()}

    @classmethod
    def open(cls, path: Path, *, owner: str, key: Ed25519PrivateKey, pinned_keys: PinnedKeys,
             clock: Clock = utc_now) -> Witness:
        """The witness of `owner`, keeping its store at `path`."""
        return cls(WitnessStore.create_or_open(path, owner), owner=owner, key=key,
                   pinned_keys=pinned_keys, clock=clock)

    def observe(self, cp: Checkpoint | None, *, expected_log: str) -> bool:
        """Witness `cp` if it is a new, validly signed checkpoint of `expected_log`.

        Returns True when it was countersigned and kept. A checkpoint of another
        log, an unsigned one or one its owner's pinned key does not verify is not
        kept (and is reported in the application log); nothing is raised, because
        witnessing must never fail the lookup that carried it.
        """
        if cp is None or cp.tree_size <= 0:
            return False
        if cp.log != expected_log:
            emit("audit", "warning", "witness_refused", witness=self.owner,
                 expected=expected_log, reason="wrong_log")
            return False
        with self._lock:
            seen = self._seen.get(cp.log)
            if seen is not None and (cp.tree_size < seen[0] or seen == (cp.tree_size,
                                                                       cp.root_hash)):
                return False
        keys = {key_id(k): k for k in self._pinned(cp.log)}
        key = keys.get(cp.key_id or "")
        try:
            if key is None:
                raise InvalidCheckpointSignature("no pinned key")
            verify_checkpoint(cp, key)
        except InvalidCheckpointSignature:
            emit("audit", "warning", "witness_refused", witness=self.owner, log=cp.log,
                 tree_size=cp.tree_size, reason="bad_signature")
            return False
        at = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        record = Witnessed(cp, self.owner, at, self._key_id,
                           self._key.sign(signed_bytes(cp, self.owner, at)))
        with self._lock:
            seen = self._seen.get(cp.log)
            if seen is not None and seen[0] == cp.tree_size and seen[1] != cp.root_hash:
                # The owner signed two histories of one size: keep both; verify will fail one.
                emit("audit", "error", "witness_equivocation", witness=self.owner, log=cp.log,
                     tree_size=cp.tree_size)
            try:
                kept = self._store.add(record)
            except sqlite3.Error as exc:
                emit("audit", "error", "witness_write_failed", witness=self.owner,
                     error=type(exc).__name__)
                return False
            if seen is None or cp.tree_size >= seen[0]:
                self._seen[cp.log] = (cp.tree_size, cp.root_hash)
        return kept

    def close(self) -> None:
        """Close the store."""
        with self._lock:
            self._store.close()


def read_witnessed(paths: Sequence[Path], witness_keys: PinnedKeys
                   ) -> tuple[dict[str, list[Checkpoint]], list[str]]:
    """Every witnessed checkpoint in the stores at `paths`, by log; and what failed.

    Each record's countersignature is checked against its witness's pinned key; a
    store that cannot be read or a record that does not verify is a problem (a
    witness store is evidence: tampering with it must not go unseen).
    """
    by_log: dict[str, list[Checkpoint]] = {}
    problems: list[str] = []
    for path in paths:
        try:
            store = WitnessStore.open_readonly(path)
        except WitnessError as exc:
            problems.append(str(exc))
            continue
        try:
            witness = store.witness()
            keys = witness_keys(witness)
            for record in store.records():
                try:
                    record.verify(keys)
                except WitnessError as exc:
                    problems.append(f"{path.name}: {exc}")
                    continue
                by_log.setdefault(record.checkpoint.log, []).append(record.checkpoint)
        except sqlite3.Error as exc:
            problems.append(f"{path.name}: cannot be read: {exc}")
        finally:
            store.close()
    return by_log, problems


def pinned_from(trust: TrustSource, clock: Clock = utc_now) -> PinnedKeys:
    """The pinned checkpoint keys of a log owner, from a trust store (followed as it changes)."""
    def keys(log: str) -> list[Ed25519PublicKey]:
        now = clock()
        return [Ed25519PublicKey.from_public_bytes(k.public_key)
                for k in trust.keys_for(f"audit-{log}", CHECKPOINT_PURPOSE) if k.valid_at(now)]
    return keys


def checkpoint_to_proto(cp: Checkpoint) -> pb.LogCheckpoint:
    """A checkpoint as carried on a signed query or disclosure."""
    return pb.LogCheckpoint(log=cp.log, tree_size=cp.tree_size, root_hash=cp.root_hash,
                            timestamp=cp.timestamp, key_id=cp.key_id or "",
                            signature=cp.signature or b"")


def checkpoint_from_proto(msg: pb.LogCheckpoint) -> Checkpoint | None:
    """The checkpoint a peer sent, or None when there is none or it is out of bounds.

    Bounded before anything else looks at it: a peer controls these bytes.
    """
    if not msg.tree_size or len(msg.root_hash) != 32 or len(msg.signature) != 64:
        return None
    if len(msg.log) > MAX_LOG_NAME or len(msg.timestamp) > 40 or len(msg.key_id) > 64:
        return None
    return Checkpoint(msg.log, msg.tree_size, msg.root_hash, msg.timestamp, msg.key_id,
                      msg.signature)
