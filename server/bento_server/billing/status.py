"""The subscription status machine: what a platform may ask for.

Who has access is ``billing.access.decide``, the one access rule."""

from __future__ import annotations

from bento_server.billing.statuses import SubscriptionStatus
from bento_server.errors import FailedPrecondition

STATUSES = frozenset(SubscriptionStatus)

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
