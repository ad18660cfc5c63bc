"""Lookup benchmark: broker + four adapters as separate processes over mTLS, with signing,
policy at both ends, matching and the audit log on -- against a baseline of plain gRPC
fan-out to four no-op servers measured in the same run.

    mash bench lookup --seconds 10 [--json] [--concurrency 8] [--people 10000] [--audit-off]

`--audit-off` also measures what the broker's audit log costs: two brokers with the same
identity serve the same four adapters, one with its log on and one with it off, and the
load alternates between them in short slices (on, off, off, on, ...). Both arms then see
the same machine: on a shared machine, load from other jobs drifts by more than the
effect being measured between two runs made one after the other.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc

from agency_adapters.sqlite_store import SqliteAgencyStore
from audit.store import SqliteAuditStore
from broker.config import AdapterEndpoint, BrokerConfig
from certs.names import PeerKind, Principal
from certs.tls import channel_credentials, client_channel_options
from identity.tokens import issue_token
from mash import aio
from mash.app.cluster import (
    DEFAULT_BROKER_ID,
    Cluster,
    ClusterError,
    await_port,
    prepare_home,
    spawn_service,
)
from mash.app.demo import red_request
from mash.demo_data import demo_referrals
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc
from mash.vocab import PARTNER_AGENCIES, Role

_BROKER = Principal(PeerKind.BROKER, "mash-demo")


@dataclass(frozen=True)
class Run:
    """Figures of one load run."""

    lookups: int
    errors: int
    seconds: float
    per_s: float
    p50_ms: float
    p99_ms: float
    #: CPU seconds per lookup of each process (servers and this client), in ms; the machine
    #: is shared, so CPU per lookup is the steadier figure when throughput is noisy.
    cpu_ms_per_lookup: dict[str, float] | None = None


def _cpu_s(pid: int) -> float | None:
    """User+system CPU seconds of process `pid` so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_snapshot(pids: dict[str, int]) -> dict[str, float | None]:
    return {name: _cpu_s(pid) for name, pid in pids.items()}


def _cpu_per_lookup(before: dict[str, float | None], after: dict[str, float | None],
                    lookups: int) -> dict[str, float] | None:
    if not lookups or any(v is None for v in (*before.values(), *after.values())):
        return None
    out = {n: round(1000 * (after[n] - before[n]) / lookups, 3)  # type: ignore[operator]
           for n in before}
    out["total"] = round(sum(out.values()), 3)
    return out


