"""Event delivery with 200 watchers, and unary throughput beside them.

A real server process on a fresh database; clients are grpc.aio on one
event loop in this process. Three measures, in one run:

- baseline: the standard health Check (no credentials, no store) from 16
  concurrent callers: what one server process answers with nothing to do;
- GetSubscription from 16 concurrent callers, with no stream open, then
  with 200 WatchEvents streams open (idle: they watch one subscription);
  these three take turns, each with its slice of every round, so that the
  machine's slow spells weigh on them alike;
- delivery: with 200 streams watching one subscription, each write's event
  is timed from the moment the write was sent to each stream's receipt.

The server (and PostgreSQL, where the bench may move it) runs on one core,
the client on the other (``bench.cores``): the client reads 200 streams on
one loop, and sharing the server's core would add its work to every
delivery. Each rate reports the client's CPU.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import cores, scale, seed
from bench.cores import ClientCpu
from bench.measure import Rate, basic_auth, summary
from bento.v1 import (
    event_pb2,
    event_pb2_grpc,
    subscription_pb2,
    subscription_pb2_grpc,
)
from bento_server.store.database import connect
from tests.support import start_server

WATCHERS = 200
CALLERS = 16
# Turns of the baseline and the unary measures, alone and beside the watchers.
ROUNDS = 3


@dataclass(frozen=True)
class Result:
    baseline: Rate
    unary_alone: Rate
    unary_with_watchers: Rate
    delivery: Rate


async def _timed(
    call: Callable[[], Awaitable[None]], seconds: float, latencies: list[float]
) -> float:
    """``CALLERS`` loops calling ``call`` back to back for ``seconds``; each
    call's latency goes to ``latencies``. Returns the time it took."""
    stop = time.perf_counter() + seconds

    async def caller() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    return time.perf_counter() - started


async def _measure(address: str, admin: str, seconds: float) -> Result:
    async with grpc.aio.insecure_channel(address) as channel:
        subscriptions = subscription_pb2_grpc.SubscriptionServiceStub(channel)
        events = event_pb2_grpc.EventServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        a = basic_auth(admin)
        sub, quiet = await seed.subscriptions(channel, a, ["bench", "quiet"])

        async def noop() -> None:
            await health.Check(health_pb2.HealthCheckRequest())

        async def get() -> None:
            await subscriptions.GetSubscription(
                subscription_pb2.GetSubscriptionRequest(subscription_id=sub.subscription_id),
                metadata=a,
            )

        # Taken in turns, each with its slice of every round, so that a slow
        # spell of the machine weighs on all three alike.
        timed: dict[str, tuple[list[float], list[float], ClientCpu]] = {
            label: ([], [], ClientCpu()) for label in ("baseline", "alone", "with")
        }

        async def measure(label: str, call: Callable[[], Awaitable[None]]) -> None:
            latencies, elapsed, cpu = timed[label]
            with cpu.span():
                elapsed.append(await _timed(call, seconds / ROUNDS, latencies))

        for _ in range(ROUNDS):
            await measure("baseline", noop)
            await measure("alone", get)
            # Idle watchers: they watch a subscription nobody touches.
            idle = [
                events.WatchEvents(
                    event_pb2.WatchEventsRequest(subscription_id=quiet.subscription_id),
                    metadata=a,
                )
                for _ in range(WATCHERS)
            ]
            for stream in idle:
                while not (await stream.read()).HasField("heartbeat"):
                    pass
            await measure("with", get)
            for stream in idle:
                stream.cancel()
            await asyncio.sleep(0.5)  # the server closes them before the next turn
        baseline, alone, with_watchers = (
            summary(latencies, len(latencies) / sum(elapsed), cpu.share)
            for latencies, elapsed, cpu in timed.values()
        )

        watchers = [
            events.WatchEvents(
                event_pb2.WatchEventsRequest(subscription_id=sub.subscription_id), metadata=a
            )
            for _ in range(WATCHERS)
        ]
        for stream in watchers:
            while not (await stream.read()).HasField("heartbeat"):
                pass
        sent: dict[int, float] = {}
        latencies: list[float] = []
        writes = max(int(seconds * 10), 20)

        async def drain(stream: object) -> None:
            received = 0
            while received < writes:
                message = await stream.read()  # type: ignore[attr-defined]
                if message.HasField("event"):
                    # Writes go one at a time, one event each: the k-th event
                    # a watcher receives is the k-th write.
                    latencies.append(time.perf_counter() - sent[received])
                    received += 1

        readers = [asyncio.create_task(drain(stream)) for stream in watchers]
        cpu = ClientCpu()
        with cpu.span():
            started = time.perf_counter()
            for n in range(writes):
                metadata = struct_pb2.Struct()
                metadata.update({"n": n})
                sent[n] = time.perf_counter()
                await subscriptions.UpdateSubscription(
                    subscription_pb2.UpdateSubscriptionRequest(
                        subscription_id=sub.subscription_id, metadata=metadata
                    ),
                    metadata=a,
                )
                await asyncio.sleep(0.05)
            await asyncio.wait_for(asyncio.gather(*readers), 120)
            elapsed = time.perf_counter() - started
        for stream in watchers:
            stream.cancel()
        delivery = summary(latencies, len(latencies) / elapsed, cpu.share)
    return Result(baseline, alone, with_watchers, delivery)


def run(database_url: str, workdir: Path, seconds: float) -> Result:
    store = connect(database_url)
    try:
        cores.pin_postgres(store.is_postgres, scale.data_directory(store))
    finally:
        store.close()
    server = start_server(
        database_url,
        workdir,
        test_clock=False,
        extra=("--max-streams-per-caller", "500"),
        prefix=cores.server_command(),
    )
    try:
        with cores.on_core(cores.CLIENT_CORE):
            return asyncio.run(_measure(server.address, server.admin_credential, seconds))
    finally:
        server.stop()
