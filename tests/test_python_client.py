"""bento.client against real servers."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import struct_pb2

from bento.client import BentoError, Client
from bento.v1 import catalog_pb2, subscription_pb2, tenant_pb2
from tests.billing_support import make_shop, subscribe
from tests.support import RunningServer, free_port, start_server, unique


def test_calls_raise_one_error_type_with_reason_and_fields(server: RunningServer) -> None:
    with Client(server.address, credential=server.admin_credential) as bento:
        created = bento.tenants.CreatePlatform(
            tenant_pb2.CreatePlatformRequest(name=unique("client"))
        )
        assert created.platform.platform_id.startswith("PL")
        with pytest.raises(BentoError) as raised:
            bento.tenants.CreatePlatform(tenant_pb2.CreatePlatformRequest(name="", fee_rate=2))
        error = raised.value
        assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument")
        assert set(error.field_violations) == {"name", "fee_rate"}
        with pytest.raises(BentoError) as raised:
            bento.tenants.GetPlatform(tenant_pb2.GetPlatformRequest(platform_id="PL404"))
        assert raised.value.reason == "platform_not_found"
    with (
        Client(server.address, credential="AK1:wrong") as stranger,
        pytest.raises(BentoError) as raised,
    ):
        stranger.tenants.ListApps(tenant_pb2.ListAppsRequest())
    assert raised.value.reason == "unauthenticated"


def test_mutations_carry_idempotency_keys(server: RunningServer) -> None:
    with Client(server.address, credential=server.admin_credential) as bento:
        request = tenant_pb2.CreatePlatformRequest(name=unique("twice"))
        # Without a key of the caller's, every call is its own.
        first = bento.tenants.CreatePlatform(request)
        second = bento.tenants.CreatePlatform(request)
        assert first.platform.platform_id != second.platform.platform_id
        # With one, a retry replays the first answer.
        key = unique("key")
        again = [bento.tenants.CreatePlatform(request, idempotency_key=key) for _ in range(2)]
        assert again[0] == again[1]


def test_pages_walks_a_list_to_its_end(server: RunningServer) -> None:
    with Client(server.address, credential=server.admin_credential) as bento:
        made = {
            bento.tenants.CreateApp(
                tenant_pb2.CreateAppRequest(
                    name=unique("app"), activation_url_template="https://a/{code}"
                )
            ).app.app_id
            for _ in range(5)
        }
        seen = [
            app.app_id
            for app in bento.pages(
                bento.tenants.ListApps, tenant_pb2.ListAppsRequest(page_size=2), "apps"
            )
        ]
        assert made <= set(seen)
        assert len(seen) == len(set(seen))


def test_unavailable_is_retried_until_the_deadline() -> None:
    port = free_port()
    with Client(f"127.0.0.1:{port}", credential="AK1:x", timeout=1.5, retries=3) as bento:
        started = time.monotonic()
        with pytest.raises(BentoError) as raised:
            bento.tenants.ListApps(tenant_pb2.ListAppsRequest())
        assert raised.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        assert time.monotonic() - started >= 0.7  # 0.1 + 0.2 + 0.4 of backoff at least


def test_watch_resumes_after_the_server_restarts(fresh_backend_url: str, tmp_path: Path) -> None:
    address = ("--address", f"127.0.0.1:{free_port()}")
    running = start_server(fresh_backend_url, tmp_path, test_clock=True, extra=address)
    shop = make_shop(running)
    sub_id = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
    received: queue.Queue[object] = queue.Queue()
    bento = Client(running.address, credential=shop.platform.credential)

    def watch() -> None:
        try:
            for event in bento.watch(subscription_id=sub_id):
                received.put(event)
        except Exception as error:  # surfaced below
            received.put(error)

    threading.Thread(target=watch, daemon=True).start()

    def touch(caller: object, n: int) -> None:
        metadata = struct_pb2.Struct()
        metadata.update({"n": n})
        caller.subscriptions.UpdateSubscription(  # type: ignore[attr-defined]
            subscription_pb2.UpdateSubscriptionRequest(subscription_id=sub_id, metadata=metadata)
        )

    writer = Client(running.address, credential=shop.platform.credential)
    try:
        touch(writer, 1)
        got = [received.get(timeout=10) for _ in range(3)]  # created, invoice, update
        running.stop()  # the stream drops with the server
        restarted = start_server(fresh_backend_url, tmp_path, test_clock=True, extra=address)
        try:
            touch(writer, 2)
            touch(writer, 3)
            got += [received.get(timeout=15) for _ in range(2)]
        finally:
            restarted.stop()
    finally:
        writer.close()
        bento.close()
    assert not any(isinstance(e, Exception) for e in got), got
    sequences = [e.sequence for e in got]  # type: ignore[attr-defined]
    assert sequences == sorted(sequences) and len(set(sequences)) == 5
    assert [e.type for e in got] == [  # type: ignore[attr-defined]
        "subscription.created",
        "invoice.created",
        "subscription.updated",
        "subscription.updated",
        "subscription.updated",
    ]


def test_a_call_made_while_the_server_restarts_succeeds_once_it_is_back(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    """Down for longer than the client's backoff between retries: a retry
    waits for the channel to connect again, inside the call's deadline."""
    address = ("--address", f"127.0.0.1:{free_port()}")
    running = start_server(fresh_backend_url, tmp_path, test_clock=True, extra=address)
    shop = make_shop(running)
    outcome: queue.Queue[object] = queue.Queue()
    with Client(running.address, credential=shop.platform.credential, timeout=30) as bento:
        bento.catalog.GetPlan(catalog_pb2.GetPlanRequest(plan_id=shop.plan_id))  # connected
        running.stop()

        def subscribe_while_down() -> None:
            try:
                outcome.put(
                    bento.subscriptions.CreateSubscription(
                        subscription_pb2.CreateSubscriptionRequest(
                            session_id=unique("restart"), plan_id=shop.plan_id
                        )
                    )
                )
            except BentoError as error:
                outcome.put(error)

        caller = threading.Thread(target=subscribe_while_down, daemon=True)
        caller.start()
        time.sleep(2.5)  # longer than every backoff of the retries together (1.5 s)
        restarted = start_server(fresh_backend_url, tmp_path, test_clock=True, extra=address)
        try:
            answer = outcome.get(timeout=30)
        finally:
            restarted.stop()
    assert isinstance(answer, subscription_pb2.CreateSubscriptionResponse), answer
    assert answer.subscription.plan_id == shop.plan_id


