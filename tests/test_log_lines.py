"""The access log tells the truth about how each call ended, and names its
caller whenever the key is known."""

from __future__ import annotations

import logging
import sys
import time

import grpc

from bento.v1 import event_pb2, event_pb2_grpc, tenant_pb2
from bento_server.log_hygiene import LogHygiene
from tests.support import RunningServer, make_tenancy, unique


def _line_of(server: RunningServer, request_id: str) -> str:
    """The access-log line of the call sent with ``request_id`` (it is
    written when the call ends, which may be a moment after the client saw
    the end)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [line for line in server.log().splitlines() if f"request_id={request_id}" in line]
        if lines:
            (line,) = lines
            return line
        time.sleep(0.05)
    raise AssertionError(f"no log line for {request_id}")


def _watch(server: RunningServer, request_id: str, timeout: float) -> grpc.Future:  # type: ignore[type-arg]
    admin = server.admin()
    stub = event_pb2_grpc.EventServiceStub(admin.channel)
    metadata = [*admin.metadata(), ("x-request-id", request_id)]
    return stub.WatchEvents(event_pb2.WatchEventsRequest(), metadata=metadata, timeout=timeout)  # type: ignore[no-any-return]


def test_a_stream_cut_by_its_deadline_is_logged_deadline_exceeded(server: RunningServer) -> None:
    request_id = unique("deadline")
    call = _watch(server, request_id, timeout=1.0)
    try:
        for _ in call:
            pass
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    assert " code=DEADLINE_EXCEEDED " in _line_of(server, request_id)


def test_a_stream_its_client_left_is_logged_cancelled(server: RunningServer) -> None:
    request_id = unique("left")
    call = _watch(server, request_id, timeout=60)
    next(iter(call))  # open: the replay has begun or ended
    call.cancel()
    assert " code=CANCELLED " in _line_of(server, request_id)


def test_a_refused_role_is_logged_with_its_caller(server: RunningServer) -> None:
    t = make_tenancy(server)
    request_id = unique("denied")
    metadata = [*t.platform.metadata(), ("x-request-id", request_id)]
    try:
        t.platform.tenant.ListApps(tenant_pb2.ListAppsRequest(), metadata=metadata, timeout=10)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    assert t.platform.credential is not None
    key_id = t.platform.credential.split(":")[0]
    line = _line_of(server, request_id)
    assert " code=PERMISSION_DENIED " in line and f" caller={key_id} " in line


# --- what the filter on the log's handlers does to other libraries' records ----------


def _record(
    name: str, message: str, *args: object, error: BaseException | None = None
) -> logging.LogRecord:
    exc_info = None
    if error is not None:
        try:
            raise error
        except BaseException:
            exc_info = sys.exc_info()
    return logging.LogRecord(name, logging.ERROR, __file__, 1, message, args, exc_info)


def test_a_header_grpcio_logs_has_its_credential_redacted() -> None:
    record = _record(
        "grpc._cython.cygrpc", "Invalid encoding on %s", b"Basic QUsxOnNlY3JldA==\xff",
        error=UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    )  # fmt: skip
    kept = LogHygiene().filter(record)
    text = record.getMessage()
    assert "QUsxOnNlY3JldA" not in text and "[redacted]" in text
    assert record.exc_info is None  # the traceback goes with it
    # A client's malformed header is not a server error: it drops to DEBUG.
    assert record.levelno == logging.DEBUG
    assert kept == logging.getLogger().isEnabledFor(logging.DEBUG)


class ExecuteBatchError(Exception):
    """The shape of grpcio's error when an answer's client already left."""


def test_a_client_that_left_is_no_error_traceback() -> None:
    record = _record(
        "grpc._cython.cygrpc", "Failed to send", error=ExecuteBatchError("execute_batch")
    )
    LogHygiene().filter(record)
    assert record.levelno == logging.DEBUG and record.exc_info is None


def test_other_records_pass_untouched() -> None:
    record = _record("bento.rpc", "rpc method=%s code=%s", "/x", "OK")
    assert LogHygiene().filter(record)
    assert (record.levelno, record.getMessage()) == (logging.ERROR, "rpc method=/x code=OK")
