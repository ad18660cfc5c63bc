"""`mash.aio.run`: every long-running process's event loop (uvloop where it is installed)."""

import asyncio
import sys

import pytest

from mash import aio


async def _loop_module_and(value: int) -> tuple[str, int]:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__, value


def test_run_returns_the_coroutines_result_on_uvloop() -> None:
    module, value = aio.run(_loop_module_and(7))
    assert value == 7
    # uvloop is a dependency on every platform it supports: the services must not quietly
    # fall back to the slower stdlib loop there.
    if sys.platform != "win32":
        assert module.startswith("uvloop"), module


def test_run_propagates_the_coroutines_exception() -> None:
    async def fails() -> None:
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        aio.run(fails())
