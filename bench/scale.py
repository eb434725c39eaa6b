"""Lookups, checks and the create → pay flow, as the store grows.

One store is seeded with 10,000 subscriptions, then grown to 100,000 and to
1,000,000. At each size a fresh server process answers, in one run and from
32 concurrent callers on one grpc.aio loop:

- the baseline: the standard health Check (no credentials, no store);
- CheckAccess for a random one of all users (cold: nothing asked twice in
  a while), then for a random one of 1,000 users (repeat users, as services
  ask on every request);
- GetSubscription of a random one of all subscriptions;
- the create → pay flow: CreateSubscription then a succeeded CreatePayment
  of its first invoice, each with an idempotency-key (a flow is one row).

The baseline and the reads take turns (``ROUNDS`` of them); the flow runs
after them. The server (and PostgreSQL) run on one core, the client on the
other (``bench.cores``), so the rates are the server's.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc
import peewee
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import cores, renewals
from bench.measure import Rate, basic_auth, interleaved, rate
from bento.v1 import (
    entitlement_pb2,
    entitlement_pb2_grpc,
    enums_pb2,
    payment_pb2,
    payment_pb2_grpc,
    subscription_pb2,
    subscription_pb2_grpc,
)
from bento_server.store.database import Store, connect
from bento_server.store.migrations import migrate
from tests.support import run_cli, start_server

CALLERS = 32
# Turns taken by the baseline and the reads (see measure.interleaved).
ROUNDS = 5
HOT_USERS = 1_000
MEASURES = (
    "baseline: health Check",
    "CheckAccess, any user",
    f"CheckAccess, one of {HOT_USERS:,} users",
    "GetSubscription, any",
    "create → pay flow",
)


@dataclass(frozen=True)
class Step:
    subscriptions: int
    rates: dict[str, Rate]


async def _measure(
    address: str, credential: str, users: int, subscription_ids: list[str], seconds: float
) -> dict[str, Rate]:
    metadata = basic_auth(credential)
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        access = entitlement_pb2_grpc.EntitlementServiceStub(channel)
        subscriptions = subscription_pb2_grpc.SubscriptionServiceStub(channel)
        payments = payment_pb2_grpc.PaymentServiceStub(channel)

        async def noop() -> None:
            await health.Check(health_pb2.HealthCheckRequest())

        async def check(among: int = users) -> None:
            answer = await access.CheckAccess(
                entitlement_pb2.CheckAccessRequest(
                    session_id=f"session-{random.randrange(among)}", product_id="PRBENCH"
                ),
                metadata=metadata,
            )
            assert answer.allowed

        async def check_repeat() -> None:
            await check(HOT_USERS)

        async def get() -> None:
            await subscriptions.GetSubscription(
                subscription_pb2.GetSubscriptionRequest(
                    subscription_id=random.choice(subscription_ids)
                ),
                metadata=metadata,
            )

        async def flow() -> None:
            await create_then_pay(subscriptions, payments, metadata, "flow")

        # Warm up every path before measuring any.
        for call in (noop, check, get, flow):
            await rate(call, 0.5, CALLERS)
        # The reads take turns with the baseline; the flow, which writes
        # (and on PostgreSQL makes servers forget remembered answers), runs
        # after them.
        reads = dict(zip(MEASURES[:-1], (noop, check, check_repeat, get), strict=True))
        rates = await interleaved(reads, seconds, CALLERS, ROUNDS)
        rates[MEASURES[-1]] = await rate(flow, seconds, CALLERS)
        return rates


async def create_then_pay(
    subscriptions: subscription_pb2_grpc.SubscriptionServiceStub,
    payments: payment_pb2_grpc.PaymentServiceStub,
    metadata: list[tuple[str, str]],
    prefix: str,
) -> None:
    """The create → pay flow: CreateSubscription of the bench plan for a new
    user, then a succeeded CreatePayment of its first invoice, each with an
    idempotency-key."""
    key = uuid.uuid4().hex
    created = await subscriptions.CreateSubscription(
        subscription_pb2.CreateSubscriptionRequest(
            session_id=f"{prefix}-{key}", plan_id="planbench"
        ),
        metadata=[*metadata, ("idempotency-key", f"create-{key}")],
    )
    await payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(
            subscription_id=created.subscription.subscription_id,
            invoice_id=created.invoice.invoice_id,
            amount=created.invoice.amounts.total_amount,
            status=enums_pb2.PAYMENT_RECORD_STATUS_SUCCEEDED,
        ),
        metadata=[*metadata, ("idempotency-key", f"pay-{key}")],
    )


def platform_key(database_url: str) -> str:
    args = ("--role", "platform", "--tenant", "PLBENCH", "--database", database_url)
    return run_cli("keys", "create", *args).stdout.strip().splitlines()[-1]


def data_directory(store: Store) -> str | None:
    """PostgreSQL's data directory, where its postmaster.pid is; None when
    the role may not read it."""
    if not store.is_postgres:
        return None
    try:
        return str(store.db.execute_sql("SHOW data_directory").fetchone()[0])
    except peewee.DatabaseError:
        return None


def run(database_url: str, workdir: Path, sizes: list[int], seconds: float) -> list[Step]:
    store = connect(database_url)
    try:
        migrate(store)
        cores.pin_postgres(store.is_postgres, data_directory(store))
    finally:
        store.close()
    steps = []
    seeded: list[str] = []
    for size in sizes:
        # The store is open only while seeding: a process holds one open
        # store, and starting a server makes its admin key in this process.
        store = connect(database_url)
        try:
            seeded += renewals.seed(store, size - len(seeded), first=len(seeded))
            # Statistics for the planner, and on PostgreSQL the vacuum that
            # the bulk load would otherwise set off in the middle of the measures.
            store.db.execute_sql("VACUUM ANALYZE" if store.is_postgres else "ANALYZE")
        finally:
            store.close()
        credential = platform_key(database_url)
        # As a hot-path deployment runs it: failed calls logged, every call counted.
        server = start_server(
            database_url,
            workdir,
            test_clock=False,
            extra=("--scheduler-interval", "0", "--access-log", "errors"),
            prefix=cores.server_command(),
        )
        try:
            sample = random.sample(seeded, min(len(seeded), 50_000))
            with cores.on_core(cores.CLIENT_CORE):
                rates = asyncio.run(_measure(server.address, credential, size, sample, seconds))
        finally:
            server.stop()
        steps.append(Step(size, rates))
    return steps
