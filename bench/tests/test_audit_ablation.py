"""The audit ablations `mash bench audit-breakdown` measures with, on a real log file.

Each mode is applied in a fresh interpreter (it replaces parts of the writer for
that process), through the same `sitecustomize` the benchmark puts on a spawned
broker's PYTHONPATH.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.audit_ablation import MODES, apply
from bench.audit_breakdown import SITE, order
from bench.lookup import audit_log_entries
from mash.home import Home
from tests.unit.audit_helpers import write_log

ROOT = Path(__file__).resolve().parents[2]

# Writes one group of three entries, then reports the ids the caller got back and the
# rows in the file (read by a separate connection after the log is closed).
_SCRIPT = """
import json, sqlite3, sys
from pathlib import Path
from audit.events import AuditEvent, EventKind
from audit.log import AuditLog
path = Path(sys.argv[-1])
with AuditLog.open(path, owner="broker") as log:
    ids = log.submit_many([AuditEvent(kind=EventKind.QUERY_SENT, referral_id=f"R{i}")
                           for i in range(3)]).result(10)
rows = sqlite3.connect(path).execute("SELECT count(*) FROM entries").fetchone()[0]
print(json.dumps({"ids": ids, "rows": rows}))
"""


def _run(tmp_path: Path, mode: str | None, latency: Path | None = None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"MASH_BENCH_AUDIT_ABLATION", "MASH_BENCH_AUDIT_LATENCY"}}
    env["PYTHONPATH"] = os.pathsep.join([str(SITE), str(ROOT)])
    if mode is not None:
        env["MASH_BENCH_AUDIT_ABLATION"] = mode
    if latency is not None:
        env["MASH_BENCH_AUDIT_LATENCY"] = str(latency)
    # argv[1:3] == ["broker", "serve"]: what the sitecustomize waits for, as in a spawned broker
    out = subprocess.run([sys.executable, "-c", _SCRIPT, "broker", "serve", str(tmp_path / "b.sqlite")],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    report: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return report


def test_full_writes_every_entry(tmp_path: Path) -> None:
    assert _run(tmp_path, "full") == {"ids": [1, 2, 3], "rows": 3}


def test_no_sql_resolves_the_chained_ids_but_writes_nothing(tmp_path: Path) -> None:
    assert _run(tmp_path, "no-sql") == {"ids": [1, 2, 3], "rows": 0}


def test_hand_off_resolves_without_encoding_or_writing(tmp_path: Path) -> None:
    got = _run(tmp_path, "hand-off")
    assert got["rows"] == 0 and got["ids"] == [1, 2, 3]


def test_nothing_is_replaced_without_the_variable(tmp_path: Path) -> None:
    assert _run(tmp_path, None) == {"ids": [1, 2, 3], "rows": 3}


def test_latency_is_written_at_exit(tmp_path: Path) -> None:
    latency = tmp_path / "latency.json"
    _run(tmp_path, "full", latency)
    got = json.loads(latency.read_text())
    assert got["submit_to_durable"]["n"] == 1 and got["submit_to_durable"]["p50_ms"] > 0
    assert got["store_append"]["n"] >= 1


def test_segment_prototype_makes_each_append_durable_in_its_segment_file(tmp_path: Path) -> None:
    got = _run(tmp_path, "segment")
    assert got["ids"] == [1, 2, 3]
    lines = (tmp_path / "b.sqlite.segment").read_text().splitlines()
    assert [row[0] for line in lines for row in json.loads(line)] == [1, 2, 3]


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown audit ablation"):
        apply("no-fsync")


def test_rounds_alternate_the_order() -> None:
    assert order(2) == [*MODES, *reversed(MODES)]
    assert order(1) == list(MODES)
    assert order(3, ("full", "segment")) == ["full", "segment", "segment", "full", "full", "segment"]


def test_the_benchmarks_report_the_log_size_they_started_from(tmp_path: Path) -> None:
    home = Home.at(tmp_path / "home")
    assert audit_log_entries(home) == 0  # no log yet
    write_log(home.audit_log("broker-mash-demo"), 7)
    assert audit_log_entries(home) == 7
