"""Webhook endpoints over the wire: who owns them, which URLs they may have,
their secrets (shown once, sealed at rest, never logged), updates, deletion
and lists.

Endpoints made on the session's shared server go to `https://` URLs on
names that never resolve (`.invalid`), and each test deletes what it made,
so no other test's events are sent anywhere.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import psycopg2
import pytest
from cryptography.fernet import Fernet
from google.protobuf import field_mask_pb2

from bento.v1 import event_pb2, event_pb2_grpc, webhook_pb2, webhook_pb2_grpc
from tests.billing_support import make_shop, pay, subscribe
from tests.helpers.paging import every, pages
from tests.support import (
    TEST_SECRET_KEY,
    Caller,
    RunningServer,
    assert_fails,
    handed_out,
    make_tenancy,
    start_server,
    unique,
)
from tests.test_secrets import start_loud_server

pb = webhook_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
GONE = "webhook_endpoint_not_found"
SECRET = re.compile(r"^whsec_([A-Za-z0-9+/]+={0,2})$")


def hooks(caller: Caller) -> webhook_pb2_grpc.WebhookServiceStub:
    return webhook_pb2_grpc.WebhookServiceStub(caller.channel)


def public_url() -> str:
    """An https URL to a public-looking name that never resolves."""
    return f"https://{unique('hooks')}.invalid/bento"


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


class Endpoints:
    """Makes endpoints as a caller and deletes every one at the end."""

    def __init__(self, admin: Caller) -> None:
        self.admin = admin
        self.made: list[str] = []

    def create(
        self, caller: Caller, key: str | None = None, **fields: object
    ) -> pb.CreateWebhookEndpointResponse:
        fields.setdefault("url", public_url())
        created = caller(
            hooks(caller).CreateWebhookEndpoint,
            pb.CreateWebhookEndpointRequest(**fields),  # type: ignore[arg-type]
            key=key,
        )
        self.made.append(created.endpoint.endpoint_id)
        if created.secret:
            handed_out(created.secret)
        return created

    def clean(self) -> None:
        for endpoint_id in self.made:
            try:
                self.admin(
                    hooks(self.admin).DeleteWebhookEndpoint,
                    pb.DeleteWebhookEndpointRequest(endpoint_id=endpoint_id),
                )
            except grpc.RpcError as error:
                assert error.code() == NOT_FOUND, error


@pytest.fixture
def endpoints(server: RunningServer) -> Iterator[Endpoints]:
    made = Endpoints(server.admin())
    try:
        yield made
    finally:
        made.clean()


def get(caller: Caller, endpoint_id: str) -> pb.WebhookEndpoint:
    return caller(
        hooks(caller).GetWebhookEndpoint, pb.GetWebhookEndpointRequest(endpoint_id=endpoint_id)
    ).endpoint


def listed(caller: Caller, page_size: int = 100) -> list[pb.WebhookEndpoint]:
    """Every endpoint the caller's list holds, page after page."""
    request = pb.ListWebhookEndpointsRequest(page_size=page_size)
    return every(partial(caller, hooks(caller).ListWebhookEndpoints), request, "endpoints")


def update(
    caller: Caller, endpoint: pb.WebhookEndpoint, *paths: str, key: str | None = None
) -> pb.WebhookEndpoint:
    return caller(
        hooks(caller).UpdateWebhookEndpoint,
        pb.UpdateWebhookEndpointRequest(endpoint=endpoint, update_mask=mask(*paths)),
        key=key,
    ).endpoint


def rotate(
    caller: Caller, endpoint_id: str, key: str | None = None
) -> pb.RotateWebhookSecretResponse:
    rotated = caller(
        hooks(caller).RotateWebhookSecret,
        pb.RotateWebhookSecretRequest(endpoint_id=endpoint_id),
        key=key,
    )
    if rotated.secret:
        handed_out(rotated.secret)
    return rotated


