"""Who may use what now, and why, in process: every reason CheckAccess
gives (docs/rules.md "Access"), asked of a product and of each of its
features alike. How the answers travel (the access cache, checks batched on
PostgreSQL, refusals of bad requests, scoping to the caller) stays over the
wire in tests/test_entitlements.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bento_server.billing.access import Decision
from bento_server.billing.statuses import PaymentStatus, SubscriptionStatus
from bento_server.errors import FailedPrecondition
from bento_server.store.models import Subscription
from bento_server.usecases.context import Principal
from tests.helpers.in_process import Bento, Shop, product_spec, unique

S = SubscriptionStatus
DAY = timedelta(days=1)


def check_both(bento: Bento, who: Principal, session_id: str, product_id: str) -> Decision:
    """Checks the product and its features `hd` and `downloads`; all three must agree."""
    by_product = bento.check_access(who, session_id, product_id=product_id)
    for code in ("hd", "downloads"):
        by_feature = bento.check_access(who, session_id, feature_code=code)
        assert by_feature == by_product, (code, by_feature, by_product)
    return by_product


def paid(bento: Bento, shop: Shop, plan_id: str = "", session_id: str = "") -> Subscription:
    """A subscription to ``plan_id`` (default: the shop's plan) with its first invoice paid."""
    sub, _ = bento.paid_subscription(shop, plan_id or None, session_id or None)
    return sub


def other_product(bento: Bento, shop: Shop) -> str:
    return bento.create_product(shop.publisher, product_spec())


def test_an_active_paid_subscription_grants_until_its_period_end(bento: Bento) -> None:
    shop = bento.shop()
    sub = paid(bento, shop)
    got = check_both(bento, shop.platform, sub.session_id, shop.product_id)
    assert got == Decision(True, "subscription_active", sub.id, shop.plan_id, sub.period_end)
    assert got.expires_at is not None and got.expires_at > bento.now()


def test_a_trial_grants_until_the_trial_end(bento: Bento) -> None:
    shop = bento.shop()
    trial_plan = shop.plan(free_trial_days=7)
    sub = bento.subscribe(shop.platform, trial_plan).subscription
    assert sub.status == S.TRIALING
    got = check_both(bento, shop.platform, sub.session_id, shop.product_id)
    assert got == Decision(True, "trialing", sub.id, trial_plan, sub.trial_end)
    assert got.expires_at is not None and got.expires_at - bento.now() == 7 * DAY


def test_an_unpaid_renewal_grants_a_grace_period(bento: Bento) -> None:
    shop = bento.shop()
    p = shop.platform
    sub = paid(bento, shop)
    bento.advance_to(sub.next_billing_date)
    renewed = bento.subscription(p, sub.id)
    assert (renewed.status, renewed.payment_status) == (S.ACTIVE, PaymentStatus.UNPAID)
    deadline = renewed.grace_period_end
    assert deadline == renewed.period_start + 7 * DAY
    expected = Decision(True, "grace_period", sub.id, shop.plan_id, deadline)
    assert check_both(bento, p, sub.session_id, shop.product_id) == expected

    invoice = bento.current_invoice(p, sub.id)
    assert invoice.billing_cycle == 2
    bento.pay(p, sub.id, invoice.id, invoice.total_amount, "failed")
    assert bento.subscription(p, sub.id).status == S.PAST_DUE
    assert check_both(bento, p, sub.session_id, shop.product_id) == expected

    # Still unpaid at the deadline: the subscription ends, and access with it.
    bento.advance_to(deadline, timedelta(seconds=1))
    assert bento.subscription(p, sub.id).status == S.CANCELED
    assert check_both(bento, p, sub.session_id, shop.product_id) == Decision(
        False, "ended", sub.id, shop.plan_id
    )


def test_a_cancel_at_period_end_grants_until_the_end_then_ends(bento: Bento) -> None:
    shop = bento.shop()
    p = shop.platform
    sub = paid(bento, shop)
    canceled = bento.cancel(p, sub.id)
    assert canceled.status == S.CANCELED
    ended_at = canceled.ended_at
    assert ended_at == sub.period_end
    assert check_both(bento, p, sub.session_id, shop.product_id) == Decision(
        True, "canceled_until_period_end", sub.id, shop.plan_id, ended_at
    )
    # Still granting: its quotas may be used.
    assert bento.record_usage(p, sub.id, "downloads", 2).feature.used == 2
    bento.advance_to(ended_at, timedelta(seconds=1))
    assert check_both(bento, p, sub.session_id, shop.product_id) == Decision(
        False, "ended", sub.id, shop.plan_id
    )
    assert bento.entitlements(p, sub.session_id) == []
    with pytest.raises(FailedPrecondition) as refused:
        bento.record_usage(p, sub.id, "downloads", 1)
    assert refused.value.reason == "subscription_inactive"


def test_a_free_plan_grants_every_user_of_its_platform(bento: Bento) -> None:
    shop = bento.shop()
    p = shop.platform
    free_plan = shop.plan(free=True, prices={})
    stranger = unique("session")
    assert check_both(bento, p, stranger, shop.product_id) == Decision(
        True, "free_plan", "", free_plan
    )

    # A subscription that grants more wins over the free plan.
    sub = paid(bento, shop)
    assert check_both(bento, p, sub.session_id, shop.product_id) == Decision(
        True, "subscription_active", sub.id, shop.plan_id, sub.period_end
    )
    # One that grants nothing leaves the free plan's grant.
    pending = bento.subscribe(p, shop.plan_id).subscription
    assert check_both(bento, p, pending.session_id, shop.product_id) == Decision(
        True, "free_plan", "", free_plan
    )

    # Only its products, only its platform's users.
    assert bento.check_access(p, stranger, product_id=other_product(bento, shop)) == Decision(
        False, "no_subscription"
    )
    other = bento.platform()
    assert check_both(bento, other, stranger, shop.product_id) == Decision(False, "no_subscription")


def test_no_subscription_for_an_unknown_session_or_product(bento: Bento) -> None:
    shop = bento.shop()
    p = shop.platform
    nothing = Decision(False, "no_subscription")
    assert check_both(bento, p, unique("session"), shop.product_id) == nothing
    sub = paid(bento, shop)
    assert bento.check_access(p, sub.session_id, product_id=other_product(bento, shop)) == nothing
    assert bento.check_access(p, sub.session_id, product_id="PRnotaproduct") == nothing
    assert bento.check_access(p, sub.session_id, feature_code="no_such_feature") == nothing


def test_a_paused_subscription_grants_nothing(bento: Bento) -> None:
    shop = bento.shop(can_pause=True)
    p = shop.platform
    sub = paid(bento, shop)
    assert bento.pause(p, sub.id).status == S.PAUSED
    assert check_both(bento, p, sub.session_id, shop.product_id) == Decision(
        False, "paused", sub.id, shop.plan_id
    )


def test_a_pending_subscription_is_unpaid(bento: Bento) -> None:
    shop = bento.shop()
    sub = bento.subscribe(shop.platform, shop.plan_id).subscription
    assert sub.status == S.PENDING
    assert check_both(bento, shop.platform, sub.session_id, shop.product_id) == Decision(
        False, "unpaid", sub.id, shop.plan_id
    )


def test_an_active_subscription_wins_over_a_paused_one(bento: Bento) -> None:
    shop = bento.shop(can_pause=True)
    p = shop.platform
    session_id = unique("session")
    paused = paid(bento, shop, session_id=session_id)
    bento.pause(p, paused.id)
    other_plan = shop.plan()
    active = paid(bento, shop, other_plan, session_id=session_id)
    assert check_both(bento, p, session_id, shop.product_id) == Decision(
        True, "subscription_active", active.id, other_plan, active.period_end
    )
