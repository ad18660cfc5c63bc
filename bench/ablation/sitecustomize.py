"""Applies a `bench.audit_ablation` mode in a broker spawned by `bench.audit_breakdown`.

Only on that benchmark's PYTHONPATH, and only in a `mash broker serve` process.
"""

import os
import sys

if os.environ.get("MASH_BENCH_AUDIT_ABLATION") and sys.argv[1:3] == ["broker", "serve"]:
    from pathlib import Path

    from bench import audit_ablation

    audit_ablation.apply(os.environ["MASH_BENCH_AUDIT_ABLATION"])
    if os.environ.get("MASH_BENCH_AUDIT_LATENCY"):
        audit_ablation.record_latency(Path(os.environ["MASH_BENCH_AUDIT_LATENCY"]))
