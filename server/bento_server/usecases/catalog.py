"""Products and plans.

Scoping is done in the queries: a publisher's queries join on its app, a
platform's on its platform. Objects outside the caller's tenant are
reported as not found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import peewee

from bento_server import ids
from bento_server.errors import InvalidArgument, not_found
from bento_server.store.models import App, Plan, PlanProduct, PlanRegion, Platform, Product
from bento_server.usecases import paging
from bento_server.usecases.context import PLATFORM, PUBLISHER, Deps, Principal

# --- products ---------------------------------------------------------------


def create_product(
    deps: Deps, principal: Principal, app_id: str, values: dict[str, Any]
) -> Product:
    if principal.role == PUBLISHER:
        app_id = app_id or principal.tenant_id or ""
        if app_id != principal.tenant_id:
            raise not_found("app", app_id)
    elif not app_id:
        raise InvalidArgument.field("product.app_id", "is required")
    now = deps.clock.now()
    with deps.store.write():
        if App.get_or_none(App.id == app_id) is None:
            raise not_found("app", app_id)
        return Product.create(
            id=ids.new_id(ids.PRODUCT), app=app_id, created_at=now, updated_at=now, **values
        )


def _product_query(principal: Principal) -> peewee.ModelSelect:
    query = Product.select()
    if principal.role == PUBLISHER:
        query = query.where(Product.app == principal.tenant_id)
    return query


def get_product(deps: Deps, principal: Principal, product_id: str) -> Product:
    product = _product_query(principal).where(Product.id == product_id).first()
    if product is None:
        raise not_found("product", product_id)
    return product


def list_products(
    deps: Deps, principal: Principal, app_id: str, page_size: int, page_token: str
) -> paging.Listed[Product]:
    if principal.role == PUBLISHER and app_id and app_id != principal.tenant_id:
        raise not_found("app", app_id)
    page = paging.page(page_size, page_token, f"ListProducts|{principal.tenant_id}|{app_id}")
    query = _product_query(principal)
    if app_id:
        query = query.where(Product.app == app_id)
    return paging.fetch(query, page, Product.id)


def update_product(
    deps: Deps, principal: Principal, product_id: str, changes: dict[str, Any]
) -> Product:
    with deps.store.write():
        product = get_product(deps, principal, product_id)
        for name, value in changes.items():
            setattr(product, name, value)
        if changes.get("price_wholesale"):
            selling = Plan.select().join(PlanProduct).where(PlanProduct.product == product.id)
            for plan in selling:
                _check_wholesale_currencies(plan, product)
        product.updated_at = deps.clock.now()  # type: ignore[assignment]
        product.save()
        deps.store.notify_access_changed()  # features grant access
        return product


# --- plans ------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedItem:
    """A product of a plan with its app (GetPlan's plan_items)."""

    product: Product
    app: App


@dataclass(frozen=True)
class PlanView:
    plan: Plan
    product_ids: list[str]
    items: list[ResolvedItem]


@dataclass(frozen=True)
class PlanList:
    plans: list[PlanView]
    next_page_token: str
    total: int


def create_plan(
    deps: Deps,
    principal: Principal,
    platform_id: str,
    values: dict[str, Any],
    product_ids: Sequence[str],
) -> PlanView:
    if principal.role == PLATFORM:
        platform_id = platform_id or principal.tenant_id or ""
        if platform_id != principal.tenant_id:
            raise not_found("platform", platform_id)
    elif not platform_id:
        raise InvalidArgument.field("plan.platform_id", "is required for admin keys")
    now = deps.clock.now()
    with deps.store.write():
        if Platform.get_or_none(Platform.id == platform_id) is None:
            raise not_found("platform", platform_id)
        plan = Plan(
            id=ids.new_plan_id(),
            platform=platform_id,
            created_at=now,
            updated_at=now,
            **values,
        )
        _check_plan(plan)
        plan.save(force_insert=True)
        _write_products(plan, product_ids)
        _check_wholesale_currencies(plan)
        _write_regions(plan)
        deps.store.notify_access_changed()  # a free plan grants at once
        return PlanView(plan, list(product_ids), [])


def _check_plan(plan: Plan) -> None:
    """Rules across fields, checked on the plan as it will be stored."""
    if plan.free and plan.prices:
        raise InvalidArgument.field("plan.prices", "a free plan has no prices")
    if not plan.free and not plan.prices:
        raise InvalidArgument.field(
            "plan.prices", "at least one region is required unless the plan is free"
        )


def _check_wholesale_currencies(plan: Plan, product: Product | None = None) -> None:
    """Every region's price is in the currency of each of the plan's
    products' wholesale prices, so each invoice splits in one currency
    (docs/rules.md, "Revenue distribution"). ``product`` is one being
    changed, whose new price the store does not hold yet."""
    query = (
        Product.select(Product.id, Product.price_wholesale)
        .join(PlanProduct, on=PlanProduct.product == Product.id)
        .where(PlanProduct.plan == plan.id)
    )
    wholesale = {row.id: row.price_wholesale for row in query}
    if product is not None:
        wholesale[product.id] = product.price_wholesale
    for region, phases in sorted((plan.prices or {}).items()):
        currency = phases[0]["price"]["currency_code"] if phases else ""
        for product_id, price in wholesale.items():
            if not price or price["currency_code"] == currency:
                continue
            if product is not None:
                raise InvalidArgument.field(
                    "product.price_wholesale.currency_code",
                    f"plan {plan.id} sells this product for {currency} in region {region}: "
                    "its wholesale price must be in that currency",
                )
            raise InvalidArgument.field(
                f"plan.prices[{region}]",
                f"is in {currency}, but product {product_id}'s wholesale price is in "
                f"{price['currency_code']}: a plan is priced in its products' wholesale currency",
            )


def _write_products(plan: Plan, product_ids: Sequence[str]) -> None:
    found = {row.id for row in Product.select(Product.id).where(Product.id.in_(list(product_ids)))}
    for product_id in product_ids:
        if product_id not in found:
            raise not_found("product", product_id)
    PlanProduct.delete().where(PlanProduct.plan == plan.id).execute()
    PlanProduct.insert_many(
        [{"plan": plan.id, "product": pid, "position": n} for n, pid in enumerate(product_ids)]
    ).execute()


def _write_regions(plan: Plan) -> None:
    PlanRegion.delete().where(PlanRegion.plan == plan.id).execute()
    if plan.prices:
        PlanRegion.insert_many(
            [{"plan": plan.id, "region": r} for r in sorted(plan.prices)]
        ).execute()


def _plan_query(principal: Principal) -> peewee.ModelSelect:
    query = Plan.select()
    if principal.role == PLATFORM:
        query = query.where(Plan.platform == principal.tenant_id)
    elif principal.role == PUBLISHER:
        # A publisher sees the plans that sell one of its app's products.
        includes_app = (
            PlanProduct.select(PlanProduct.plan)
            .join(Product)
            .where(Product.app == principal.tenant_id)
        )
        query = query.where(Plan.id.in_(includes_app))
    return query


def _product_ids(plan_ids: Iterable[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    query = (
        PlanProduct.select(PlanProduct.plan, PlanProduct.product)
        .where(PlanProduct.plan.in_(list(plan_ids)))
        .order_by(PlanProduct.plan, PlanProduct.position)
    )
    for row in query.tuples():
        result.setdefault(row[0], []).append(row[1])
    return result


def get_plan(deps: Deps, principal: Principal, plan_id: str) -> PlanView:
    with deps.store.read():
        plan = _plan_query(principal).where(Plan.id == plan_id).first()
        if plan is None:
            raise not_found("plan", plan_id)
        rows = (
            PlanProduct.select(PlanProduct, Product, App)
            .join(Product)
            .join(App)
            .where(PlanProduct.plan == plan.id)
            .order_by(PlanProduct.position)
        )
        items = [ResolvedItem(row.product, row.product.app) for row in rows]
        return PlanView(plan, [item.product.id for item in items], items)


def list_plans(
    deps: Deps,
    principal: Principal,
    regions: Sequence[str],
    status: str | None,
    platform_id: str,
    page_size: int,
    page_token: str,
) -> PlanList:
    if principal.role == PLATFORM and platform_id and platform_id != principal.tenant_id:
        raise not_found("platform", platform_id)
    if principal.role == PUBLISHER and platform_id:
        raise InvalidArgument.field("platform_id", "is for admin and platform keys")
    scope = f"ListPlans|{principal.tenant_id}|{','.join(sorted(regions))}|{status}|{platform_id}"
    page = paging.page(page_size, page_token, scope)
    query = _plan_query(principal)
    if platform_id:
        query = query.where(Plan.platform == platform_id)
    if status:
        query = query.where(Plan.status == status)
    if regions:
        priced_here = PlanRegion.select(PlanRegion.plan).where(PlanRegion.region.in_(list(regions)))
        query = query.where(Plan.id.in_(priced_here) | (Plan.free == True))  # noqa: E712
    with deps.store.read():
        total = query.count()
        listed = paging.fetch(query, page, Plan.id)
        products = _product_ids(plan.id for plan in listed.items)
    views = [PlanView(plan, products.get(plan.id, []), []) for plan in listed.items]
    return PlanList(views, listed.next_page_token, total)


def update_plan(
    deps: Deps,
    principal: Principal,
    plan_id: str,
    changes: dict[str, Any],
    product_ids: Sequence[str] | None,
) -> PlanView:
    with deps.store.write():
        plan = _plan_query(principal).where(Plan.id == plan_id).first()
        if plan is None:
            raise not_found("plan", plan_id)
        for name, value in changes.items():
            setattr(plan, name, value)
        _check_plan(plan)
        plan.updated_at = deps.clock.now()
        plan.save()
        if product_ids is not None:
            _write_products(plan, product_ids)
        if product_ids is not None or "prices" in changes:
            _check_wholesale_currencies(plan)
        if "prices" in changes:
            _write_regions(plan)
        deps.store.notify_access_changed()
        return PlanView(plan, _product_ids([plan.id]).get(plan.id, []), [])
