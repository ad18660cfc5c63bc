"""Servers the benchmark and the tests need but production must never be able to run.

`python -m bench.serve_variant broker --config FILE --no-audit-log` runs a broker without an
audit log (the benchmark's log-off arm); `python -m bench.serve_variant adapter --config FILE
--delay-ms N` runs an adapter whose every answer waits N ms (a slow legacy system, for deadline
and crash tests). Neither is a setting of a config file: an operator's `mash broker serve` and
`mash adapter serve` always log and never wait on purpose. `mash.app.cluster` starts these
when a test or the benchmark asks for them.
"""

from __future__ import annotations

import argparse
from concurrent.futures import Future
from pathlib import Path

from audit.events import AuditEvent


class NullAudit:
    """No audit log at all: ONLY for the benchmark's log-on/log-off comparison."""

    def submit(self, event: AuditEvent) -> Future[int]:
        """Resolve at once without recording anything."""
        done: Future[int] = Future()
        done.set_result(0)
        return done

    def submit_many(self, events: list[AuditEvent]) -> Future[list[int]]:
        """Resolve at once without recording anything."""
        done: Future[list[int]] = Future()
        done.set_result([0] * len(events))
        return done


def main(argv: list[str] | None = None) -> int:
    """Run one variant server until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m bench.serve_variant")
    sub = parser.add_subparsers(dest="kind", required=True)
    broker = sub.add_parser("broker")
    broker.add_argument("--config", type=Path, required=True)
    broker.add_argument("--no-audit-log", action="store_true", required=True)
    adapter = sub.add_parser("adapter")
    adapter.add_argument("--config", type=Path, required=True)
    adapter.add_argument("--delay-ms", type=int, required=True)
    args = parser.parse_args(argv)
    if args.kind == "broker":
        from broker.config import BrokerConfig
        from broker.server import run as run_broker

        run_broker(BrokerConfig.load(args.config), benchmark_audit_sink=NullAudit())
    else:
        from agency_adapters.config import AdapterConfig
        from agency_adapters.server import run as run_adapter

        run_adapter(AdapterConfig.load(args.config), simulated_delay_ms=args.delay_ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
