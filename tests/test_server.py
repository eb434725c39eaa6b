"""The server as a process: reflection, health, grpcurl, shutdown, and the
services that later work fills in."""

from __future__ import annotations

import base64
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from tests.helpers.metrics import scrape
from tests.support import RunningServer, assert_fails, start_server

GRPCURL = str(Path(sys.executable).parent / "grpcurl")
CONTRACT_SERVICES = [
    "bento.v1.ActivationService",
    "bento.v1.CatalogService",
    "bento.v1.EntitlementService",
    "bento.v1.EventService",
    "bento.v1.InvoiceService",
    "bento.v1.PaymentService",
    "bento.v1.SettlementService",
    "bento.v1.SubscriptionService",
    "bento.v1.TenantService",
    "bento.v1.TestClockService",
    "bento.v1.WebhookService",
]


def grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    assert shutil.which(GRPCURL), "grpcurl comes with the dev dependencies"
    return subprocess.run([GRPCURL, *args], capture_output=True, text=True, timeout=60)


def test_grpcurl_lists_every_service(server: RunningServer) -> None:
    listed = grpcurl("-plaintext", server.address, "list").stdout.split()
    assert sorted(listed) == sorted(
        [*CONTRACT_SERVICES, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"]
    )


def test_grpcurl_describes_a_service(server: RunningServer) -> None:
    described = grpcurl("-plaintext", server.address, "describe", "bento.v1.CatalogService").stdout
    # A read carries its declared idempotency level, which clients read.
    assert (
        "rpc GetPlan ( .bento.v1.GetPlanRequest ) returns ( .bento.v1.GetPlanResponse ) {\n"
        "    option idempotency_level = NO_SIDE_EFFECTS;\n"
        "  }"
    ) in described
    assert (
        "rpc CreatePlan ( .bento.v1.CreatePlanRequest ) returns ( .bento.v1.CreatePlanResponse );"
        in described
    )


def test_grpcurl_shows_the_error_reason(server: RunningServer) -> None:
    auth = "authorization: Basic " + base64.b64encode(server.admin_credential.encode()).decode()
    result = grpcurl(
        "-plaintext", "-format-error", "-H", auth, "-d", '{"name": ""}',
        server.address, "bento.v1.TenantService/CreatePlatform",
    )  # fmt: skip
    assert result.returncode != 0
    status = json.loads(result.stderr[result.stderr.index("{") :])
    assert status["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    reasons = [d.get("reason") for d in status["details"]]
    assert "invalid_argument" in reasons
    violations = [d for d in status["details"] if "field_violations" in d or "fieldViolations" in d]
    assert violations, status


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_server_gracefully(
    fresh_backend_url: str, tmp_path: Path, sig: int
) -> None:
    running = start_server(fresh_backend_url, tmp_path, test_clock=False)
    assert running.stop(sig) == 0
    assert "shutting down" in running.log()


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    bento = str(Path(sys.executable).parent / "bento")
    result = subprocess.run(
        [bento, "migrate", "--database", "mysql://nope"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "unsupported database URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_call_is_logged_and_counted(fresh_backend_url: str, tmp_path: Path) -> None:
    import socket

    from bento.v1 import tenant_pb2

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = start_server(
        fresh_backend_url,
        tmp_path,
        test_clock=False,
        extra=("--metrics-address", f"127.0.0.1:{port}"),
    )
    try:
        admin = running.admin()
        admin.tenant.ListApps(
            tenant_pb2.ListAppsRequest(),
            metadata=[*admin.metadata(), ("x-request-id", "req-42")],
            timeout=10,
        )
        assert_fails(
            lambda: admin(admin.tenant.GetApp, tenant_pb2.GetAppRequest(app_id="AP404")),
            grpc.StatusCode.NOT_FOUND,
            "app_not_found",
        )
        scraped = scrape(port)
    finally:
        running.stop()
    assert 'bento_rpcs_total{code="OK",method="/bento.v1.TenantService/ListApps"} 1.0' in scraped
    assert (
        'bento_rpcs_total{code="NOT_FOUND",method="/bento.v1.TenantService/GetApp"} 1.0' in scraped
    )
    assert (
        'bento_rpc_duration_seconds_count{code="NOT_FOUND",method="/bento.v1.TenantService/GetApp"} 1.0'
        in scraped
    )
    assert "bento_open_event_streams 0.0" in scraped
    log = running.log()
    assert "rpc method=/bento.v1.TenantService/ListApps code=OK" in log
    assert "request_id=req-42" in log
    key_id = running.admin_credential.split(":")[0]
    assert f"caller={key_id}" in log
    assert running.admin_credential.split(":")[1] not in log  # never the secret
