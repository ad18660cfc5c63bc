"""Time travel for a fixed-clock test run, shared by pytest and the processes it starts.

`time-machine` moves `time.time()` and `datetime.now()` of the whole process. gRPC's Python
layer turns a call's timeout into an absolute deadline with `time.time()` and hands it to its C
core, which keeps real time: a moved clock would make every deadline already past (or a year
away). So gRPC keeps the real wall clock, and only our code and the libraries it dates with
(datetime, PyJWT, cryptography's certificate validity) see the moved one.
"""

from __future__ import annotations

import os
import time
import types
from typing import Any

#: Environment variable carrying the run's offset from the real clock, in seconds.
OFFSET_ENV = "MASH_TEST_CLOCK_OFFSET_S"
_MOVED_PID_ENV = "MASH_TEST_CLOCK_MOVED_PID"


class _RealTime(types.ModuleType):
    """The `time` module, but `time()` is the real wall clock."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def start(offset_s: float) -> None:
    """Move this process's clock by `offset_s` seconds (ticking), leaving gRPC on real time.

    Once per process: a pytest worker is moved by this folder's sitecustomize before its
    conftest asks again, and moving twice would double the offset.
    """
    if os.environ.get(_MOVED_PID_ENV) == str(os.getpid()):
        return
    os.environ[_MOVED_PID_ENV] = str(os.getpid())
    import time_machine
    from grpc import _channel, _common, _server, _utilities
    from grpc._cython import cygrpc
    from grpc.aio import _utils

    real = _RealTime("time")
    real.time = time_machine.escape_hatch.time.time  # type: ignore[attr-defined]
    for module in (_channel, _common, _server, _utilities, _utils, cygrpc):
        module.time = real  # type: ignore[attr-defined]
    time_machine.travel(time.time() + offset_s, tick=True).start()
