"""Where the broker's audit log cost goes, measured on the real path.

    mash bench audit-breakdown [--seconds 20] [--concurrency 8] [--rounds 2] [--json]

Runs `mash bench lookup --audit-off`'s interleaved comparison (one broker with its
log, a twin without, the same four adapters, load alternating between them) once
per ablation of the logging broker (`bench.audit_ablation`):

* `full`     -- the log as shipped;
* `no-sql`   -- everything but SQLite: events encoded, hashed, chained and resolved;
* `hand-off` -- only the writer queue, its thread and the futures.

So `full - no-sql` is what SQLite (inserts, indexes, WAL writes, fsync) costs and
`no-sql - hand-off` the Python work per entry. Rounds alternate the order (ABC,
CBA, ...) because this machine's speed drifts within minutes. Each run also
reports how long a group of entries takes from `submit_many` to durable, and the
store append alone, as percentiles.

Prints figures; it asserts nothing. Uses the home of `mash bench lookup`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.audit_ablation import ENV_LATENCY, ENV_MODE, MODES, PROTOTYPES
from bench.lookup import _requests, audit_cost, audit_log_entries, audit_on_off
from identity.tokens import issue_token
from mash import logs
from mash.app.cluster import prepare_home
from mash.home import Home
from mash.vocab import Role

SITE = Path(__file__).resolve().parent / "ablation"


@contextmanager
def _ablated(mode: str, latency_file: Path) -> Iterator[None]:
    """Environment under which the spawned logging broker applies `mode`."""
    saved = {k: os.environ.get(k) for k in (ENV_MODE, ENV_LATENCY, "PYTHONPATH")}
    os.environ[ENV_MODE] = mode
    os.environ[ENV_LATENCY] = str(latency_file)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(SITE), saved["PYTHONPATH"]) if p)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def order(rounds: int, modes: tuple[str, ...] = MODES) -> list[str]:
    """The modes, forwards then backwards, `rounds` times (ABC CBA ABC ...)."""
    out: list[str] = []
    for r in range(rounds):
        out += list(modes if r % 2 == 0 else reversed(modes))
    return out


def run(home: Path, seconds: float, concurrency: int, rounds: int,
        people: int = 10_000, modes: tuple[str, ...] = MODES) -> list[dict[str, Any]]:
    """One interleaved on/off comparison per mode and round; a row of figures each."""
    h = Home.at(home)
    prepare_home(h, people=people, seed=7)
    token = issue_token(h, sub="bench-1", role=Role.MASH_SOCIAL_WORKER, ttl_s=3600)
    requests = _requests(h)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, mode in enumerate(order(rounds, modes)):
            latency_file = Path(tmp) / f"latency-{i}.json"
            started = time.strftime("%H:%M:%S")
            entries = audit_log_entries(h)
            with _ablated(mode, latency_file):
                on, off = audit_on_off(h, requests, seconds, concurrency, 2.0, token)
            on_cpu, off_cpu = on.cpu_ms_per_lookup or {}, off.cpu_ms_per_lookup or {}
            latency = json.loads(latency_file.read_text()) if latency_file.exists() else {}
            cost = audit_cost(on, off)
            rows.append({
                "mode": mode, "started": started, "audit_log_entries_at_start": entries,
                "on_per_s": round(on.per_s, 1), "off_per_s": round(off.per_s, 1),
                "cost_pct": cost["audit_cost_pct"],
                "broker_cpu_ms": [on_cpu.get("broker"), off_cpu.get("broker")],
                "broker_cpu_added_ms": round(on_cpu["broker"] - off_cpu["broker"], 3)
                if "broker" in on_cpu and "broker" in off_cpu else None,
                "total_cpu_added_pct": cost.get("audit_cpu_cost_pct"),
                "p50_ms": [on.p50_ms, off.p50_ms],
                "latency": latency,
            })
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Means per mode of the cost and the broker CPU the log adds."""
    out = {}
    for mode in MODES + PROTOTYPES:
        mine = [r for r in rows if r["mode"] == mode and r["cost_pct"] is not None]
        if mine:
            added = [r["broker_cpu_added_ms"] for r in mine if r["broker_cpu_added_ms"] is not None]
            out[mode] = {"runs": len(mine),
                         "cost_pct": round(sum(r["cost_pct"] for r in mine) / len(mine), 1),
                         "broker_cpu_added_ms": round(sum(added) / len(added), 3) if added else None}
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line (`mash bench audit-breakdown`)."""
    ap = argparse.ArgumentParser(prog="mash bench audit-breakdown", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=Path(".mash-bench"))
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--modes", default=",".join(MODES),
                    help=f"comma-separated, from {', '.join(MODES + PROTOTYPES)}"
                         f" (default: {','.join(MODES)})")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if not modes or set(modes) - set(MODES + PROTOTYPES):
        ap.error(f"--modes: choose from {', '.join(MODES + PROTOTYPES)}")
    if args.rounds < 1 or args.seconds <= 0 or args.concurrency < 1:
        ap.error("--rounds, --seconds and --concurrency must be positive")
    logs.configure(json=False, level="warning")
    rows = run(args.home, args.seconds, args.concurrency, args.rounds, modes=modes)
    if args.json:
        print(json.dumps({"runs": rows, "means": summary(rows)}))
        return 0
    for r in rows:
        lat = r["latency"].get("submit_to_durable", {})
        app = r["latency"].get("store_append", {})
        print(f"{r['mode']:>9} {r['started']}  on {r['on_per_s']:6.1f}/s  off {r['off_per_s']:6.1f}/s"
              f"  cost {r['cost_pct']:5.1f}%  broker CPU +{r['broker_cpu_added_ms']} ms"
              f"  group->durable p50/p90 {lat.get('p50_ms')}/{lat.get('p90_ms')} ms"
              f"  append p50/p90 {app.get('p50_ms')}/{app.get('p90_ms')} ms"
              f"  log {r['audit_log_entries_at_start']:,} entries")
    for mode, m in summary(rows).items():
        print(f"mean {mode:>9}: cost {m['cost_pct']}% over {m['runs']} run(s),"
              f" broker CPU added {m['broker_cpu_added_ms']} ms per lookup")
    return 0


if __name__ == "__main__":
    sys.exit(main())
