"""TestClockService: reading and moving the server's clock."""

from __future__ import annotations

import grpc
from google.protobuf import timestamp_pb2

from bento.v1 import test_clock_pb2
from tests.support import RunningServer, assert_fails, make_tenancy, start_server, unique

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def test_time_stands_still_until_moved(server: RunningServer) -> None:
    admin = server.admin()
    first = admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now
    again = admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now
    assert first == again
    moved = admin(admin.test_clock.AdvanceTime, test_clock_pb2.AdvanceTimeRequest(seconds=3600))
    assert moved.now.seconds == first.seconds + 3600
    target = timestamp_pb2.Timestamp(seconds=moved.now.seconds + 86_400)
    to = admin(admin.test_clock.AdvanceTime, test_clock_pb2.AdvanceTimeRequest(to=target))
    assert to.now == target
    assert admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now == target


def test_time_never_goes_back(server: RunningServer) -> None:
    admin = server.admin()
    now = admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now
    cases = [
        (test_clock_pb2.AdvanceTimeRequest(), "target"),
        (test_clock_pb2.AdvanceTimeRequest(seconds=0), "seconds"),
        (test_clock_pb2.AdvanceTimeRequest(seconds=-5), "seconds"),
        (test_clock_pb2.AdvanceTimeRequest(seconds=10**12), "seconds"),
        (test_clock_pb2.AdvanceTimeRequest(to=now), "to"),
        (
            test_clock_pb2.AdvanceTimeRequest(to=timestamp_pb2.Timestamp(seconds=now.seconds - 1)),
            "to",
        ),
        (test_clock_pb2.AdvanceTimeRequest(to=timestamp_pb2.Timestamp(seconds=2**62)), "to"),
    ]
    for request, field in cases:
        assert_fails(
            lambda: admin(admin.test_clock.AdvanceTime, request),
            INVALID,
            "invalid_argument",
            field,
        )
    assert admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now == now


def test_a_move_with_an_idempotency_key_happens_once(server: RunningServer) -> None:
    admin = server.admin()
    start = admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now
    by_seconds = test_clock_pb2.AdvanceTimeRequest(seconds=600)
    key = unique("move")
    first = admin(admin.test_clock.AdvanceTime, by_seconds, key=key)
    again = admin(admin.test_clock.AdvanceTime, by_seconds, key=key)
    assert first == again
    assert first.now.seconds == start.seconds + 600
    assert admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now == first.now

    # A move to an instant: its replay answers, though the instant is now past.
    target = timestamp_pb2.Timestamp(seconds=first.now.seconds + 60)
    to_key = unique("move")
    moved = admin(
        admin.test_clock.AdvanceTime, test_clock_pb2.AdvanceTimeRequest(to=target), key=to_key
    )
    replayed = admin(
        admin.test_clock.AdvanceTime, test_clock_pb2.AdvanceTimeRequest(to=target), key=to_key
    )
    assert moved == replayed and moved.now == target
    assert_fails(
        lambda: admin(
            admin.test_clock.AdvanceTime, test_clock_pb2.AdvanceTimeRequest(seconds=5), key=to_key
        ),
        INVALID,
        "idempotency_key_reused",
    )
    assert admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now == target


def test_only_admins_move_time(server: RunningServer) -> None:
    t = make_tenancy(server)
    for caller in (t.platform, t.publisher):
        assert_fails(
            lambda: caller(
                caller.test_clock.AdvanceTime, test_clock_pb2.AdvanceTimeRequest(seconds=1)
            ),
            grpc.StatusCode.PERMISSION_DENIED,
            "permission_denied",
        )


def test_without_test_clock_every_call_is_refused(fresh_backend_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plain = start_server(fresh_backend_url, tmp_path, test_clock=False)
    try:
        admin = plain.admin()
        for call in (
            lambda: admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()),
            lambda: admin(
                admin.test_clock.AdvanceTime, test_clock_pb2.AdvanceTimeRequest(seconds=1)
            ),
        ):
            assert_fails(call, grpc.StatusCode.FAILED_PRECONDITION, "test_clock_disabled")
    finally:
        plain.stop()


def test_the_clock_survives_a_restart(fresh_backend_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = start_server(fresh_backend_url, tmp_path, test_clock=True)
    admin = first.admin()
    moved = admin(
        admin.test_clock.AdvanceTime, test_clock_pb2.AdvanceTimeRequest(seconds=10 * 86_400)
    ).now
    assert first.stop() == 0
    second = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        admin = second.admin()
        assert (
            admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now.seconds
            >= moved.seconds
        )
    finally:
        second.stop()
