import asyncio

import pytest

from agency_adapters.scheduling import NO_DUE, DueOrderedGate, due_key


def test_due_key_orders_times_and_puts_missing_last() -> None:
    assert due_key("2026-12-01T09:00:00+00:00") < due_key("2026-12-01T10:00:00+00:00") < NO_DUE
    assert due_key("") == NO_DUE and due_key("not a time") == NO_DUE


def test_waiters_are_admitted_earliest_due_first() -> None:
    async def scenario() -> list[str]:
        gate = DueOrderedGate(1)
        order: list[str] = []
        release = asyncio.Event()

        async def work(name: str, due: float) -> None:
            async with gate.slot(due):
                order.append(name)
                if name == "first":
                    await release.wait()

        first = asyncio.create_task(work("first", 5))
        await asyncio.sleep(0)
        tasks = [asyncio.create_task(work(n, d)) for n, d in
                 [("green", 300.0), ("red", 10.0), ("amber", 50.0), ("undated", NO_DUE)]]
        await asyncio.sleep(0)
        assert gate.waiting == 4
        release.set()
        await asyncio.gather(first, *tasks)
        return order

    assert asyncio.run(scenario()) == ["first", "red", "amber", "green", "undated"]


def test_capacity_is_never_exceeded_and_cancelled_waiters_do_not_leak_slots() -> None:
    async def scenario() -> int:
        gate = DueOrderedGate(2)
        busy = peak = 0

        async def work(due: float) -> None:
            nonlocal busy, peak
            async with gate.slot(due):
                busy += 1
                peak = max(peak, busy)
                await asyncio.sleep(0.001)
                busy -= 1

        tasks = [asyncio.create_task(work(float(i % 7))) for i in range(40)]
        await asyncio.sleep(0)
        tasks[-1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        async with gate.slot(0):  # a slot is still free afterwards
            pass
        return peak

    assert asyncio.run(scenario()) == 2


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        DueOrderedGate(0)
