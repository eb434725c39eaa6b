"""A revoked key's open WatchEvents stream ends with ``api_key_revoked``: on
the server that revoked it at once, and on another server of the same store
within seconds (the store's change announcement on PostgreSQL, the streams'
periodic look at their keys everywhere)."""

from __future__ import annotations

import time
from pathlib import Path

import grpc

from bento.v1 import enums_pb2, tenant_pb2
from tests.billing_support import make_shop, subscribe
from tests.support import RunningServer, failure, make_key, start_server
from tests.test_billing_consistency import events_of
from tests.test_event_stream import Watcher

# The tests allow this much; `make bench` shows the usual delay (about 2 s
# across servers, at once on the revoking one).
ALLOWED_SECONDS = 10.0


def _revoke(server: RunningServer, credential: str) -> None:
    admin = server.admin()
    key_id = credential.split(":", 1)[0]
    admin(admin.tenant.RevokeApiKey, tenant_pb2.RevokeApiKeyRequest(key_id=key_id))


def _ends_revoked(watcher: Watcher) -> list[str]:
    """Reads the stream to its end: the event IDs it still sent, after
    checking that it ended with api_key_revoked within the allowed time."""
    sent: list[str] = []
    deadline = time.monotonic() + ALLOWED_SECONDS

    def drain() -> None:
        while True:
            message = watcher.next(timeout=max(deadline - time.monotonic(), 0.01))
            if message.HasField("event"):
                sent.append(message.event.event_id)

    got = failure(drain)
    assert (got.code, got.reason) == (grpc.StatusCode.UNAUTHENTICATED, "api_key_revoked"), got
    return sent


def test_a_revoked_keys_open_stream_ends_and_sees_nothing_after(server: RunningServer) -> None:
    shop = make_shop(server)
    credential = make_key(shop.admin, enums_pb2.ROLE_PLATFORM, shop.tenancy.platform_id)
    watcher = Watcher(server.caller(credential))
    try:
        watcher.events_until_heartbeat()
        before = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
        assert {e.subscription_id for e in watcher.events(1)} == {before}
        _revoke(server, credential)
        # Written after the revocation answered: never sent on the revoked stream.
        after = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
        written_after = {e.event_id for e in events_of(shop.admin, after)}
        assert written_after
        assert not set(_ends_revoked(watcher)) & written_after
    finally:
        watcher.close()


def test_another_keys_stream_goes_on(server: RunningServer) -> None:
    shop = make_shop(server)
    doomed = make_key(shop.admin, enums_pb2.ROLE_PLATFORM, shop.tenancy.platform_id)
    gone = Watcher(server.caller(doomed))
    kept = Watcher(shop.platform)
    try:
        gone.events_until_heartbeat()
        kept.events_until_heartbeat()
        _revoke(server, doomed)
        _ends_revoked(gone)
        sub_id = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
        assert {e.subscription_id for e in kept.events(1)} == {sub_id}
    finally:
        gone.close()
        kept.close()


def test_a_stream_on_another_server_ends_when_the_key_is_revoked(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    first = start_server(fresh_backend_url, tmp_path, test_clock=True)
    second = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        shop = make_shop(first)
        credential = make_key(shop.admin, enums_pb2.ROLE_PLATFORM, shop.tenancy.platform_id)
        watcher = Watcher(second.caller(credential))
        try:
            watcher.events_until_heartbeat()
            started = time.monotonic()
            _revoke(first, credential)
            _ends_revoked(watcher)
            assert time.monotonic() - started < ALLOWED_SECONDS
        finally:
            watcher.close()
    finally:
        first.stop()
        second.stop()
