"""The subscription status machine (access: tests/test_billing_access.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bento_server.billing.status import (
    MANUAL_TRANSITIONS,
    check_transition,
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
