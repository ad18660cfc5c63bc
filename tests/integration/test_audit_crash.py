"""Nothing lost: a writer process killed with SIGKILL under load leaves a log that verifies,
holds every entry it acknowledged, and on restart marks unfinished lookups outcome_unknown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.checkpoints import create_private_key
from audit.log import AuditLog, verify_log
from audit.store import SqliteAuditStore

WRITER = textwrap.dedent("""
    import sys, threading
    from pathlib import Path
    from mash.logs import configure
    from audit.checkpoints import load_private_key
    from audit.events import AuditEvent, EventKind
    from audit.log import AuditLog

    configure(stream=sys.stderr)
    log = AuditLog.open(Path(sys.argv[1]), owner="broker",
                        checkpoint_key=load_private_key(Path(sys.argv[2])), checkpoint_every=50)
    out = threading.Lock()

    def ack(entry_id):
        with out:
            sys.stdout.write(f"{entry_id}\\n")
            sys.stdout.flush()

    def worker(w):
        i = 0
        while True:
            i += 1
            lookup = f"w{w}-{i}"
            ack(log.append(AuditEvent(kind=EventKind.LOOKUP_REQUESTED, referral_id=f"R{w}",
                                      lookup_id=lookup, subject_pseudonyms=(f"p{i % 7}",))))
            futures = [log.submit(AuditEvent(kind=EventKind.QUERY_SENT, lookup_id=lookup,
                                             query_id=f"{lookup}-{a}", agency=a))
                       for a in ("police", "health", "education", "housing")]
            for f in futures:
                ack(f.result())
            ack(log.append(AuditEvent(kind=EventKind.LOOKUP_COMPLETED, lookup_id=lookup,
                                      outcome="completed")))

    for w in range(6):
        threading.Thread(target=worker, args=(w,), daemon=True).start()
    threading.Event().wait()
""")


def test_kill_9_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "broker.sqlite"
    key_path = tmp_path / "audit-broker.key"
    key: Ed25519PrivateKey = create_private_key(key_path)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(key_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    acknowledged: list[int] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acknowledged.append(int(line))
            if len(acknowledged) >= 1500:
                break
        proc.send_signal(signal.SIGKILL)  # mid-load: batches in flight, lookups half done
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 1500

    report = verify_log(path, checkpoint_public_key=key.public_key())
    assert report.ok, report.problem
    with SqliteAuditStore.open_readonly(path) as store:
        assert all(store.entry(i) is not None for i in acknowledged)  # durable once acked

    with AuditLog.open(path, owner="broker", checkpoint_key=key) as log:
        marked = log.recover_unfinished()
    report = verify_log(path, checkpoint_public_key=key.public_key())
    assert report.ok and report.unanchored == 0, report.problem
    with SqliteAuditStore.open_readonly(path) as store:
        conn = store.conn
        started = conn.execute("SELECT count(*) FROM entries WHERE json_extract(core, '$.kind')"
                               " = 'lookup_requested'").fetchone()[0]
        closed = conn.execute(
            "SELECT count(DISTINCT json_extract(core, '$.lookup_id')) FROM entries WHERE"
            " json_extract(core, '$.kind') IN ('lookup_completed', 'outcome_unknown')"
        ).fetchone()[0]
        unknown = conn.execute("SELECT count(*) FROM entries WHERE json_extract(core, '$.kind')"
                               " = 'outcome_unknown'").fetchone()[0]
    # Every started lookup is visible and now has exactly one recorded end.
    assert started == closed
    assert unknown == len(marked)
    # Six writers each keep a lookup open at all times, so the kill left some unfinished.
    assert len(marked) >= 1