def delete(caller: Caller, endpoint_id: str) -> pb.WebhookEndpoint:
    return caller(
        hooks(caller).DeleteWebhookEndpoint,
        pb.DeleteWebhookEndpointRequest(endpoint_id=endpoint_id),
    ).endpoint


def assert_secret(secret: str) -> bytes:
    """A Standard Webhooks secret: `whsec_` and the base64 of 24+ random bytes."""
    found = SECRET.match(secret)
    assert found, secret
    raw = base64.b64decode(found.group(1))
    assert len(raw) >= 24
    return raw


# --- ownership ------------------------------------------------------------------------


def test_each_key_owns_its_tenants_endpoints(server: RunningServer, endpoints: Endpoints) -> None:
    t = make_tenancy(server)
    admin = t.admin
    mine = endpoints.create(t.platform, description="the platform's").endpoint
    app = endpoints.create(t.publisher).endpoint
    # Naming its own tenant is the same as naming none.
    also_app = endpoints.create(t.publisher, tenant_id=t.app_id).endpoint
    # An admin makes them for any platform or app, or for itself.
    for_platform = endpoints.create(admin, tenant_id=t.other_platform_id).endpoint
    for_app = endpoints.create(admin, tenant_id=t.other_app_id).endpoint
    own = endpoints.create(admin).endpoint
    assert (mine.tenant_id, app.tenant_id, also_app.tenant_id) == (
        t.platform_id,
        t.app_id,
        t.app_id,
    )
    assert (for_platform.tenant_id, for_app.tenant_id, own.tenant_id) == (
        t.other_platform_id,
        t.other_app_id,
        "",
    )
    assert mine.description == "the platform's" and not mine.disabled
    assert all(e.endpoint_id.startswith("WH") for e in (mine, app, for_platform, for_app, own))

    owners = {
        "platform": (t.platform, [mine]),
        "other platform": (t.other_platform, [for_platform]),
        "publisher": (t.publisher, [app, also_app]),
        "other publisher": (t.other_publisher, [for_app]),
    }
    everything = [mine, app, also_app, for_platform, for_app, own]
    for who, (caller, owned) in owners.items():
        # Its list holds exactly its own, oldest first.
        assert [e.endpoint_id for e in listed(caller)] == [e.endpoint_id for e in owned], who
        for endpoint in owned:
            assert get(caller, endpoint.endpoint_id) == endpoint, who
        # Everyone else's is NOT_FOUND, to every RPC that names one.
        for endpoint in everything:
            if endpoint in owned:
                continue
            endpoint_id = endpoint.endpoint_id
            h = hooks(caller)
            calls = [
                lambda: get(caller, endpoint_id),
                lambda: update(
                    caller,
                    pb.WebhookEndpoint(endpoint_id=endpoint_id, description="mine now"),
                    "description",
                ),
                lambda: update(
                    caller, pb.WebhookEndpoint(endpoint_id=endpoint_id, disabled=True), "disabled"
                ),
                lambda: rotate(caller, endpoint_id),
                lambda: delete(caller, endpoint_id),
                lambda: caller(
                    h.GetWebhookEndpoint, pb.GetWebhookEndpointRequest(endpoint_id="WH0")
                ),
            ]
            for call in calls:
                got = assert_fails(call, NOT_FOUND, GONE)
                assert t.platform_id not in got.message and t.app_id not in got.message
    # The admin sees and reads every one.
    admin_list = [e.endpoint_id for e in listed(admin)]
    for endpoint in everything:
        assert endpoint.endpoint_id in admin_list
        assert get(admin, endpoint.endpoint_id) == endpoint
    # Refused calls changed nothing.
    for endpoint in everything:
        assert get(admin, endpoint.endpoint_id) == endpoint


