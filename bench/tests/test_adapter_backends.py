"""`mash bench adapter --backend sql|fhir|extract` runs and prints its figures (behaviour, not timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import require_bindir

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("backend", ["extract", "fhir", "sql"])
def test_the_backend_benchmark_measures_against_the_sqlite_store(backend: str) -> None:
    if backend == "sql":
        require_bindir()  # skipped (failed in CI) only where PostgreSQL is not installed
    done = subprocess.run(
        [sys.executable, "-m", "mash.app", "bench", "adapter", "--backend", backend,
         "--people", "300", "--queries", "30", "--json"],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == backend and result["queries"] == 30
    baseline, measured = result["sqlite"], result[backend]
    assert measured["store_people"] == baseline["store_people"] > 0
    # the same people through another backend: the same answer to every query
    assert measured["same_answer_as_sqlite"] == "30/30"
    for figures in (baseline, measured):
        assert figures["latency_p99_ms"] >= figures["latency_p50_ms"] > 0
        assert figures["process_cpu_ms_per_query"] > 0
        assert figures["added_cpu_p99_ms"] >= figures["added_cpu_p50_ms"] > 0
        assert figures["matching_cpu_p99_ms"] >= figures["matching_cpu_p50_ms"] > 0
        assert figures["candidates_p99"] >= figures["candidates_p50"] >= 1
    assert ("db_server_cpu_ms_per_query" in measured) == (backend == "sql")
    assert ("fhir_server_cpu_ms_per_query" in measured) == (backend == "fhir")


def test_a_second_run_in_the_same_work_folder_reuses_the_store(tmp_path: Path) -> None:
    def run(people: int) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "mash.app", "bench", "adapter", "--backend", "extract",
             "--people", str(people), "--queries", "10", "--work", str(tmp_path), "--json"],
            capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    first = run(200)
    assert isinstance(first["build_s"]["sqlite_store_s"], float)
    again = run(200)
    assert again["build_s"]["sqlite_store_s"] == "reused"
    assert again["sqlite"]["store_people"] == first["sqlite"]["store_people"]
    other = run(250)  # another size is built afresh
    assert isinstance(other["build_s"]["sqlite_store_s"], float)
