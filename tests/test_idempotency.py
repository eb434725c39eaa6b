"""idempotency-key: replays, reuse with another request, concurrent duplicates."""

from __future__ import annotations

import threading
import uuid
from functools import partial

import grpc

from bento.v1 import enums_pb2, tenant_pb2
from tests.helpers.paging import every
from tests.support import (
    RunningServer,
    assert_fails,
    make_key,
    make_tenancy,
    product_request,
    unique,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _platform_names(server: RunningServer) -> list[str]:
    admin = server.admin()
    listing = partial(admin, admin.tenant.ListPlatforms)
    return [
        p.name for p in every(listing, tenant_pb2.ListPlatformsRequest(page_size=100), "platforms")
    ]


def test_same_key_and_request_replays_the_first_answer(server: RunningServer) -> None:
    admin = server.admin()
    key = uuid.uuid4().hex
    request = tenant_pb2.CreatePlatformRequest(name=unique("idem"), fee_rate=0.1)
    first = admin(admin.tenant.CreatePlatform, request, key=key)
    second = admin(admin.tenant.CreatePlatform, request, key=key)
    assert second == first
    assert _platform_names(server).count(request.name) == 1


def test_same_key_with_another_request_is_refused(server: RunningServer) -> None:
    admin = server.admin()
    key = uuid.uuid4().hex
    admin(admin.tenant.CreatePlatform, tenant_pb2.CreatePlatformRequest(name=unique("a")), key=key)
    other = tenant_pb2.CreatePlatformRequest(name=unique("b"))
    assert_fails(
        lambda: admin(admin.tenant.CreatePlatform, other, key=key),
        INVALID,
        "idempotency_key_reused",
    )
    assert other.name not in _platform_names(server)


def test_same_key_on_another_method_is_refused(server: RunningServer) -> None:
    admin = server.admin()
    key = uuid.uuid4().hex
    admin(admin.tenant.CreatePlatform, tenant_pb2.CreatePlatformRequest(name=unique("a")), key=key)
    assert_fails(
        lambda: admin(
            admin.tenant.CreateApp,
            tenant_pb2.CreateAppRequest(
                name="x", activation_url_template="https://x.example/{code}"
            ),
            key=key,
        ),
        INVALID,
        "idempotency_key_reused",
    )


def test_keys_belong_to_one_caller(server: RunningServer) -> None:
    t = make_tenancy(server)
    key = uuid.uuid4().hex
    request = product_request(t.app_id)
    mine = t.publisher(t.publisher.catalog.CreateProduct, request, key=key)
    other_admin = server.caller(make_key(t.admin, enums_pb2.ROLE_ADMIN))
    theirs = other_admin(other_admin.catalog.CreateProduct, request, key=key)
    assert theirs.product.product_id != mine.product.product_id


def test_a_failed_call_stores_nothing(server: RunningServer) -> None:
    admin = server.admin()
    key = uuid.uuid4().hex
    bad = tenant_pb2.CreateApiKeyRequest(role=enums_pb2.ROLE_PLATFORM, tenant_id="PL404")
    assert_fails(
        lambda: admin(admin.tenant.CreateApiKey, bad, key=key),
        grpc.StatusCode.NOT_FOUND,
        "platform_not_found",
    )
    # The key is still free: a good request with it goes through.
    created = admin(
        admin.tenant.CreatePlatform, tenant_pb2.CreatePlatformRequest(name=unique("ok")), key=key
    )
    assert created.platform.platform_id


def test_bad_keys_are_refused(server: RunningServer) -> None:
    admin = server.admin()
    for key in ("", "has space", "x" * 256):
        assert_fails(
            lambda: admin(
                admin.tenant.CreatePlatform, tenant_pb2.CreatePlatformRequest(name="n"), key=key
            ),
            INVALID,
            "invalid_argument",
            "idempotency-key",
        )


def test_concurrent_duplicates_do_the_work_once(server: RunningServer) -> None:
    key = uuid.uuid4().hex
    request = tenant_pb2.CreatePlatformRequest(name=unique("race"))
    answers: list[tenant_pb2.CreatePlatformResponse] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(10)

    def create() -> None:
        caller = server.admin()
        barrier.wait()
        try:
            answers.append(caller(caller.tenant.CreatePlatform, request, key=key))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({a.platform.platform_id for a in answers}) == 1
    assert _platform_names(server).count(request.name) == 1
