"""`bento serve`: the gRPC server.

grpc.aio, so that hundreds of long-lived WatchEvents streams cost the event
loop a coroutine each rather than a thread each; store work runs on a
bounded thread pool (``Runtime.executor``) so a slow write never stalls the
loop that every stream and call shares.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from bento.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    entitlement_pb2,
    entitlement_pb2_grpc,
    event_pb2,
    event_pb2_grpc,
    invoice_pb2,
    invoice_pb2_grpc,
    payment_pb2,
    payment_pb2_grpc,
    settlement_pb2,
    settlement_pb2_grpc,
    subscription_pb2,
    subscription_pb2_grpc,
    tenant_pb2,
    tenant_pb2_grpc,
    test_clock_pb2,
    test_clock_pb2_grpc,
    webhook_pb2,
    webhook_pb2_grpc,
)
from bento_server.clock import Clock, SystemClock, TestClock
from bento_server.config import ServerConfig
from bento_server.infra import metrics, scheduler
from bento_server.infra.feed import EventFeed
from bento_server.infra.webhooks import WebhookSender
from bento_server.runtime import Runtime
from bento_server.services.activation import ActivationService
from bento_server.services.catalog import CatalogService
from bento_server.services.entitlement import EntitlementService
from bento_server.services.event import EventService
from bento_server.services.interceptor import BentoInterceptor
from bento_server.services.invoice import InvoiceService
from bento_server.services.payment import PaymentService
from bento_server.services.settlement import SettlementService
from bento_server.services.subscription import SubscriptionService
from bento_server.services.tenant import TenantService
from bento_server.services.test_clock import TestClockService
from bento_server.services.webhook import WebhookService
from bento_server.store import secret_box, statements
from bento_server.store.access_cache import AccessCache, AccessListener
from bento_server.store.database import Store, connect
from bento_server.store.group_writer import GroupWriter
from bento_server.store.migrations import migrate
from bento_server.store.models import TestClockState
from bento_server.store.secret_box import SecretBox
from bento_server.usecases import events
from bento_server.usecases.context import Deps
from bento_server.usecases.credentials import Authenticator

log = logging.getLogger("bento.server")

MiB = 1024 * 1024

# Keepalive: ping idle connections so dead stream consumers are noticed
# within a minute; let clients ping every 10 s, as long-lived stream clients
# do. Messages: 4 MiB in (no request needs more), 16 MiB out (long pages).
SERVER_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 4 * MiB),
    ("grpc.max_send_message_length", 16 * MiB),
    ("grpc.so_reuseport", 0),
]


def _load_test_clock(store: Store, wall: Clock) -> TestClock:
    """The test clock where it last stood, so a restart never turns it back."""
    row = TestClockState.get_or_none(TestClockState.id == 1)
    return TestClock(row.now if row else wall.now())


SERVICES = [
    (tenant_pb2, tenant_pb2_grpc, "TenantService"),
    (catalog_pb2, catalog_pb2_grpc, "CatalogService"),
    (subscription_pb2, subscription_pb2_grpc, "SubscriptionService"),
    (invoice_pb2, invoice_pb2_grpc, "InvoiceService"),
    (payment_pb2, payment_pb2_grpc, "PaymentService"),
    (activation_pb2, activation_pb2_grpc, "ActivationService"),
    (entitlement_pb2, entitlement_pb2_grpc, "EntitlementService"),
    (event_pb2, event_pb2_grpc, "EventService"),
    (test_clock_pb2, test_clock_pb2_grpc, "TestClockService"),
    (webhook_pb2, webhook_pb2_grpc, "WebhookService"),
    (settlement_pb2, settlement_pb2_grpc, "SettlementService"),
]

SERVICERS = {
    "TenantService": TenantService,
    "CatalogService": CatalogService,
    "SubscriptionService": SubscriptionService,
    "InvoiceService": InvoiceService,
    "PaymentService": PaymentService,
    "EventService": EventService,
    "ActivationService": ActivationService,
    "EntitlementService": EntitlementService,
    "TestClockService": TestClockService,
    "WebhookService": WebhookService,
    "SettlementService": SettlementService,
}


def _loop_reads(store: Store) -> statements.LoopReads | None:
    """PostgreSQL: GetSubscription's and GetInvoice's reads, for the event
    loop's own connection (SQLite answers them on the loop directly)."""
    if not store.is_postgres:
        return None
    return statements.LoopReads(store, [statements.SUBSCRIPTIONS_AMONG, statements.INVOICES_AMONG])


def build_runtime(config: ServerConfig) -> Runtime:
    store = connect(config.database_url)
    migrate(store)
    wall = SystemClock()
    test_clock = _load_test_clock(store, wall) if config.test_clock else None
    clock: Clock = test_clock or wall
    retention = (
        timedelta(days=config.event_retention_days) if config.event_retention_days > 0 else None
    )
    return Runtime(
        deps=Deps(
            store=store,
            clock=clock,
            event_retention=retention,
            secrets=SecretBox(secret_box.key_for(config.database_url)),
            webhooks_allow_private=config.webhooks_allow_private,
            loop_reads=_loop_reads(store),
        ),
        executor=ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="bento-store"),
        writer=None if store.is_postgres else GroupWriter(store),
        test_clock=test_clock,
        config=config,
    )


