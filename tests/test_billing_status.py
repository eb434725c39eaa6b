"""The subscription status machine and who has access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bento_server.billing.status import (
    GRANTS_ACCESS,
    MANUAL_TRANSITIONS,
    check_transition,
    grants_access,
)
from bento_server.errors import FailedPrecondition

STATUSES = ["pending", "trialing", "active", "past_due", "unpaid", "canceled", "paused"]

ALLOWED = [
    ("pending", "canceled"),
    ("trialing", "canceled"),
    ("trialing", "paused"),
    ("active", "past_due"),
    ("active", "unpaid"),
    ("active", "canceled"),
    ("active", "paused"),
    ("past_due", "unpaid"),
    ("past_due", "canceled"),
    ("past_due", "paused"),
    ("unpaid", "canceled"),
    ("paused", "active"),
    ("paused", "canceled"),
    ("canceled", "active"),
]

REFUSED = [
    ("pending", "active"),
    ("pending", "trialing"),
    ("trialing", "active"),
    ("active", "pending"),
    ("active", "trialing"),
    ("past_due", "active"),
    ("unpaid", "active"),
    ("unpaid", "paused"),
    ("paused", "past_due"),
    ("canceled", "paused"),
    ("canceled", "pending"),
    ("canceled", "unpaid"),
    ("active", "expired"),
]

NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)


def test_the_table_is_exactly_the_allowed_changes() -> None:
    assert set(MANUAL_TRANSITIONS) == set(STATUSES)
    pairs = {
        (current, target) for current, targets in MANUAL_TRANSITIONS.items() for target in targets
    }
    assert pairs == set(ALLOWED)


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transitions_pass(current: str, target: str) -> None:
    check_transition(current, target)


@pytest.mark.parametrize("status", STATUSES)
def test_asking_for_the_current_status_is_a_no_op(status: str) -> None:
    check_transition(status, status)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused_transitions_name_both_statuses(current: str, target: str) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_transition(current, target)
    error = caught.value
    assert error.reason == "invalid_status_transition"
    assert error.code == "FAILED_PRECONDITION"
    assert current in error.message
    assert target in error.message


def test_an_unknown_status_is_refused_even_unchanged() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_transition("expired", "expired")
    assert caught.value.reason == "invalid_status_transition"


@pytest.mark.parametrize("status", sorted(GRANTS_ACCESS))
def test_live_statuses_always_grant_access(status: str) -> None:
    assert grants_access(status, None, NOW)
    assert grants_access(status, NOW - timedelta(days=1), NOW)


def test_grants_access_is_the_three_live_statuses() -> None:
    assert frozenset({"trialing", "active", "past_due"}) == GRANTS_ACCESS


def test_canceled_grants_access_until_ended_at() -> None:
    assert grants_access("canceled", None, NOW)
    assert grants_access("canceled", NOW + timedelta(microseconds=1), NOW)
    assert not grants_access("canceled", NOW, NOW)
    assert not grants_access("canceled", NOW - timedelta(days=1), NOW)


@pytest.mark.parametrize("status", ["pending", "unpaid", "paused"])
def test_never_access(status: str) -> None:
    assert not grants_access(status, None, NOW)
    assert not grants_access(status, NOW + timedelta(days=30), NOW)
