"""The broker collects researchers' answers in the background, not only when a summary is read.

An agency whose researcher searches by hand answers a query minutes or hours after the
lookup. `sweep_forever` calls the referral service's sweep (the same collection a summary
view runs: verify, audit, file) every interval, so a Red referral's answer is filed as soon
as it is ready, whether or not anyone has the summary open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mash.logs import get_logger

log = get_logger("broker")


async def sweep_forever(sweep: Callable[[], Awaitable[int]], interval_s: float, *,
                        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Run `sweep` now and then every `interval_s`, until cancelled.

    A round that fails (an adapter that answers nonsense, a full disk) is logged and the
    next round runs as usual: the answers wait at the adapter until they are collected.
    """
    while True:
        try:
            filed = await sweep()
        except Exception as exc:  # one bad round must not end collection
            log.warning("research_sweep_failed", error=type(exc).__name__, detail=str(exc)[:200])
        else:
            if filed:
                log.info("research_sweep_filed", answers=filed)
        await sleep(interval_s)