def test_only_admins_choose_the_tenant(server: RunningServer, endpoints: Endpoints) -> None:
    t = make_tenancy(server)
    for caller, other in (
        (t.platform, t.other_platform_id),
        (t.platform, t.app_id),
        (t.publisher, t.other_app_id),
        (t.publisher, t.platform_id),
    ):
        assert_fails(
            lambda: endpoints.create(caller, tenant_id=other),
            INVALID,
            "invalid_argument",
            "tenant_id",
        )
    admin = t.admin
    assert_fails(
        lambda: endpoints.create(admin, tenant_id="PL0000000000000000001"),
        NOT_FOUND,
        "platform_not_found",
    )
    assert_fails(
        lambda: endpoints.create(admin, tenant_id="AP0000000000000000001"),
        NOT_FOUND,
        "app_not_found",
    )
    assert_fails(
        lambda: endpoints.create(admin, tenant_id="nothing"), NOT_FOUND, "platform_not_found"
    )
    assert listed(t.platform) == [] and listed(t.publisher) == []


# --- URLs ------------------------------------------------------------------------------

PRIVATE_URLS = [
    "http://127.0.0.1:8080/hook",
    "https://127.0.0.1/hook",
    "https://10.0.0.1/hook",
    "https://localhost/hook",
    "https://[::1]/hook",
    "https://169.254.1.1/hook",
    "http://hooks.invalid/plain",
]


def test_private_and_plain_urls_are_refused(server: RunningServer, endpoints: Endpoints) -> None:
    # The session's server runs without --webhooks-allow-private.
    t = make_tenancy(server)
    kept = endpoints.create(t.platform).endpoint
    bad = [
        *PRIVATE_URLS,
        "ftp://hooks.invalid/x",
        "https://user:pw@hooks.invalid/x",
        "not a url",
        "",
    ]
    for url in bad:
        assert_fails(
            lambda: endpoints.create(t.platform, url=url), INVALID, "invalid_argument", "url"
        )
        assert_fails(
            lambda: update(
                t.platform, pb.WebhookEndpoint(endpoint_id=kept.endpoint_id, url=url), "url"
            ),
            INVALID,
            "invalid_argument",
            "endpoint.url",
        )
    assert [e.endpoint_id for e in listed(t.platform)] == [kept.endpoint_id]
    assert get(t.platform, kept.endpoint_id) == kept


def test_private_urls_with_the_flag(fresh_backend_url: str, tmp_path: Path) -> None:
    running = start_server(fresh_backend_url, tmp_path, extra=("--webhooks-allow-private",))
    try:
        admin = running.admin()
        made = Endpoints(admin)
        for url in PRIVATE_URLS:
            assert made.create(admin, url=url).endpoint.url == url
        endpoint = made.create(admin).endpoint
        moved = update(
            admin, pb.WebhookEndpoint(endpoint_id=endpoint.endpoint_id, url=PRIVATE_URLS[0]), "url"
        )
        assert moved.url == PRIVATE_URLS[0]
        # Still a URL, and still one a webhook can be POSTed to.
        for url in ("ftp://127.0.0.1/x", "http://user:pw@127.0.0.1/x", "not a url"):
            assert_fails(lambda: made.create(admin, url=url), INVALID, "invalid_argument", "url")
    finally:
        running.stop()


# --- secrets ---------------------------------------------------------------------------


