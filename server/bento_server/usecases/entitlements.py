"""Entitlement checks: the question other services ask on every request.

CheckAccess runs one or two indexed reads against the live tables
(``store.access_reads``), so a change of a subscription is visible to the
very next check on every replica. On
PostgreSQL, answers are remembered until a change is announced
(store.access_cache), and the reads of concurrent checks go to the database
together (``subscriptions_of_many``), one round trip for many checks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bento_server.billing.access import FREE, Decision, best, decide, decide_for
from bento_server.billing.statuses import PlanStatus
from bento_server.errors import InvalidArgument, not_found
from bento_server.store.access_cache import AccessCache
from bento_server.store.access_reads import AccessKey, AccessReads, AccessRow
from bento_server.store.database import Store
from bento_server.store.fields import from_micros
from bento_server.store.models import (
    App,
    Plan,
    PlanProduct,
    Platform,
    Product,
    Subscription,
    SubscriptionFeature,
)
from bento_server.usecases.context import PLATFORM, Deps, Principal


def platform_of(principal: Principal, platform_id: str) -> str:
    """The platform a check is about: the caller's own, or an admin's choice."""
    if principal.role == PLATFORM:
        if platform_id and platform_id != principal.tenant_id:
            raise not_found("platform", platform_id)
        return principal.tenant_id or ""
    if not platform_id:
        raise InvalidArgument.field("platform_id", "is required for admin keys")
    if not Platform.select().where(Platform.id == platform_id).exists():
        raise not_found("platform", platform_id)
    return platform_id


def _instant(value: int | None) -> datetime | None:
    return None if value is None else from_micros(int(value))


class AccessChecker:
    """CheckAccess: the store's answers (``store.access_reads``), remembered
    on PostgreSQL until a change is announced, decided afresh every time.

    ``read_subscriptions`` is how a check reaches the store: by default a
    direct read on the calling thread (SQLite answers in microseconds);
    PostgreSQL servers set a batched read built on ``subscriptions_of_many``.
    On PostgreSQL every read of a check goes through a connection the event
    loop drives (store.loop_connection), so no check blocks the loop or
    hands work to a thread.
    """

    def __init__(self, store: Store, cache: AccessCache | None = None) -> None:
        self._reads = AccessReads(store)
        self._cache = cache
        self.read_subscriptions: Callable[[AccessKey], Awaitable[list[AccessRow]]] = (
            self._reads.subscriptions
        )
        self.subscriptions_of_many = self._reads.subscriptions_of_many

    async def check(
        self, platform_id: str, session_id: str, product_id: str, feature_code: str, now: datetime
    ) -> Decision:
        key = (platform_id, session_id, product_id, feature_code)
        rows = await self._remembered(("subscriptions", *key), lambda: self.read_subscriptions(key))
        # Decided afresh every time: grants also end with time, not only with writes.
        decision = best(
            [
                decide(
                    r[0], r[1], r[2], r[3], from_micros(r[4]), _instant(r[5]), _instant(r[6]), now
                )
                for r in rows
            ]
        )
        if decision.allowed:
            return decision
        # A free plan grants every user of the platform: one answer per
        # product or feature, whoever asks.
        free_plan_id = await self._remembered(
            ("free", platform_id, product_id, feature_code),
            lambda: self._reads.free_plan(platform_id, product_id, feature_code),
        )
        if free_plan_id:
            return Decision(True, FREE.reason, plan_id=free_plan_id)
        return decision

    async def _remembered(self, key: tuple[str, ...], read: Callable[[], Awaitable[Any]]) -> Any:
        if self._cache is None:
            return await read()
        known = self._cache.get(key)
        if known is None:
            generation = self._cache.generation
            known = await read()
            self._cache.put(key, known, generation)
        return known


@dataclass(frozen=True)
class Entitlement:
    product: Product
    app: App
    decision: Decision
    feature: dict[str, object] | None = None
    usage: SubscriptionFeature | None = None


def list_entitlements(
    deps: Deps, principal: Principal, platform_id: str, session_id: str
) -> list[Entitlement]:
    """Every product and feature the user may use now, and what grants it."""
    platform_id = platform_of(principal, platform_id)
    now = deps.clock.now()
    result: list[Entitlement] = []
    with deps.store.read():
        subs = (
            Subscription.select()
            .where((Subscription.platform == platform_id) & (Subscription.session_id == session_id))
            .order_by(Subscription.id.desc())
        )
        granting = []
        for sub in subs:
            decision = decide_for(sub, now)
            if decision.allowed:
                granting.append((sub, decision))
        for sub, decision in granting:
            usage = {
                f.code: f
                for f in SubscriptionFeature.select().where(
                    SubscriptionFeature.subscription == sub.id
                )
            }
            for product, app in _products(sub.plan_id):
                result.append(Entitlement(product, app, decision))
            for feature in usage.values():
                product_id = feature.product_ids[0] if feature.product_ids else ""
                product = Product.get_or_none(Product.id == product_id) if product_id else None
                app = App.get_by_id(product.app_id) if product else None
                result.append(Entitlement(product, app, decision, _feature_of(feature), feature))
        free_plans = Plan.select().where(
            (Plan.platform == platform_id)
            & (Plan.free == True)  # noqa: E712
            & (Plan.status == PlanStatus.ACTIVE)
        )
        for plan in free_plans:
            decision = Decision(True, FREE.reason, plan_id=plan.id)
            for product, app in _products(plan.id):
                result.append(Entitlement(product, app, decision))
                for feature in product.features:
                    result.append(Entitlement(product, app, decision, feature))
    # Grouped by what grants them, in the order found; within a group by
    # product, each product before its features, features by code.
    groups: dict[str, int] = {}
    for entry in result:
        groups.setdefault(entry.decision.subscription_id or entry.decision.plan_id, len(groups))
    result.sort(
        key=lambda e: (
            groups[e.decision.subscription_id or e.decision.plan_id],
            e.product.id if e.product else "",
            str(e.feature["code"]) if e.feature else "",
        )
    )
    return result


def _products(plan_id: str) -> list[tuple[Product, App]]:
    rows = (
        PlanProduct.select(PlanProduct, Product, App)
        .join(Product)
        .join(App)
        .where(PlanProduct.plan == plan_id)
        .order_by(PlanProduct.position)
    )
    return [(row.product, row.product.app) for row in rows]


def _feature_of(row: SubscriptionFeature) -> dict[str, object]:
    return {
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "limit": row.limit,
        "reset_interval": row.reset_interval,
    }
