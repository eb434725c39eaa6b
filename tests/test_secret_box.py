"""The key that seals webhook secrets: made beside a SQLite database with
mode 0600 and kept across restarts, required from the environment on
PostgreSQL, refused when malformed."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import grpc
import pytest

from bento.v1 import webhook_pb2, webhook_pb2_grpc
from tests.support import BENTO, Caller, assert_fails, free_port, start_server


def _hooks(caller: Caller) -> webhook_pb2_grpc.WebhookServiceStub:
    return webhook_pb2_grpc.WebhookServiceStub(caller.channel)


def _create(caller: Caller, url: str) -> webhook_pb2.CreateWebhookEndpointResponse:
    return caller(
        _hooks(caller).CreateWebhookEndpoint, webhook_pb2.CreateWebhookEndpointRequest(url=url)
    )


def test_a_sqlite_server_makes_its_key_beside_the_database_and_keeps_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/hooks.db"
    key_file = tmp_path / "hooks.db.key"
    first = start_server(
        url, tmp_path, extra=("--webhooks-allow-private",), env_without=("BENTO_SECRET_KEY",)
    )
    try:
        assert key_file.exists()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_bytes()
        made = _create(first.admin(), f"http://127.0.0.1:{free_port()}/hooks")
    finally:
        first.stop()
    # The database holds only what the key seals: without the key the
    # secret is unreadable, and a restart must find the same key.
    assert made.secret.encode() not in (tmp_path / "hooks.db").read_bytes()
    second = start_server(
        url, tmp_path, extra=("--webhooks-allow-private",), env_without=("BENTO_SECRET_KEY",)
    )
    try:
        assert key_file.read_bytes() == key
        admin = second.admin()
        # Signing opens the sealed secret: it answers what the (closed) port did.
        sent = admin(
            _hooks(admin).SendTestWebhook,
            webhook_pb2.SendTestWebhookRequest(endpoint_id=made.endpoint.endpoint_id),
        )
        assert not sent.delivered and sent.error
    finally:
        second.stop()


def test_postgresql_without_a_key_refuses_endpoints_and_serves_the_rest(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    if not fresh_backend_url.startswith("postgresql"):
        pytest.skip("a SQLite server makes its own key")
    server = start_server(
        fresh_backend_url,
        tmp_path,
        extra=("--webhooks-allow-private",),
        env_without=("BENTO_SECRET_KEY",),
    )
    try:
        admin = server.admin()
        failed = assert_fails(
            lambda: _create(admin, "http://127.0.0.1:9/hooks"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "secret_key_missing",
        )
        assert "BENTO_SECRET_KEY" in failed.message
        listed = admin(
            _hooks(admin).ListWebhookEndpoints, webhook_pb2.ListWebhookEndpointsRequest()
        )
        assert list(listed.endpoints) == []
    finally:
        server.stop()


def test_a_malformed_key_stops_the_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [BENTO, "serve", "--address", "127.0.0.1:0", "--database", f"sqlite:///{tmp_path}/x.db"],
        env={**os.environ, "BENTO_SECRET_KEY": "not-a-fernet-key"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "bento listening" not in done.stdout
    assert "BENTO_SECRET_KEY is not a Fernet key" in done.stderr, done.stderr
