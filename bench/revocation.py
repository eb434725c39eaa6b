"""How soon a revoked key's open streams end.

Two server processes on one fresh database. Streams of one platform key
are open on each; the key is revoked through the first. Measured from
sending RevokeApiKey to each stream's UNAUTHENTICATED:

- on the server that revoked it (it ends them itself, at once);
- on the other server (it hears of it through the store's change
  announcement on PostgreSQL, or its own look every 2 s on SQLite).

The baseline is how long the other server takes to refuse a unary call with
the revoked key, measured in the same run with another key: what
"revocation takes effect" already meant for unary calls.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench.measure import basic_auth
from bento.v1 import (
    catalog_pb2,
    catalog_pb2_grpc,
    enums_pb2,
    event_pb2,
    event_pb2_grpc,
    tenant_pb2,
    tenant_pb2_grpc,
)
from tests.support import start_server

STREAMS = 20
ROUNDS = 5


@dataclass(frozen=True)
class Result:
    unary_seconds: float
    """Median delay until the other server refuses a unary call (the baseline)."""
    same_server_seconds: list[float]
    other_server_seconds: list[float]

    @staticmethod
    def p50(values: list[float]) -> float:
        return statistics.median(values)

    @staticmethod
    def worst(values: list[float]) -> float:
        return max(values)


async def _key(tenants: tenant_pb2_grpc.TenantServiceStub, admin: list, platform_id: str) -> str:  # type: ignore[type-arg]
    made = await tenants.CreateApiKey(
        tenant_pb2.CreateApiKeyRequest(role=enums_pb2.ROLE_PLATFORM, tenant_id=platform_id),
        metadata=admin,
    )
    return f"{made.key_id}:{made.secret}"


async def _until_ended(stream: grpc.aio.UnaryStreamCall, sent: list[float]) -> float:  # type: ignore[type-arg]
    try:
        while await stream.read() is not grpc.aio.EOF:
            pass
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error
        return time.perf_counter() - sent[0]
    raise AssertionError("the stream ended without an error")


async def _round(first: str, second: str, admin: str) -> tuple[float, list[float], list[float]]:
    a = basic_auth(admin)
    async with (
        grpc.aio.insecure_channel(first) as one,
        grpc.aio.insecure_channel(second) as two,
    ):
        tenants = tenant_pb2_grpc.TenantServiceStub(one)
        platform = await tenants.CreatePlatform(
            tenant_pb2.CreatePlatformRequest(name="revocation bench", fee_rate=0.1), metadata=a
        )
        platform_id = platform.platform.platform_id
        watched, probed = await _key(tenants, a, platform_id), await _key(tenants, a, platform_id)
        streams = []
        for channel in (one, two):
            events = event_pb2_grpc.EventServiceStub(channel)
            for _ in range(STREAMS // 2):
                stream = events.WatchEvents(
                    event_pb2.WatchEventsRequest(), metadata=basic_auth(watched)
                )
                await stream.read()  # the replay's end: the stream is open
                streams.append(stream)
        sent = [0.0]
        waiting = [asyncio.create_task(_until_ended(s, sent)) for s in streams]
        sent[0] = time.perf_counter()
        await tenants.RevokeApiKey(
            tenant_pb2.RevokeApiKeyRequest(key_id=watched.split(":")[0]), metadata=a
        )
        delays = await asyncio.wait_for(asyncio.gather(*waiting), 60)
        same, other = delays[: STREAMS // 2], delays[STREAMS // 2 :]

        # The baseline: a unary call with a key revoked through the first
        # server, asked of the second until it is refused.
        catalog = catalog_pb2_grpc.CatalogServiceStub(two)
        await catalog.ListPlans(catalog_pb2.ListPlansRequest(), metadata=basic_auth(probed))
        started = time.perf_counter()
        await tenants.RevokeApiKey(
            tenant_pb2.RevokeApiKeyRequest(key_id=probed.split(":")[0]), metadata=a
        )
        while True:
            try:
                await catalog.ListPlans(catalog_pb2.ListPlansRequest(), metadata=basic_auth(probed))
            except grpc.aio.AioRpcError:
                break
        return time.perf_counter() - started, same, other


def run(database_url: str, workdir: Path) -> Result:
    first = start_server(database_url, workdir, test_clock=False)
    second = start_server(database_url, workdir, test_clock=False)
    try:
        unary: list[float] = []
        same: list[float] = []
        other: list[float] = []
        for _ in range(ROUNDS):
            u, s, o = asyncio.run(_round(first.address, second.address, first.admin_credential))
            unary.append(u)
            same.extend(s)
            other.extend(o)
        return Result(statistics.median(unary), same, other)
    finally:
        first.stop()
        second.stop()
