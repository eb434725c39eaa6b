"""Statements and commits per flow, counted by the server itself.

A server process answers the flows one at a time, with its metrics served;
its counters of what it sent to the database (``bento_store_statements``,
``bento_store_commits``) are read before and after each batch of flows.
What the server does meanwhile on its own (the event feed's poll, the
webhook sender's) is counted over an idle spell of the same length and
taken off. The counts are exact, not timed: they do not depend on how
busy the machine is.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench import renewals, scale
from bench.measure import basic_auth
from bento.v1 import (
    entitlement_pb2,
    entitlement_pb2_grpc,
    payment_pb2_grpc,
    subscription_pb2,
    subscription_pb2_grpc,
)
from bento_server.store.database import connect
from bento_server.store.migrations import migrate
from tests.support import free_port, start_server

FLOWS = 50
FLOW_NAMES = ("create → pay flow", "GetSubscription", "CheckAccess")


@dataclass(frozen=True)
class Counted:
    statements: float
    commits: float


def _counters(metrics_url: str) -> tuple[float, float]:
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith(("bento_store_statements_total ", "bento_store_commits_total ")):
            name, value = line.split()
            values[name] = float(value)
    return values["bento_store_statements_total"], values["bento_store_commits_total"]


async def _count(metrics_url: str, flow, times: int) -> Counted:  # type: ignore[no-untyped-def]
    """What ``times`` runs of ``flow`` sent, less what the server sent on its
    own over as long a spell."""
    statements, commits = _counters(metrics_url)
    started = time.perf_counter()
    for _ in range(times):
        await flow()
    took = time.perf_counter() - started
    after_statements, after_commits = _counters(metrics_url)
    await asyncio.sleep(took)
    idle_statements, idle_commits = _counters(metrics_url)
    background = (idle_statements - after_statements, idle_commits - after_commits)
    return Counted(
        (after_statements - statements - background[0]) / times,
        (after_commits - commits - background[1]) / times,
    )


async def _measure(
    address: str, metrics_url: str, credential: str, subscription_id: str
) -> dict[str, Counted]:
    metadata = basic_auth(credential)
    async with grpc.aio.insecure_channel(address) as channel:
        subscriptions = subscription_pb2_grpc.SubscriptionServiceStub(channel)
        payments = payment_pb2_grpc.PaymentServiceStub(channel)
        access = entitlement_pb2_grpc.EntitlementServiceStub(channel)

        async def flow() -> None:
            await scale.create_then_pay(subscriptions, payments, metadata, "count")

        async def get() -> None:
            await subscriptions.GetSubscription(
                subscription_pb2.GetSubscriptionRequest(subscription_id=subscription_id),
                metadata=metadata,
            )

        async def check() -> None:
            # A different user each time: nothing remembered.
            await access.CheckAccess(
                entitlement_pb2.CheckAccessRequest(
                    session_id=f"count-{uuid.uuid4().hex}", product_id="PRBENCH"
                ),
                metadata=metadata,
            )

        await flow()  # warm: the first call of each kind prepares what it keeps
        await get()
        await check()
        return {
            name: await _count(metrics_url, call, FLOWS)
            for name, call in zip(FLOW_NAMES, (flow, get, check), strict=True)
        }


def run(database_url: str, workdir: Path) -> dict[str, Counted]:
    store = connect(database_url)
    migrate(store)
    [subscription_id] = renewals.seed(store, 1)
    store.close()
    credential = scale.platform_key(database_url)
    metrics_port = free_port()
    server = start_server(
        database_url,
        workdir,
        test_clock=False,
        extra=(
            "--scheduler-interval",
            "0",
            "--access-log",
            "errors",
            "--metrics-address",
            f"127.0.0.1:{metrics_port}",
        ),
    )
    try:
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        return asyncio.run(_measure(server.address, metrics_url, credential, subscription_id))
    finally:
        server.stop()
