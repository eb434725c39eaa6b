"""The one access rule: who may use what, from a subscription's fields alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bento_server.billing.access import best, decide

NOW = datetime(2028, 3, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
END = NOW + 10 * 24 * HOUR


def check(
    status: str,
    grace: datetime | None = None,
    ended: datetime | None = None,
    period_end: datetime = END,
) -> tuple[bool, str]:
    decision = decide("SUB1", "PLAN1", status, "paid", period_end, grace, ended, NOW)
    return decision.allowed, decision.reason


def test_a_paid_running_subscription_grants_until_its_period_ends() -> None:
    assert check("active") == (True, "subscription_active")
    assert decide("S", "P", "active", "paid", END, None, None, NOW).expires_at == END
    assert check("trialing") == (True, "trialing")


def test_access_fails_closed_past_a_period_the_clock_did_not_renew() -> None:
    assert check("active", period_end=NOW) == (False, "ended")
    assert check("trialing", period_end=NOW - HOUR) == (False, "ended")


@pytest.mark.parametrize("status", ["active", "past_due"])
def test_a_debt_grants_only_until_its_deadline(status: str) -> None:
    assert check(status, grace=NOW + HOUR) == (True, "grace_period")
    assert decide("S", "P", status, "failed", END, NOW + HOUR, None, NOW).expires_at == NOW + HOUR
    assert check(status, grace=NOW) == (False, "unpaid")


def test_a_canceled_subscription_grants_until_the_earlier_of_its_end_and_its_debt() -> None:
    assert check("canceled", ended=NOW + HOUR) == (True, "canceled_until_period_end")
    assert check("canceled", ended=NOW) == (False, "ended")
    # Canceled at period end while past due: the deadline comes first.
    assert check("canceled", grace=NOW - HOUR, ended=END) == (False, "unpaid")
    owed = decide("S", "P", "canceled", "failed", END, NOW + HOUR, END, NOW)
    assert (owed.allowed, owed.expires_at) == (True, NOW + HOUR)
    assert check("canceled") == (False, "ended")


@pytest.mark.parametrize(
    ("status", "reason"), [("pending", "unpaid"), ("unpaid", "unpaid"), ("paused", "paused")]
)
def test_pending_unpaid_and_paused_never_grant(status: str, reason: str) -> None:
    assert check(status) == (False, reason)


def test_the_strongest_grant_wins() -> None:
    grace = decide("A", "P", "past_due", "failed", END, NOW + HOUR, None, NOW)
    active = decide("B", "P", "active", "paid", END, None, None, NOW)
    paused = decide("C", "P", "paused", "paid", END, None, None, NOW)
    assert best([paused, grace, active]).subscription_id == "B"
    assert best([paused]).reason == "paused"
    assert best([]).reason == "no_subscription"