def test_the_secret_is_shown_once(server: RunningServer, endpoints: Endpoints) -> None:
    t = make_tenancy(server)
    p = t.platform
    key = unique("create")
    created = endpoints.create(p, key=key, url=public_url())
    first = assert_secret(created.secret)
    endpoint = created.endpoint
    assert endpoint.HasField("secret_created_at") and not endpoint.HasField(
        "previous_secret_expires_at"
    )
    # The replay names the same endpoint, without its secret.
    replay = p(
        hooks(p).CreateWebhookEndpoint,
        pb.CreateWebhookEndpointRequest(url=endpoint.url),
        key=key,
    )
    assert replay.endpoint == endpoint and replay.secret == ""
    assert [e.endpoint_id for e in listed(p)] == [endpoint.endpoint_id]
    # Reads never hold it.
    assert created.secret not in str(get(p, endpoint.endpoint_id))
    assert created.secret not in str(listed(p))

    rotate_key = unique("rotate")
    rotated = rotate(p, endpoint.endpoint_id, key=rotate_key)
    second = assert_secret(rotated.secret)
    assert rotated.secret != created.secret and second != first
    now = rotated.endpoint
    assert now.secret_created_at.ToDatetime() >= endpoint.secret_created_at.ToDatetime()
    assert now.previous_secret_expires_at.ToDatetime() - now.secret_created_at.ToDatetime() == (
        timedelta(hours=24)
    )
    # Its replay rotates nothing again and hands out nothing.
    again = rotate(p, endpoint.endpoint_id, key=rotate_key)
    assert again.secret == "" and again.endpoint == now
    assert get(p, endpoint.endpoint_id) == now
    for secret in (created.secret, rotated.secret):
        assert secret not in str(get(p, endpoint.endpoint_id)) + str(listed(p))


