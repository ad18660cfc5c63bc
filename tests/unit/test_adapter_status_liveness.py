"""`mash adapter status` never reports a stopped adapter as serving.

The status file is the last state a running adapter wrote. Read after the adapter stopped
(`kill`, `systemctl stop`) or died, it would still say "serving", and a service manager or
monitor pointed at `mash adapter status` would see a healthy adapter that is not there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from agency_adapters.adapter_health import AdapterHealth, not_running, read_status


def _written(tmp_path: Path) -> tuple[AdapterHealth, Path]:
    status_file = tmp_path / "run" / "adapter-police.health.json"
    health = AdapterHealth("adapter-police", status_file)
    health.policy_changed()  # a running adapter writes its state
    return health, status_file


def test_a_running_adapters_file_names_its_process_and_reads_as_running(tmp_path: Path) -> None:
    _, status_file = _written(tmp_path)
    status = read_status(status_file)
    assert status is not None and status["serving"] is True
    assert status["pid"] == os.getpid() and status["host"] == socket.gethostname()
    assert not_running(status) == ""


def test_an_adapter_that_stopped_says_so(tmp_path: Path) -> None:
    health, status_file = _written(tmp_path)
    health.stopped()
    status = read_status(status_file)
    assert status is not None and status["serving"] is False
    assert not_running(status).startswith("stopped at ")


def test_an_adapter_whose_process_has_gone_is_not_running(tmp_path: Path) -> None:
    _, status_file = _written(tmp_path)
    status = read_status(status_file)
    assert status is not None
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = {**status, "pid": int(gone.stdout)}
    assert "has gone" in not_running(dead)
    # another host's process (a container's volume read from outside) is not judged here
    assert not_running({**dead, "host": "elsewhere.example"}) == ""
