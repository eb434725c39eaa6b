"""Rates and latencies of concurrent callers, the unit every table reports."""

from __future__ import annotations

import asyncio
import base64
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    per_second: float
    p50_ms: float
    p99_ms: float

    def ratio(self, baseline: Rate) -> float:
        return self.per_second / baseline.per_second


def summary(latencies: list[float], per_second: float) -> Rate:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Rate(per_second, statistics.median(ordered) * 1000, p99 * 1000)


async def rate(call: Callable[[], Awaitable[object]], seconds: float, callers: int) -> Rate:
    """``callers`` loops calling ``call`` back to back for ``seconds``."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(callers)))
    return summary(latencies, len(latencies) / (time.perf_counter() - started))


def basic_auth(credential: str) -> list[tuple[str, str]]:
    return [("authorization", "Basic " + base64.b64encode(credential.encode()).decode())]
