"""Access answers stay fresh across servers: on PostgreSQL each server
remembers answers until a change is announced (LISTEN/NOTIFY); these tests
make a change through one server and ask another."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from bento.v1 import entitlement_pb2, entitlement_pb2_grpc, subscription_pb2, tenant_pb2
from bento_server.store.database import open_database
from tests.billing_support import make_shop, pay, subscribe
from tests.support import Caller, failure, start_server


def eventually(predicate: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def allowed(caller: Caller, session_id: str, product_id: str) -> bool:
    stub = entitlement_pb2_grpc.EntitlementServiceStub(caller.channel)
    return stub.CheckAccess(
        entitlement_pb2.CheckAccessRequest(session_id=session_id, product_id=product_id),
        metadata=caller.metadata(),
        timeout=10,
    ).allowed


def test_a_change_on_one_server_reaches_checks_on_another(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    writer = start_server(fresh_backend_url, tmp_path, test_clock=True)
    reader = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        shop = make_shop(writer)
        p = shop.platform
        other = reader.caller(p.credential)
        created = subscribe(p, shop.plan_id)
        sub = created.subscription
        # Asked (and remembered) before the payment ...
        assert not allowed(other, sub.session_id, shop.product_id)
        assert not allowed(other, sub.session_id, shop.product_id)
        pay(
            p, sub.subscription_id, created.invoice.invoice_id, created.invoice.amounts.total_amount
        )
        # ... and granted on the other server once the payment is announced.
        assert eventually(lambda: allowed(other, sub.session_id, shop.product_id))
        p(
            p.subscriptions.CancelSubscription,
            subscription_pb2.CancelSubscriptionRequest(
                subscription_id=sub.subscription_id, cancel_now=True
            ),
        )
        assert eventually(lambda: not allowed(other, sub.session_id, shop.product_id))
        # The writer's own server never answers from before its own write.
        assert not allowed(p, sub.session_id, shop.product_id)
    finally:
        writer.stop()
        reader.stop()


def test_a_revoked_key_stops_working_on_every_server(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    first = start_server(fresh_backend_url, tmp_path, test_clock=True)
    second = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        shop = make_shop(first)
        other = second.caller(shop.platform.credential)
        assert not allowed(other, "nobody", shop.product_id)  # the key works, and is remembered
        key_id = shop.platform.credential.split(":")[0]
        shop.admin(shop.admin.tenant.RevokeApiKey, tenant_pb2.RevokeApiKeyRequest(key_id=key_id))

        def refused() -> bool:
            try:
                allowed(other, "nobody", shop.product_id)
            except grpc.RpcError:
                return True
            return False

        assert eventually(refused)
        got = failure(lambda: allowed(other, "nobody", shop.product_id))
        assert (got.code, got.reason) == (grpc.StatusCode.UNAUTHENTICATED, "api_key_revoked")
    finally:
        first.stop()
        second.stop()


def test_the_server_survives_the_database_dropping_its_connections(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    """As after a database restart or failover: every connection is replaced
    on its next use. The batched access read, a statement prepared on its
    connection, is prepared again rather than failing every check."""
    if not fresh_backend_url.startswith("postgresql"):
        pytest.skip("connections a database can drop: PostgreSQL only")
    server = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        shop = make_shop(server)
        p = shop.platform
        created = subscribe(p, shop.plan_id)
        sub = created.subscription
        pay(
            p, sub.subscription_id, created.invoice.invoice_id, created.invoice.amounts.total_amount
        )
        assert allowed(p, sub.session_id, shop.product_id)
        db = open_database(fresh_backend_url)
        try:
            dropped = db.execute_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                # Not an autovacuum worker: only a superuser may end one.
                "AND backend_type = 'client backend'"
            ).fetchone()[0]
        finally:
            db.close()
        assert dropped >= 2  # the server's connections: at least the checks' and the listener's
        # Reads on fresh connections; answers as before, for users asked and new.
        assert allowed(p, sub.session_id, shop.product_id)
        assert not allowed(p, "nobody", shop.product_id)
        # And the other threads' connections are replaced too: writes go on.
        for _ in range(8):
            later = subscribe(p, shop.plan_id)
            assert later.invoice.amounts.total_amount > 0
    finally:
        server.stop()