def database_bytes(database_url: str) -> bytes:
    """The SQLite files' raw bytes, or every column of every row of the
    PostgreSQL webhook_endpoint table."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return b"\n".join(f.read_bytes() for f in files if f.exists())
    chunks: list[bytes] = []
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT * FROM webhook_endpoint")
        for row in cursor.fetchall():
            for value in row:
                if isinstance(value, memoryview | bytes):
                    chunks.append(bytes(value))
                elif value is not None:
                    chunks.append(str(value).encode())
    connection.close()
    return b"\n".join(chunks)


def sealed_secrets(database_url: str) -> dict[str, tuple[str, str | None, int]]:
    """endpoint ID -> (secret_sealed, previous_secret_sealed, cursor), as stored."""
    connection: Any
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    else:
        connection = psycopg2.connect(database_url)
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT id, secret_sealed, previous_secret_sealed, cursor FROM webhook_endpoint"
        )
        return {row[0]: (row[1], row[2], row[3]) for row in cursor.fetchall()}
    finally:
        connection.close()


def sealing_key(database_url: str) -> bytes:
    if database_url.startswith("sqlite"):
        return Path(database_url.removeprefix("sqlite:///") + ".key").read_bytes().strip()
    return TEST_SECRET_KEY.encode()


def test_secrets_are_sealed_at_rest_and_never_logged(
    fresh_backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Debug logging, the access log of every call, metrics, and its stdout
    # kept: every place a secret could slip out to.
    # PostgreSQL servers are given the sealing key (start_server's); a
    # SQLite server makes a key file beside its database.
    if fresh_backend_url.startswith("postgresql"):
        monkeypatch.setenv("BENTO_SECRET_KEY", TEST_SECRET_KEY)
    else:
        monkeypatch.delenv("BENTO_SECRET_KEY", raising=False)
    loud = start_loud_server(fresh_backend_url, tmp_path)
    running = loud.running
    try:
        shop = make_shop(running)
        p = shop.platform
        # Events before the endpoint: it starts after them.
        created = subscribe(p, shop.plan_id)
        pay(
            p,
            created.subscription.subscription_id,
            created.invoice.invoice_id,
            created.invoice.amounts.total_amount,
        )
        head = max(
            e.sequence
            for e in shop.admin(
                event_pb2_grpc.EventServiceStub(shop.admin.channel).ListEvents,
                event_pb2.ListEventsRequest(page_size=100),
            ).events
        )
        made = Endpoints(shop.admin)
        create_key, rotate_key = unique("create"), unique("rotate")
        url = public_url()
        first = made.create(p, key=create_key, url=url)
        endpoint_id = first.endpoint.endpoint_id
        assert made.create(p, key=create_key, url=url).secret == ""  # its replay
        rotated = rotate(p, endpoint_id, key=rotate_key)
        rotate(p, endpoint_id, key=rotate_key)
        get(p, endpoint_id)
        listed(p)
        update(p, pb.WebhookEndpoint(endpoint_id=endpoint_id, disabled=True), "disabled")
        secrets = [first.secret, rotated.secret]

        stored = database_bytes(fresh_backend_url)
        for secret in secrets:
            raw = assert_secret(secret)
            for form in (secret.encode(), secret.removeprefix("whsec_").encode(), raw):
                assert form not in stored, "a webhook secret is stored in plain text"
        # What is stored instead opens, with the sealing key, to the secrets
        # answered: the search looked in the right place.
        sealed, previous, cursor = sealed_secrets(fresh_backend_url)[endpoint_id]
        assert sealed.encode() in stored and previous is not None
        box = Fernet(sealing_key(fresh_backend_url))
        opened = [box.decrypt(previous.encode()).decode(), box.decrypt(sealed.encode()).decode()]
        assert opened == secrets
        assert cursor == head
        metrics = loud.metrics()
    finally:
        loud.stop()
    log = running.log()
    assert "RotateWebhookSecret" in log, "the access log names every call"
    for place in (log, "".join(loud.stdout), metrics):
        for secret in secrets:
            assert secret not in place
            assert secret.removeprefix("whsec_") not in place


# --- updates -----------------------------------------------------------------------------


def test_update_changes_what_the_mask_names(server: RunningServer, endpoints: Endpoints) -> None:
    t = make_tenancy(server)
    p = t.publisher
    created = endpoints.create(
        p, description="first", event_types=["subscription.created"]
    ).endpoint
    endpoint_id = created.endpoint_id

    # Only what the mask names changes, whatever else the message holds.
    new_url = public_url()
    changed = update(
        p,
        pb.WebhookEndpoint(
            endpoint_id=endpoint_id, url=new_url, description="second", disabled=True
        ),
        "description",
    )
    assert changed.description == "second"
    assert (changed.url, changed.disabled, list(changed.event_types)) == (
        created.url,
        False,
        ["subscription.created"],
    )
    assert changed.updated_at.ToDatetime() >= created.updated_at.ToDatetime()
    assert changed.created_at == created.created_at
    assert changed.secret_created_at == created.secret_created_at

    changed = update(
        p,
        pb.WebhookEndpoint(
            endpoint_id=endpoint_id,
            url=new_url,
            event_types=["activation.session.created", "subscription.activated"],
        ),
        "url",
        "event_types",
    )
    assert changed.url == new_url
    assert list(changed.event_types) == ["activation.session.created", "subscription.activated"]
    assert changed.description == "second"
    # An empty list: every type its owner may see.
    changed = update(p, pb.WebhookEndpoint(endpoint_id=endpoint_id), "event_types", "description")
    assert list(changed.event_types) == [] and changed.description == ""

    # Disabled by its owner, then enabled again.
    off = update(p, pb.WebhookEndpoint(endpoint_id=endpoint_id, disabled=True), "disabled")
    assert off.disabled and off.disabled_reason == "by_owner"
    assert get(p, endpoint_id) == off
    on = update(p, pb.WebhookEndpoint(endpoint_id=endpoint_id, disabled=False), "disabled")
    assert not on.disabled and on.disabled_reason == ""
    assert get(p, endpoint_id) == on

    # A mask that is empty or names anything else changes nothing.
    for paths in ((), ("tenant_id",), ("secret_created_at",), ("url", "nothing"), ("endpoint_id",)):
        assert_fails(
            lambda: update(
                p, pb.WebhookEndpoint(endpoint_id=endpoint_id, url=public_url()), *paths
            ),
            INVALID,
            "invalid_argument",
            "update_mask",
        )
    # Bad values of masked fields name them.
    bad = [
        ("event_types", pb.WebhookEndpoint(event_types=["subscription.nothing"])),
        ("event_types", pb.WebhookEndpoint(event_types=["subscription.created"] * 2)),
        ("description", pb.WebhookEndpoint(description="x" * 201)),
        ("url", pb.WebhookEndpoint(url="http://hooks.invalid/x")),
    ]
    for path, values in bad:
        values.endpoint_id = endpoint_id
        assert_fails(
            lambda: update(p, values, path), INVALID, "invalid_argument", f"endpoint.{path}"
        )
    assert_fails(
        lambda: update(p, pb.WebhookEndpoint(), "description"),
        INVALID,
        "invalid_argument",
        "endpoint.endpoint_id",
    )
    assert get(p, endpoint_id) == on


def test_create_checks_its_fields(server: RunningServer, endpoints: Endpoints) -> None:
    t = make_tenancy(server)
    p = t.platform
    for fields, field in (
        ({"event_types": ["invoice.nothing"]}, "event_types"),
        ({"event_types": ["invoice.paid", "invoice.paid"]}, "event_types"),
        ({"description": "x" * 201}, "description"),
        ({"url": "https://hooks.invalid/" + "x" * 2000}, "url"),
    ):
        assert_fails(lambda: endpoints.create(p, **fields), INVALID, "invalid_argument", field)
    made = endpoints.create(
        p, description="y" * 200, event_types=["invoice.paid", "payment.succeeded"]
    ).endpoint
    assert made.description == "y" * 200
    assert list(made.event_types) == ["invoice.paid", "payment.succeeded"]
    assert [e.endpoint_id for e in listed(p)] == [made.endpoint_id]


# --- deletion and lists -------------------------------------------------------------------


def test_delete(server: RunningServer, endpoints: Endpoints) -> None:
    t = make_tenancy(server)
    p = t.platform
    kept = endpoints.create(p).endpoint
    doomed = endpoints.create(p, description="doomed").endpoint
    doomed = update(
        p, pb.WebhookEndpoint(endpoint_id=doomed.endpoint_id, disabled=True), "disabled"
    )
    assert delete(p, doomed.endpoint_id) == doomed
    for call in (
        lambda: get(p, doomed.endpoint_id),
        lambda: delete(p, doomed.endpoint_id),
        lambda: rotate(p, doomed.endpoint_id),
        lambda: get(t.admin, doomed.endpoint_id),
    ):
        assert_fails(call, NOT_FOUND, GONE)
    assert [e.endpoint_id for e in listed(p)] == [kept.endpoint_id]
    assert doomed.endpoint_id not in [e.endpoint_id for e in listed(t.admin)]
    assert get(p, kept.endpoint_id) == kept


def test_lists_are_paged_oldest_first(server: RunningServer, endpoints: Endpoints) -> None:
    t = make_tenancy(server)
    p = t.platform
    made = [endpoints.create(p, description=f"n{i}").endpoint.endpoint_id for i in range(7)]
    endpoints.create(t.other_platform)
    endpoints.create(t.publisher)
    request = pb.ListWebhookEndpointsRequest(page_size=3)
    paged = [
        [e.endpoint_id for e in page.endpoints]
        for page in pages(partial(p, hooks(p).ListWebhookEndpoints), request)
    ]
    assert paged == [made[0:3], made[3:6], made[6:7]]
    assert [e.endpoint_id for e in listed(p, page_size=0)] == made
    assert [e.endpoint_id for e in listed(p, page_size=1000)] == made
    first = p(hooks(p).ListWebhookEndpoints, pb.ListWebhookEndpointsRequest(page_size=3))
    # A token is good only for the list that gave it.
    assert_fails(
        lambda: t.other_platform(
            hooks(t.other_platform).ListWebhookEndpoints,
            pb.ListWebhookEndpointsRequest(page_size=3, page_token=first.next_page_token),
        ),
        INVALID,
        "invalid_page_token",
        "page_token",
    )
    for token in ("garbage", "x" * 2000):
        assert_fails(
            lambda: p(
                hooks(p).ListWebhookEndpoints,
                pb.ListWebhookEndpointsRequest(page_token=token),
            ),
            INVALID,
            "invalid_page_token",
            "page_token",
        )
    assert_fails(
        lambda: p(hooks(p).ListWebhookEndpoints, pb.ListWebhookEndpointsRequest(page_size=-1)),
        INVALID,
        "invalid_argument",
        "page_size",
    )


# --- what an endpoint's life means for what it is sent -----------------------------------


class Collector(BaseHTTPRequestHandler):
    """Keeps the JSON body of every POST and answers 204."""

    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.bodies.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[ThreadingHTTPServer]:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    receiver.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.shutdown()
        receiver.server_close()


def sequences(receiver: ThreadingHTTPServer, at_least: int, timeout: float = 30) -> list[int]:
    """The sequences of the events received, once there are ``at_least``."""
    give_up = time.monotonic() + timeout
    while True:
        got = sorted({int(body["sequence"]) for body in receiver.bodies})  # type: ignore[attr-defined]
        if len(got) >= at_least:
            return got
        assert time.monotonic() < give_up, f"received only {got}"
        time.sleep(0.05)


def platform_sequences(caller: Caller) -> list[int]:
    events = caller(
        event_pb2_grpc.EventServiceStub(caller.channel).ListEvents,
        event_pb2.ListEventsRequest(page_size=100),
    ).events
    return [e.sequence for e in events]


def delivery_rows(database_url: str, endpoint_id: str) -> int:
    if database_url.startswith("sqlite"):
        connection: Any = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        query = "SELECT COUNT(*) FROM webhook_delivery WHERE endpoint_id = ?"
    else:
        connection = psycopg2.connect(database_url)
        query = "SELECT COUNT(*) FROM webhook_delivery WHERE endpoint_id = %s"
    try:
        cursor = connection.cursor()
        cursor.execute(query, (endpoint_id,))
        return int(cursor.fetchone()[0])
    finally:
        connection.close()


def test_an_endpoint_is_sent_what_follows_it_while_enabled_until_deleted(
    fresh_backend_url: str, tmp_path: Path, collector: ThreadingHTTPServer
) -> None:
    running = start_server(fresh_backend_url, tmp_path, extra=("--webhooks-allow-private",))
    try:
        shop = make_shop(running)
        p = shop.platform
        subscribe(p, shop.plan_id)
        before = platform_sequences(p)
        host, port = collector.server_address[:2]
        made = Endpoints(shop.admin)
        endpoint = made.create(p, url=f"http://{host}:{port}/hook").endpoint
        endpoint_id = endpoint.endpoint_id

        # What happened before it is not sent; what follows is.
        subscribe(p, shop.plan_id)
        first = [s for s in platform_sequences(p) if s > max(before)]
        assert first and sequences(collector, len(first)) == first

        # Disabled by its owner it is sent nothing; enabled again, it is
        # sent what it missed.
        update(p, pb.WebhookEndpoint(endpoint_id=endpoint_id, disabled=True), "disabled")
        subscribe(p, shop.plan_id)
        missed = [s for s in platform_sequences(p) if s > max(first)]
        time.sleep(1.5)
        assert sequences(collector, 0) == first
        update(p, pb.WebhookEndpoint(endpoint_id=endpoint_id, disabled=False), "disabled")
        assert sequences(collector, len(first) + len(missed)) == first + missed

        # Deleted, it takes its deliveries with it.
        assert delivery_rows(fresh_backend_url, endpoint_id) == len(first) + len(missed)
        assert delete(p, endpoint_id).endpoint_id == endpoint_id
        assert delivery_rows(fresh_backend_url, endpoint_id) == 0
        assert_fails(
            lambda: p(
                hooks(p).ListWebhookDeliveries,
                pb.ListWebhookDeliveriesRequest(endpoint_id=endpoint_id),
            ),
            NOT_FOUND,
            GONE,
        )
        subscribe(p, shop.plan_id)
        time.sleep(1)
        assert sequences(collector, 0) == first + missed
    finally:
        running.stop()