def _first_error_of_watch(bento: Client, **request: object) -> BentoError:
    """What ``watch`` raised: it must stop with an error, not reconnect forever."""
    raised: queue.Queue[object] = queue.Queue()

    def watch() -> None:
        try:
            for _ in bento.watch(**request):  # type: ignore[arg-type]
                pass
        except Exception as error:
            raised.put(error)

    threading.Thread(target=watch, daemon=True).start()
    error = raised.get(timeout=15)
    assert isinstance(error, BentoError), error
    return error


def test_watch_stops_with_errors_a_caller_can_act_on(server: RunningServer) -> None:
    shop = make_shop(server)
    with Client(server.address, credential=shop.platform.credential) as bento:
        unknown = _first_error_of_watch(bento, subscription_id="SUB404")
        assert (unknown.code, unknown.reason) == (
            grpc.StatusCode.NOT_FOUND,
            "subscription_not_found",
        )
        ahead = _first_error_of_watch(bento, after_sequence=10**15)
        assert (ahead.code, ahead.reason) == (grpc.StatusCode.OUT_OF_RANGE, "cursor_ahead_of_log")
        assert int(ahead.metadata["newest_sequence"]) < 10**15
    key_id = shop.platform.credential.split(":")[0]
    with Client(server.address, credential=shop.platform.credential) as bento:
        raised: queue.Queue[object] = queue.Queue()

        def watch() -> None:
            try:
                for _ in bento.watch(heartbeats=True):
                    raised.put("open")
            except Exception as error:
                raised.put(error)

        threading.Thread(target=watch, daemon=True).start()
        assert raised.get(timeout=10) == "open"
        shop.admin(shop.admin.tenant.RevokeApiKey, tenant_pb2.RevokeApiKeyRequest(key_id=key_id))
        while (message := raised.get(timeout=10)) == "open":
            pass
        assert isinstance(message, BentoError), message
        assert (message.code, message.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "api_key_revoked",
        )