def _percentile(sorted_ms: Sequence[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    i = min(len(sorted_ms) - 1, max(0, round(q * (len(sorted_ms) - 1))))
    return sorted_ms[i]


async def _closed_loop(stub: pb_grpc.BrokerStub, requests: Sequence[pb.LookupRequest],
                       counter: Iterator[int], token: str, concurrency: int, stop_at: float,
                       done: Callable[[float, float | None], None]) -> None:
    """`concurrency` clients, each sending its next lookup as soon as its last one returns,
    until `stop_at`; `done(sent_at, ms)` hears of each lookup (`ms` None: it failed)."""
    metadata = (("authorization", f"Bearer {token}"),)

    async def client() -> None:
        while time.perf_counter() < stop_at:
            req = requests[next(counter) % len(requests)]
            t0 = time.perf_counter()
            try:
                await stub.Lookup(req, metadata=metadata, timeout=10)
            except grpc.aio.AioRpcError:
                done(t0, None)
                continue
            done(t0, (time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(client() for _ in range(concurrency)))


async def _drive(home: Home, address: str, token: str, requests: Sequence[pb.LookupRequest],
                 seconds: float, concurrency: int, warmup_s: float,
                 pids: dict[str, int] | None = None) -> Run:
    creds = channel_credentials(home, "client-staff")
    latencies: list[float] = []
    errors = 0
    async with grpc.aio.secure_channel(address, creds,
                                      options=client_channel_options(_BROKER, address)) as channel:
        start = time.perf_counter()
        measure_from = start + warmup_s
        stop_at = measure_from + seconds

        def done(sent_at: float, ms: float | None) -> None:
            nonlocal errors
            if sent_at < measure_from:
                return
            if ms is None:
                errors += 1
            else:
                latencies.append(ms)

        watched = {**(pids or {}), "client": os.getpid()}
        cpu: list[dict[str, float | None]] = []

        async def sample_cpu() -> None:
            # CPU over the measured window only (after warm-up, until the stop time).
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            cpu.append(_cpu_snapshot(watched))
            await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
            cpu.append(_cpu_snapshot(watched))

        await asyncio.gather(sample_cpu(), _closed_loop(
            pb_grpc.BrokerStub(channel), requests, itertools.count(), token, concurrency,
            stop_at, done))
    latencies.sort()
    return Run(len(latencies), errors, seconds, len(latencies) / seconds,
               round(_percentile(latencies, 0.5), 2), round(_percentile(latencies, 0.99), 2),
               _cpu_per_lookup(cpu[0], cpu[1], len(latencies)))


def _requests(home: Home) -> list[pb.LookupRequest]:
    referrals = demo_referrals(home)
    return [red_request(f"REF-BENCH-{i:04d}", referrals[i % len(referrals)]["subjects"])
            for i in range(64)]


def _spawn_noop(home: Home, name: str, role: str,
                adapters: Sequence[str] = ()) -> tuple[subprocess.Popen[bytes], str]:
    port_file = home.run_dir / f"noop-{name}.port"
    port_file.unlink(missing_ok=True)
    args = [sys.executable, "-m", "bench.noop_servers", "--role", role, "--name", name,
            "--home", str(home.root)]
    for a in adapters:
        args += ["--adapter", a]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"no-op {role} {name} did not start")
        time.sleep(0.05)
    return proc, f"127.0.0.1:{port_file.read_text().strip()}"


def baseline(home: Home, requests: Sequence[pb.LookupRequest], seconds: float,
             concurrency: int, warmup_s: float, token: str) -> Run:
    """Plain gRPC fan-out: a no-op broker and four no-op adapters, same mTLS and messages."""
    procs = []
    try:
        addresses = []
        for i in range(4):
            proc, addr = _spawn_noop(home, f"adapter-{i}", "adapter")
            procs.append(proc)
            addresses.append(addr)
        proc, broker = _spawn_noop(home, "broker", "broker", addresses)
        procs.append(proc)
        pids = {f"adapter-{i}": p.pid for i, p in enumerate(procs[:4])} | {"broker": proc.pid}
        return aio.run(_drive(home, broker, token, requests, seconds, concurrency, warmup_s,
                              pids))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(10)


def real(home: Home, requests: Sequence[pb.LookupRequest], seconds: float, concurrency: int,
         warmup_s: float, token: str, *, audit: bool = True) -> Run:
    """The real system: broker + four adapters, signing, policy, matching, audit log."""
    # the four partner agencies, as the issue's target and the 4-server baseline
    with Cluster(home, agencies=PARTNER_AGENCIES,
                 broker_audit_log=audit) as cluster:
        pids = {name: s.process.pid for name, s in cluster.services.items()}
        return aio.run(_drive(home, cluster.broker.address, token, requests, seconds,
                              concurrency, warmup_s, pids))


@dataclass
class _Arm:
    """What one arm of the interleaved audit on/off run has accumulated over its slices."""

    pids: dict[str, int]
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)

    def run(self) -> Run:
        lat = sorted(self.latencies)
        n = len(lat)
        cpu = None
        if n and self.cpu_s:
            cpu = {k: round(1000 * v / n, 3) for k, v in self.cpu_s.items()}
            cpu["total"] = round(sum(cpu.values()), 3)
        return Run(n, self.errors, round(self.seconds, 2), n / self.seconds if self.seconds else 0.0,
                   round(_percentile(lat, 0.5), 2), round(_percentile(lat, 0.99), 2), cpu)


async def _drive_interleaved(home: Home, token: str, requests: Sequence[pb.LookupRequest],
                             arms: dict[str, tuple[str, _Arm]], seconds: float, concurrency: int,
                             warmup_s: float, slice_s: float) -> None:
    """Alternate the load between the arms' brokers in ABBA order, `seconds` per arm in all."""
    creds = channel_credentials(home, "client-staff")
    counter = itertools.count()
    names = list(arms)
    channels = {n: grpc.aio.secure_channel(arms[n][0], creds,
                                          options=client_channel_options(_BROKER, arms[n][0]))
                for n in names}
    try:
        stubs = {n: pb_grpc.BrokerStub(c) for n, c in channels.items()}

        async def slice_of(name: str, length: float, measure: bool) -> None:
            arm = arms[name][1]

            def done(_sent_at: float, ms: float | None) -> None:
                if not measure:
                    return
                if ms is None:
                    arm.errors += 1
                else:
                    arm.latencies.append(ms)

            before, t0 = _cpu_snapshot(arm.pids), time.perf_counter()
            await _closed_loop(stubs[name], requests, counter, token, concurrency,
                               t0 + length, done)
            after = _cpu_snapshot(arm.pids)
            if measure:
                arm.seconds += time.perf_counter() - t0
                for k in arm.pids:
                    b, a = before[k], after[k]
                    if a is not None and b is not None:
                        arm.cpu_s[k] = arm.cpu_s.get(k, 0.0) + a - b

        for name in names:
            await slice_of(name, warmup_s / len(names), measure=False)
        slices = max(2, round(seconds / slice_s))
        for i in range(slices * len(names)):
            block, pos = divmod(i, len(names))
            order = names if block % 2 == 0 else names[::-1]  # ABBA: a trend hits both alike
            await slice_of(order[pos], seconds / slices, measure=True)
    finally:
        for c in channels.values():
            await c.close()


def _twin_broker(home: Home, cluster: Cluster, *, audit_log: bool = True,
                 ) -> tuple[subprocess.Popen[bytes], str]:
    """A second broker with the cluster broker's identity and adapters, in its own state folder.

    It shares the home's keys, certificates, policy and identity provider (symlinks)
    but has its own run, log and audit folders, so the two never share a file.
    """
    twin = Home.at(home.root / "bench-twin")
    twin.root.mkdir(exist_ok=True)
    for entry in home.root.iterdir():
        link = twin.root / entry.name
        if entry.name in {"audit", "run", "logs", "broker", "config", "bench-twin"} or link.exists():
            continue
        link.symlink_to(entry)
    twin.ensure()
    endpoints = [AdapterEndpoint(a, cluster.adapter(a).address) for a in cluster.agencies]
    cfg = BrokerConfig(broker_id=cluster.broker_id, home=twin, adapters=tuple(endpoints),
                       dev_mode=True)
    path = twin.config_dir / f"{cfg.name}.toml"
    cfg.write(path)
    service = spawn_service(twin, cfg.name, ["broker", "serve", "--config", str(path)], path,
                            variant=None if audit_log else ["--no-audit-log"])
    try:
        await_port(twin, service, 60)
    except ClusterError:
        service.process.kill()
        raise
    return service.process, service.address


def audit_on_off(home: Home, requests: Sequence[pb.LookupRequest], seconds: float,
                 concurrency: int, warmup_s: float, token: str,
                 slice_s: float = 1.0) -> tuple[Run, Run]:
    """The broker with its audit log on and off, interleaved over the same adapters."""
    with Cluster(home, agencies=PARTNER_AGENCIES) as cluster:
        proc, twin_address = _twin_broker(home, cluster, audit_log=False)
        try:
            adapters = {n: s.process.pid for n, s in cluster.services.items()
                        if n.startswith("adapter-")}
            me = {"client": os.getpid()}
            on = _Arm({**adapters, "broker": cluster.broker.process.pid, **me})
            off = _Arm({**adapters, "broker": proc.pid, **me})
            aio.run(_drive_interleaved(
                home, token, requests, {"on": (cluster.broker.address, on),
                                        "off": (twin_address, off)},
                seconds, concurrency, warmup_s, slice_s))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    return on.run(), off.run()


def audit_cost(on: Run, off: Run) -> dict[str, float | None]:
    """What the log costs, from the interleaved arms: throughput lost and CPU added (%)."""
    cost: dict[str, float | None] = {
        "audit_cost_pct": round(100 * (1 - on.per_s / off.per_s), 1) if off.per_s else None}
    on_cpu, off_cpu = on.cpu_ms_per_lookup or {}, off.cpu_ms_per_lookup or {}
    if on_cpu.get("broker") and off_cpu.get("broker"):
        # The broker's CPU per lookup with the log on vs off: steadier than throughput.
        cost["audit_broker_cpu_cost_pct"] = round(100 * (on_cpu["broker"] / off_cpu["broker"] - 1), 1)
    if on_cpu.get("total") and off_cpu.get("total"):
        # What the log adds to the CPU of a whole lookup (all processes): on a CPU-bound
        # machine, throughput falls by this share.
        cost["audit_cpu_cost_pct"] = round(100 * (1 - off_cpu["total"] / on_cpu["total"]), 1)
    return cost


def audit_log_entries(home: Home) -> int:
    """Entries already in the logging broker's audit log (0 if it has none yet).

    The cost of an append grows with the log (its random-key indexes get deeper), and
    the bench home keeps its log between runs: compare runs at similar sizes.
    """
    path = home.audit_log(f"broker-{DEFAULT_BROKER_ID}")
    if not path.exists():
        return 0
    store = SqliteAuditStore.open_readonly(path)
    try:
        return store.max_id()
    finally:
        store.close()


def _store_sizes(home: Home) -> dict[str, int]:
    """People in each partner agency's store, as the adapters will read them."""
    sizes = {}
    for agency in PARTNER_AGENCIES:
        with SqliteAgencyStore(home.agency_store(agency)) as store:
            sizes[str(agency)] = store.count_people()
    return sizes


def run_benchmark(*, home: Path, seconds: float, concurrency: int, people: int,
                  audit_off: bool, warmup_s: float = 2.0) -> dict[str, object]:
    """Prepare the home, run baseline and real system, return the figures."""
    h = Home.at(home)
    t0 = time.perf_counter()
    prepare_home(h, people=people, seed=7)
    setup_s = time.perf_counter() - t0
    token = issue_token(h, sub="bench-1", role=Role.MASH_SOCIAL_WORKER, ttl_s=3600)
    requests = _requests(h)
    base = baseline(h, requests, seconds, concurrency, warmup_s, token)
    system = real(h, requests, seconds, concurrency, warmup_s, token)
    result: dict[str, object] = {
        "lookups_per_s": round(system.per_s, 1),
        "p50_ms": system.p50_ms,
        "p99_ms": system.p99_ms,
        "errors": system.errors,
        "baseline_per_s": round(base.per_s, 1),
        "baseline_p50_ms": base.p50_ms,
        "baseline_p99_ms": base.p99_ms,
        "ratio_to_baseline": round(system.per_s / base.per_s, 3) if base.per_s else None,
        "seconds": seconds,
        "concurrency": concurrency,
        # `people` is the synthetic population; each agency's store holds the share of it
        # that agency knows (health nearly everyone, police far fewer): the actual sizes.
        "people_per_agency": people,
        "agency_store_people": _store_sizes(h),
        "cores": os.cpu_count(),
        "setup_s": round(setup_s, 1),
        # CPU ms per lookup summed over every process (servers + client), same windows.
        "cpu_ms_per_lookup": (system.cpu_ms_per_lookup or {}).get("total"),
        "baseline_cpu_ms_per_lookup": (base.cpu_ms_per_lookup or {}).get("total"),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    if audit_off:
        result["audit_log_entries_at_start"] = audit_log_entries(h)
        on, off = audit_on_off(h, requests, seconds, concurrency, warmup_s, token)
        result["audit_on_per_s"] = round(on.per_s, 1)
        result["audit_off_per_s"] = round(off.per_s, 1)
        result["audit_off_p99_ms"] = off.p99_ms
        result.update(audit_cost(on, off))
        result["detail"] = {"audit_on": asdict(on), "audit_off": asdict(off)}
    detail = result.get("detail")
    result["detail"] = {**(detail if isinstance(detail, dict) else {}),
                        "system": asdict(system), "baseline": asdict(base)}
    return result
