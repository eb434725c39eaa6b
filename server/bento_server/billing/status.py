"""The subscription status machine: what a platform may ask for, and who has access."""

from __future__ import annotations

from datetime import datetime

from bento_server.errors import FailedPrecondition

STATUSES = frozenset({"pending", "trialing", "active", "past_due", "unpaid", "canceled", "paused"})

MANUAL_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"canceled"}),
    "trialing": frozenset({"canceled", "paused"}),
    "active": frozenset({"past_due", "unpaid", "canceled", "paused"}),
    "past_due": frozenset({"unpaid", "canceled", "paused"}),
    "unpaid": frozenset({"canceled"}),
    # Resuming: the caller shifts the period end by the time spent paused.
    "paused": frozenset({"active", "canceled"}),
    # Uncancel: only until `ended_at`, which the caller checks with the clock.
    "canceled": frozenset({"active"}),
}
"""The status changes a platform may ask for through UpdateSubscription(status).

Billing moves statuses by other paths too (a payment makes a pending
subscription active); those are not listed here.
"""

GRANTS_ACCESS = frozenset({"trialing", "active", "past_due"})
"""Statuses that grant access for as long as they hold."""


def check_transition(current: str, target: str) -> None:
    """Refuses a status change that a platform may not ask for.

    Raises ``FailedPrecondition`` with reason ``invalid_status_transition``
    naming both statuses. Asking for the status a subscription already has
    is allowed and changes nothing; an unknown status is always refused.
    """
    if current == target and current in STATUSES:
        return
    if target not in MANUAL_TRANSITIONS.get(current, frozenset()):
        raise FailedPrecondition(
            f"a subscription cannot go from {current} to {target}",
            "invalid_status_transition",
            metadata={"current_status": current, "requested_status": target},
        )


def grants_access(status: str, ended_at: datetime | None, now: datetime) -> bool:
    """Whether a subscription in ``status`` gives its user access at ``now``.

    A canceled subscription keeps access until ``ended_at`` (the end of the
    paid period, or the moment of a cancel_now); None means not yet set.
    """
    if status in GRANTS_ACCESS:
        return True
    if status == "canceled":
        return ended_at is None or now < ended_at
    return False
