"""A Python client for Bento.

    from bento.client import Client
    from bento.v1 import catalog_pb2

    with Client("127.0.0.1:50051", credential="AK...:secret") as bento:
        for plan in bento.pages(bento.catalog.ListPlans, catalog_pb2.ListPlansRequest(), "plans"):
            print(plan.name)

Every service of ``bento.v1`` is an attribute (``tenants``, ``catalog``,
``subscriptions``, ``invoices``, ``payments``, ``activation``,
``entitlements``, ``events``, ``test_clock``, ``webhooks``,
``settlement``); calling one of its methods sends the credential, gives
every mutating call an ``idempotency-key`` (reused by the retries of that
call, so a retry never acts twice), retries UNAVAILABLE with exponential
backoff inside the call's deadline (a retry waits for a restarting server
to be back), and raises ``BentoError`` for every failure.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool

from bento.errors import BentoError
from bento.v1 import (
    activation_pb2_grpc,
    catalog_pb2_grpc,
    entitlement_pb2_grpc,
    event_pb2,
    event_pb2_grpc,
    invoice_pb2_grpc,
    payment_pb2_grpc,
    settlement_pb2_grpc,
    subscription_pb2_grpc,
    tenant_pb2_grpc,
    test_clock_pb2_grpc,
    webhook_pb2_grpc,
)

__all__ = ["BentoError", "Client"]

# gRPC backs off up to two minutes between tries to reach a server that went
# away; a restarted Bento is found again within seconds.
CHANNEL_OPTIONS = [("grpc.max_reconnect_backoff_ms", 5_000)]


def is_mutation(method: descriptor.MethodDescriptor) -> bool:
    """Whether a call of ``method`` changes something and gets a key: the
    protos declare every read ``idempotency_level = NO_SIDE_EFFECTS``."""
    level = method.GetOptions().idempotency_level
    return bool(level != descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS)


class _Service:
    """A service's methods, called through the client's policy."""

    def __init__(self, client: Client, stub: Any, name: str) -> None:
        self._client = client
        self._stub = stub
        self._descriptor = descriptor_pool.Default().FindServiceByName(f"bento.v1.{name}")

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._stub, name)
        mutating = is_mutation(self._descriptor.methods_by_name[name])

        def call(
            request: Any, *, idempotency_key: str | None = None, timeout: float | None = None
        ) -> Any:
            return self._client._unary(method, request, mutating, idempotency_key, timeout)

        call.__name__ = name
        return call


class Client:
    def __init__(
        self,
        address: str,
        *,
        credential: str | None = None,
        key_id: str | None = None,
        secret: str | None = None,
        tls: bool = False,
        root_certificates: bytes | None = None,
        timeout: float = 30.0,
        retries: int = 4,
    ) -> None:
        """Connects to ``address`` ("host:port").

        Credentials are ``credential="KEY_ID:SECRET"`` or ``key_id`` and
        ``secret``. ``tls`` uses the system's roots unless
        ``root_certificates`` (PEM) are given. ``timeout`` is each call's
        deadline in seconds, retries included.
        """
        if credential is None and key_id is not None and secret is not None:
            credential = f"{key_id}:{secret}"
        self._authorization = (
            "Basic " + base64.b64encode(credential.encode()).decode() if credential else None
        )
        if tls:
            creds = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self.channel = grpc.secure_channel(address, creds, options=CHANNEL_OPTIONS)
        else:
            self.channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        self.timeout = timeout
        self.retries = retries
        self.tenants = _Service(
            self, tenant_pb2_grpc.TenantServiceStub(self.channel), "TenantService"
        )
        self.catalog = _Service(
            self, catalog_pb2_grpc.CatalogServiceStub(self.channel), "CatalogService"
        )
        self.subscriptions = _Service(
            self, subscription_pb2_grpc.SubscriptionServiceStub(self.channel), "SubscriptionService"
        )
        self.invoices = _Service(
            self, invoice_pb2_grpc.InvoiceServiceStub(self.channel), "InvoiceService"
        )
        self.payments = _Service(
            self, payment_pb2_grpc.PaymentServiceStub(self.channel), "PaymentService"
        )
        self.activation = _Service(
            self, activation_pb2_grpc.ActivationServiceStub(self.channel), "ActivationService"
        )
        self.entitlements = _Service(
            self, entitlement_pb2_grpc.EntitlementServiceStub(self.channel), "EntitlementService"
        )
        self.events = _Service(self, event_pb2_grpc.EventServiceStub(self.channel), "EventService")
        self.test_clock = _Service(
            self, test_clock_pb2_grpc.TestClockServiceStub(self.channel), "TestClockService"
        )
        self.webhooks = _Service(
            self, webhook_pb2_grpc.WebhookServiceStub(self.channel), "WebhookService"
        )
        self.settlement = _Service(
            self, settlement_pb2_grpc.SettlementServiceStub(self.channel), "SettlementService"
        )
        self._event_stub = event_pb2_grpc.EventServiceStub(self.channel)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def _metadata(self, idempotency_key: str | None) -> list[tuple[str, str]]:
        metadata = []
        if self._authorization:
            metadata.append(("authorization", self._authorization))
        if idempotency_key:
            metadata.append(("idempotency-key", idempotency_key))
        return metadata

    def _unary(
        self,
        method: Any,
        request: Any,
        mutating: bool,
        idempotency_key: str | None,
        timeout: float | None,
    ) -> Any:
        key = idempotency_key or (uuid.uuid4().hex if mutating else None)
        deadline = time.monotonic() + (timeout or self.timeout)
        metadata = self._metadata(key)
        delay = 0.1
        for attempt in range(self.retries + 1):
            left = deadline - time.monotonic()
            try:
                # A retry waits for the channel to be connected again (a
                # restarting server) rather than failing at once while gRPC
                # waits out its reconnect backoff.
                return method(
                    request,
                    metadata=metadata,
                    timeout=max(left, 0.001),
                    wait_for_ready=True if attempt else None,
                )
            except grpc.RpcError as error:
                retry = (
                    error.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
                    and attempt < self.retries
                    and left > delay
                )
                if not retry:
                    raise BentoError.from_rpc_error(error) from None
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def pages(self, method: Callable[..., Any], request: Any, field: str) -> Iterator[Any]:
        """Every item of a List call, page after page: ``field`` names the list
        in the response ("plans", "invoices", ...)."""
        page = type(request)()
        page.CopyFrom(request)
        while True:
            response = method(page)
            yield from getattr(response, field)
            if not response.next_page_token:
                return
            page.page_token = response.next_page_token

    def watch(
        self,
        after_sequence: int = 0,
        types: tuple[str, ...] = (),
        subscription_id: str = "",
        heartbeats: bool = False,
    ) -> Iterator[Any]:
        """Events after ``after_sequence``, then new ones as they commit,
        forever. A dropped stream is reopened from the last sequence seen,
        so nothing is missed or repeated. With ``heartbeats`` the stream's
        heartbeats are yielded too.

        It stops with a ``BentoError`` when reopening cannot help: the key
        was revoked (``api_key_revoked``), the subscription is not the
        caller's (``subscription_not_found``), the cursor is older than
        what the server keeps (``events_pruned``; ``metadata
        ["oldest_sequence"]`` says where to resync from) or beyond its newest
        event (``cursor_ahead_of_log``: a cursor of another database, or
        from before a restore)."""
        cursor = after_sequence
        delay = 0.1
        while True:
            request = event_pb2.WatchEventsRequest(
                after_sequence=cursor, types=list(types), subscription_id=subscription_id
            )
            try:
                for message in self._event_stub.WatchEvents(request, metadata=self._metadata(None)):
                    delay = 0.1
                    if message.HasField("event"):
                        cursor = message.event.sequence
                        yield message.event
                    else:
                        cursor = max(cursor, message.heartbeat.newest_sequence)
                        if heartbeats:
                            yield message.heartbeat
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
                    raise BentoError.from_rpc_error(error) from None
            time.sleep(delay)  # the server closed or went away: reopen
            delay = min(delay * 2, 5.0)
