"""Who may use what: the access rules of docs/rules.md, as pure functions.

Subscriptions that are trialing, active or past due grant access (within
their period, and within the grace of what they owe); a canceled one until
the earlier of its ended_at and its debt's deadline; a free plan to
everyone on its platform; never a pending, unpaid or paused one. This is
the one access rule: CheckAccess, ListEntitlements and plan levels all ask it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

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
    """What one subscription grants at ``now``.

    ``grace_period_end`` is the deadline of the oldest unpaid invoice whose
    period has begun (None while nothing is owed): no grant outlives it. No
    grant outlives ``period_end`` either: a period the billing clock failed
    to renew grants nothing (access fails closed).
    """

    def grant(reason: str, until: datetime | None) -> Decision:
        if until is None or now < until:
            return Decision(True, reason, subscription_id, plan_id, until)
        return Decision(False, "unpaid" if owed else "ended", subscription_id, plan_id)

    owed = grace_period_end is not None
    if status == "trialing":
        return grant("trialing", period_end)
    if status in ("active", "past_due"):
        if owed:
            return grant("grace_period", min(grace_period_end, period_end))  # type: ignore[type-var]
        return grant("subscription_active", period_end)
    if status == "canceled":
        until = ended_at if not owed else min(grace_period_end, ended_at or grace_period_end)  # type: ignore[type-var]
        if until is None:
            return Decision(False, "ended", subscription_id, plan_id)
        return grant("canceled_until_period_end", until)
    if status == "paused":
        return Decision(False, "paused", subscription_id, plan_id)
    return Decision(False, "unpaid", subscription_id, plan_id)  # pending, unpaid


class Holding(Protocol):
    """What the access rule reads of a subscription (a stored row or a state)."""

    id: str
    plan_id: str
    status: str
    payment_status: str
    period_end: datetime
    grace_period_end: datetime | None
    ended_at: datetime | None


def decide_for(sub: Holding, now: datetime) -> Decision:
    """``decide`` over a subscription's own fields."""
    return decide(
        sub.id, sub.plan_id, sub.status, sub.payment_status,
        sub.period_end, sub.grace_period_end, sub.ended_at, now,
    )  # fmt: skip


def best(decisions: list[Decision]) -> Decision:
    """The strongest grant, else the most telling refusal, else no subscription."""
    if not decisions:
        return Decision(False, "no_subscription")
    return min(decisions, key=lambda d: _RANK[d.reason])


FREE = Decision(True, "free_plan")