def _tls_credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    """The listener's TLS credentials, or None for plaintext; a bad
    configuration stops the start with a message, before the store opens."""
    if not (config.tls_cert or config.tls_key):
        return None
    if not (config.tls_cert and config.tls_key):
        raise SystemExit("--tls-cert and --tls-key go together")
    try:
        with open(config.tls_key, "rb") as key, open(config.tls_cert, "rb") as cert:
            key_pem, cert_pem = key.read(), cert.read()
    except OSError as error:
        raise SystemExit(f"cannot read {error.filename}: {error.strerror}") from None
    if b"-----BEGIN CERTIFICATE-----" not in cert_pem:
        raise SystemExit(f"--tls-cert {config.tls_cert} holds no PEM certificate")
    if b"PRIVATE KEY-----" not in key_pem:
        raise SystemExit(f"--tls-key {config.tls_key} holds no PEM private key")
    return grpc.ssl_server_credentials([(key_pem, cert_pem)])


async def serve(config: ServerConfig) -> None:
    credentials = _tls_credentials(config)
    runtime = build_runtime(config)
    loop = asyncio.get_running_loop()

    def keys_changed_elsewhere() -> None:  # called on the listener's thread
        loop.call_soon_threadsafe(runtime.keys_changed)

    listener = None
    if runtime.deps.store.is_postgres:
        runtime.access_cache = AccessCache()
        listener = AccessListener(
            config.database_url,
            runtime.access_cache,
            keys_changed_elsewhere,
        )
        listener.start()
    authenticator = Authenticator(runtime.deps.store, runtime.access_cache)
    server = grpc.aio.server(
        interceptors=[BentoInterceptor(authenticator, config)],
        options=SERVER_OPTIONS,
    )
    names = []
    for pb2, pb2_grpc, name in SERVICES:
        getattr(pb2_grpc, f"add_{name}Servicer_to_server")(SERVICERS[name](runtime), server)
        names.append(pb2.DESCRIPTOR.services_by_name[name].full_name)

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )

    try:
        if credentials is not None:
            port = server.add_secure_port(config.address, credentials)
        else:
            port = server.add_insecure_port(config.address)
    except RuntimeError:  # grpc's "Failed to bind", whatever the cause
        port = 0
    if port == 0:
        hint = " (is --tls-key the private key of --tls-cert?)" if credentials else ""
        raise SystemExit(f"cannot listen on {config.address}{hint}")

    # Handlers go in before anyone can learn the port and send a signal.
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    runtime.feed = EventFeed(
        events.read_tail,
        lambda fn: asyncio.get_running_loop().run_in_executor(runtime.event_reads, fn),
        config.event_poll_interval,
        config.max_streams_per_caller,
        no_longer_valid=authenticator.no_longer_valid,
        credential_interval=config.credential_interval,
    )
    await runtime.feed.start()
    runtime.webhooks = WebhookSender(
        runtime.deps,
        lambda fn: asyncio.get_running_loop().run_in_executor(runtime.executor, fn),
        runtime.feed,
        runtime.events_committed,
        poll_interval=config.event_poll_interval,
    )
    await runtime.webhooks.start()
    if config.metrics_address:
        metrics.serve(config.metrics_address)
    await server.start()
    # What the server made to start (modules, descriptors, stubs, the
    # runtime) lives as long as it does: frozen out of garbage collection,
    # it no longer makes each full collection a pause of tens of
    # milliseconds, which had set the tail of event delivery to 200 streams
    # (p99 about 60 ms on PostgreSQL, 35 ms frozen).
    gc.freeze()
    host = config.address.rsplit(":", 1)[0]
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    # Tests and scripts read this line to learn the port.
    print(f"bento listening on {host}:{port}", flush=True)

    sweeper = None
    if config.scheduler_interval > 0 and not config.test_clock:
        sweeper = asyncio.create_task(
            scheduler.run_forever(
                runtime.deps, config.scheduler_interval, runtime.executor, runtime.events_committed
            )
        )

    await stop.wait()
    log.info("shutting down")
    await health_servicer.enter_graceful_shutdown()
    await runtime.webhooks.close()  # sends under way finish; nothing new is claimed
    await runtime.feed.close()  # open streams end now rather than at the grace's end
    if sweeper is not None:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
    await server.stop(config.shutdown_grace)
    if listener is not None:
        listener.stop()
    runtime.executor.shutdown(wait=True)
    runtime.event_reads.shutdown(wait=True)
    if runtime.writer is not None:
        runtime.writer.close()
    if runtime.deps.loop_reads is not None:
        runtime.deps.loop_reads.close()
    runtime.deps.store.close()
    print("bento stopped", flush=True)
