"""Whether the process that wrote a status file is still there.

Status files (`HOME/run/*.health.json`, `*.policy.json`) hold the last state a running
service wrote; they outlive the service. They name the process and host that wrote them, so
a reader can tell a live service from one that has stopped or died.
"""

from __future__ import annotations

import os
import socket
import sys


def this_host() -> str:
    """The name of this host, as written into status files."""
    return socket.gethostname()


def alive(pid: int) -> bool:
    """Does process `pid` exist on this host? (True where that cannot be asked.)"""
    if sys.platform == "win32":  # os.kill there would signal the process, not ask after it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another account's process: it exists
        return True
    return True


def gone(pid: object, host: object) -> bool:
    """Has the process a status file names (`pid` on `host`) gone?

    Judged only for a file written on this host: another host (a container's volume read from
    outside it) has other process ids, so its file is taken as it reads.
    """
    return isinstance(pid, int) and host == this_host() and not alive(pid)
