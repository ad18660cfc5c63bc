"""Production code reads the time only through `mash.clock`, so tests can inject a clock."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mash", "certs", "identity", "audit", "policy", "agency_adapters", "broker",
            "console")
#: Direct reads of the system clock (monotonic and perf counters measure durations; they are fine).
SYSTEM_CLOCK = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.time\(|"
                          r"\btime\.time\b|datetime\.today\(")
#: A second clock type: a Callable returning a datetime, spelled out instead of `Clock`.
CLOCK_TYPE = re.compile(r"Callable\[\[\], *datetime\]")


def _sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
            if "v1" not in p.relative_to(ROOT).parts]


def test_only_mash_clock_reads_the_system_clock() -> None:
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in _sources() if p != ROOT / "mash/clock.py"
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if SYSTEM_CLOCK.search(line)]
    assert offenders == []


def test_one_clock_type() -> None:
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in _sources() if p != ROOT / "mash/clock.py"
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if CLOCK_TYPE.search(line) or re.match(r"\s*Clock\s*=", line)]
    assert offenders == []
