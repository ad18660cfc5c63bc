"""The lookup benchmark runs end to end and prints the fields scripts read."""

from pathlib import Path

from bench.lookup import run_benchmark


def test_bench_lookup_reports_its_contract_fields_and_the_interleaved_audit_arms(
        tmp_path: Path) -> None:
    result = run_benchmark(home=tmp_path / "h", seconds=1.5, concurrency=2, people=300,
                           audit_off=True, warmup_s=0.5)
    for key in ("lookups_per_s", "p50_ms", "p99_ms", "baseline_per_s"):  # the contract's fields
        value = result[key]
        assert isinstance(value, float) and value > 0, key
    assert result["errors"] == 0
    detail = result["detail"]
    assert isinstance(detail, dict)
    on, off = detail["audit_on"], detail["audit_off"]
    assert on["lookups"] > 0 and off["lookups"] > 0 and on["errors"] == off["errors"] == 0
    # both arms ran against the same four adapters, each through its own broker process
    assert set(on["cpu_ms_per_lookup"]) == set(off["cpu_ms_per_lookup"])
    assert {"broker", "adapter-police", "client", "total"} <= set(on["cpu_ms_per_lookup"])
    # the log size the on/off comparison started from: the real-system run's entries
    assert result["audit_log_entries_at_start"] >= detail["system"]["lookups"] > 0
    # only the audit-on broker wrote a log
    assert (tmp_path / "h" / "audit" / "broker-mash-demo.sqlite").exists()
    assert not list((tmp_path / "h" / "bench-twin" / "audit").glob("*.sqlite"))
    # the stores' real sizes: each agency knows its share of the 300-person population
    sizes = result["agency_store_people"]
    assert isinstance(sizes, dict) and set(sizes) == {"police", "health", "education", "housing"}
    assert all(0 < n <= 300 for n in sizes.values()) and sizes["health"] > sizes["police"]
