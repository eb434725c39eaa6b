"""Rates and latencies of concurrent callers, the unit every table reports."""

from __future__ import annotations

import asyncio
import base64
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.cores import ClientCpu


@dataclass(frozen=True)
class Rate:
    per_second: float
    p50_ms: float
    p99_ms: float
    client_cpu: float = 0.0
    """The bench process's CPU while measuring, as a share of one core: near
    1.0, the client (not the server) set the rate."""

    def ratio(self, baseline: Rate) -> float:
        return self.per_second / baseline.per_second


def summary(latencies: list[float], per_second: float, client_cpu: float = 0.0) -> Rate:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Rate(per_second, statistics.median(ordered) * 1000, p99 * 1000, client_cpu)


async def _load(
    call: Callable[[], Awaitable[object]],
    seconds: float,
    callers: int,
    latencies: list[float],
    cpu: ClientCpu,
) -> float:
    """``callers`` loops calling ``call`` back to back for ``seconds``; each
    call's latency goes to ``latencies``, the client's CPU to ``cpu``.
    Returns the time it took."""
    with cpu.span():
        return await _timed(call, seconds, callers, latencies)


async def _timed(
    call: Callable[[], Awaitable[object]], seconds: float, callers: int, latencies: list[float]
) -> float:
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(callers)))
    return time.perf_counter() - started


async def rate(call: Callable[[], Awaitable[object]], seconds: float, callers: int) -> Rate:
    """``callers`` loops calling ``call`` back to back for ``seconds``."""
    latencies: list[float] = []
    cpu = ClientCpu()
    elapsed = await _load(call, seconds, callers, latencies, cpu)
    return summary(latencies, len(latencies) / elapsed, cpu.share)


async def interleaved(
    calls: dict[str, Callable[[], Awaitable[object]]], seconds: float, callers: int, rounds: int
) -> dict[str, Rate]:
    """Each call's rate over ``seconds`` in all, taken in ``rounds`` turns in
    which every call has its slice: whatever slows the machine for a while
    (a neighbour, the database's own maintenance) then weighs on the
    baseline and the measures alike, not on whichever ran at that moment."""
    latencies: dict[str, list[float]] = {label: [] for label in calls}
    elapsed = dict.fromkeys(calls, 0.0)
    cpu = {label: ClientCpu() for label in calls}
    for _ in range(rounds):
        for label, call in calls.items():
            elapsed[label] += await _load(
                call, seconds / rounds, callers, latencies[label], cpu[label]
            )
    return {
        label: summary(latencies[label], len(latencies[label]) / elapsed[label], cpu[label].share)
        for label in calls
    }


def basic_auth(credential: str) -> list[tuple[str, str]]:
    return [("authorization", "Basic " + base64.b64encode(credential.encode()).decode())]
