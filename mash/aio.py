"""Running a process's event loop: uvloop where it is installed, asyncio's own otherwise.

Every lookup wakes the broker and four adapters several times (a gRPC call in, calls
out, the audit writer's hand-backs), and in each wake-up the stdlib loop's own Python
(`Handle._run`, the selector) was a tenth of the process's samples. uvloop runs the same
asyncio API on libuv, in Cython: in four alternating pairs of `mash bench lookup` runs
the whole system's CPU per lookup fell by 4-11% (6.9% on average; see
`docs/performance.md`). It is not built for Windows; there the stdlib loop does the same
work, a little slower.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TypeVar

T = TypeVar("T")


def run(main: Coroutine[object, None, T]) -> T:
    """Run `main` to completion on a new event loop (as `asyncio.run` does) and return its result."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a platform uvloop does not support
        return asyncio.run(main)
    return uvloop.run(main)
