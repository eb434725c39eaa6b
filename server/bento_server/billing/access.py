"""Who may use what: the access rules of ARCHITECTURE.md, as pure functions.

Subscriptions that are trialing, active or past due grant access; a canceled
one until its ended_at; a free plan to everyone on its platform; never a
pending, unpaid or paused one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The reasons, in the order a check prefers them: the strongest grant first,
# then the most telling refusal.
GRANTS = (
    "subscription_active",
    "trialing",
    "grace_period",
    "canceled_until_period_end",
    "free_plan",
)
REFUSALS = ("paused", "unpaid", "ended", "no_subscription")
_RANK = {reason: rank for rank, reason in enumerate(GRANTS + REFUSALS)}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    subscription_id: str = ""
    plan_id: str = ""
    # When the grant ends if nothing changes: the period end, the grace
    # deadline, the cancellation's end; None for free plans and refusals.
    expires_at: datetime | None = None


def decide(
    subscription_id: str,
    plan_id: str,
    status: str,
    payment_status: str,
    period_end: datetime,
    grace_period_end: datetime | None,
    ended_at: datetime | None,
    now: datetime,
) -> Decision:
    """What one subscription grants at ``now``."""

    def grant(reason: str, until: datetime | None) -> Decision:
        return Decision(True, reason, subscription_id, plan_id, until)

    def refuse(reason: str) -> Decision:
        return Decision(False, reason, subscription_id, plan_id)

    if status == "trialing":
        return grant("trialing", period_end)
    if status == "active":
        if payment_status in ("paid", "no_payment_required"):
            return grant("subscription_active", period_end)
        return grant("grace_period", grace_period_end or period_end)
    if status == "past_due":
        return grant("grace_period", grace_period_end or period_end)
    if status == "canceled":
        if ended_at is None or now < ended_at:
            return grant("canceled_until_period_end", ended_at)
        return refuse("ended")
    if status == "paused":
        return refuse("paused")
    return refuse("unpaid")  # pending, unpaid


def best(decisions: list[Decision]) -> Decision:
    """The strongest grant, else the most telling refusal, else no subscription."""
    if not decisions:
        return Decision(False, "no_subscription")
    return min(decisions, key=lambda d: _RANK[d.reason])


FREE = Decision(True, "free_plan")
