"""CheckAccess throughput and latency at 32 concurrent callers, with 100,000
subscriptions in the store, beside a no-op RPC on the same server in the
same run.

The no-op is the standard health Check: no credentials, no store. CheckAccess
adds the credential check and one indexed read, so the ratio says what the
hot path costs on top of gRPC itself. Two patterns: every call for a random
one of all users (cold: nothing asked twice in a while), and calls for a
random one of 1,000 users (repeat users, as services ask on every request).
"""

from __future__ import annotations

import asyncio
import base64
import random
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import renewals
from bench.streams import Rate, _summary
from bento.v1 import entitlement_pb2, entitlement_pb2_grpc
from bento_server.store.database import connect
from bento_server.store.migrations import migrate
from tests.support import run_cli, start_server

CALLERS = 32


async def _rate(call: object, seconds: float) -> Rate:
    import time

    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await call()  # type: ignore[operator]
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CALLERS)))
    return _summary(latencies, len(latencies) / (time.perf_counter() - started))


HOT_USERS = 1_000


async def _measure(
    address: str, credential: str, count: int, seconds: float
) -> tuple[Rate, Rate, Rate]:
    metadata = [("authorization", "Basic " + base64.b64encode(credential.encode()).decode())]
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        access = entitlement_pb2_grpc.EntitlementServiceStub(channel)

        async def noop() -> None:
            await health.Check(health_pb2.HealthCheckRequest())

        async def check(users: int = count) -> None:
            session = f"session-{random.randrange(users)}"
            answer = await access.CheckAccess(
                entitlement_pb2.CheckAccessRequest(session_id=session, product_id="PRBENCH"),
                metadata=metadata,
            )
            assert answer.allowed

        async def check_hot() -> None:
            await check(HOT_USERS)

        await _rate(noop, 1.0)  # warm up both paths
        await _rate(check, 1.0)
        return (
            await _rate(noop, seconds),
            await _rate(check, seconds),
            await _rate(check_hot, seconds),
        )


def run(database_url: str, workdir: Path, count: int, seconds: float) -> tuple[Rate, Rate, Rate]:
    store = connect(database_url)
    migrate(store)
    renewals.seed(store, count)
    store.close()
    credential = (
        run_cli(
            "keys",
            "create",
            "--role",
            "platform",
            "--tenant",
            "PLBENCH",
            "--database",
            database_url,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    # As a hot-path deployment runs it: failed calls logged, every call counted.
    server = start_server(
        database_url,
        workdir,
        test_clock=False,
        extra=("--scheduler-interval", "0", "--access-log", "errors"),
    )
    try:
        return asyncio.run(_measure(server.address, credential, count, seconds))
    finally:
        server.stop()
