"""Products and plans.

Scoping is done in the queries: a publisher's queries join on its app, a
platform's on its platform. Objects outside the caller's tenant are
reported as not found.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import peewee

from bento_server import ids
from bento_server.billing.phases import Phase, in_order
from bento_server.errors import InvalidArgument, not_found
from bento_server.store.models import App, Plan, PlanProduct, PlanRegion, Platform, Product
from bento_server.usecases import paging
from bento_server.usecases.catalog_specs import (
    PLAN_FIELDS,
    PRODUCT_FIELDS,
    PhaseSpec,
    PlanSpec,
    PlanUpdate,
    ProductSpec,
    ProductUpdate,
)
from bento_server.usecases.context import PLATFORM, PUBLISHER, Deps, Principal

# --- products ---------------------------------------------------------------


def _write_product(product: Product, spec: ProductSpec, fields: Collection[str]) -> None:
    """Sets ``fields`` of ``product`` to what ``spec`` says."""
    if "name" in fields:
        product.name = spec.name
    if "internal_id" in fields:
        product.internal_id = spec.internal_id
    if "description" in fields:
        product.description = spec.description
    if "product_type" in fields:
        product.product_type = spec.product_type
    if "status" in fields:
        product.status = spec.status
    if "features" in fields:
        product.features = [feature.stored() for feature in spec.features]
    if "prices" in fields:
        product.prices = {region: price.stored() for region, price in spec.prices.items()}
    if "price_wholesale" in fields:
        wholesale = spec.price_wholesale
        product.price_wholesale = None if wholesale is None else wholesale.stored()
    if "localizations" in fields:
        product.localizations = {lang: text.stored() for lang, text in spec.localizations.items()}
    if "metadata" in fields:
        product.metadata = dict(spec.metadata)


def create_product(deps: Deps, principal: Principal, app_id: str, spec: ProductSpec) -> Product:
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
        product = Product(id=ids.new_id(ids.PRODUCT), app=app_id, created_at=now, updated_at=now)
        _write_product(product, spec, PRODUCT_FIELDS)
        product.save(force_insert=True)
        return product


def _product_query(principal: Principal) -> peewee.ModelSelect:
    query = Product.select()
    if principal.role == PUBLISHER:
        query = query.where(Product.app == principal.tenant_id)
    return query


def get_product(deps: Deps, principal: Principal, product_id: str) -> Product:
    product = _product_query(principal).where(Product.id == product_id).first()
    if product is None:
        raise not_found("product", product_id)
    return cast("Product", product)


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
    deps: Deps, principal: Principal, product_id: str, update: ProductUpdate
) -> Product:
    with deps.store.write():
        product = get_product(deps, principal, product_id)
        _write_product(product, update.product, update.fields)
        if "price_wholesale" in update.fields and update.product.price_wholesale is not None:
            selling = Plan.select().join(PlanProduct).where(PlanProduct.product == product.id)
            for plan in selling:
                _check_wholesale_currencies(plan, product)
        product.updated_at = deps.clock.now()
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


def _stored_phases(region_phases: Sequence[PhaseSpec]) -> list[dict[str, Any]]:
    """A region's phases as stored: in the order they apply, each with a new ID."""
    return [
        Phase(
            phase_id=ids.new_phase_id(),
            order=phase.order,
            billing_cycles=phase.billing_cycles,
            price_in_cents=phase.price.price_in_cents,
            currency_code=phase.price.currency_code,
            tier_id=phase.price.tier_id,
        ).stored()
        for phase in in_order(region_phases)
    ]


def _write_plan(plan: Plan, spec: PlanSpec, fields: Collection[str]) -> None:
    """Sets ``fields`` of ``plan`` to what ``spec`` says (its products are
    rows of their own: ``_write_products``)."""
    if "name" in fields:
        plan.name = spec.name
    if "plan_type" in fields:
        plan.plan_type = spec.plan_type
    if "status" in fields:
        plan.status = spec.status
    if "billing_frequency" in fields:
        # A free plan never bills; its periods are months.
        frequency = spec.billing_frequency
        plan.billing_unit = "month" if frequency is None else frequency.unit
        plan.billing_value = 1 if frequency is None else frequency.value
    if "free_trial_days" in fields:
        plan.free_trial_days = spec.free_trial_days
    if "grace_period_days" in fields:
        plan.grace_period_days = spec.grace_period_days
    if "prices" in fields:
        plan.prices = {region: _stored_phases(p) for region, p in spec.prices.items()}
    if "localizations" in fields:
        plan.localizations = {lang: text.stored() for lang, text in spec.localizations.items()}
    if "tier" in fields:
        plan.tier = spec.tier
    if "end_behavior" in fields:
        plan.end_behavior = spec.end_behavior
    if "can_pause" in fields:
        plan.can_pause = spec.can_pause
    if "can_cancel" in fields:
        plan.can_cancel = spec.can_cancel
    if "free" in fields:
        plan.free = spec.free
    if "metadata" in fields:
        plan.metadata = dict(spec.metadata)


def create_plan(deps: Deps, principal: Principal, platform_id: str, spec: PlanSpec) -> PlanView:
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
        plan = Plan(id=ids.new_plan_id(), platform=platform_id, created_at=now, updated_at=now)
        _write_plan(plan, spec, PLAN_FIELDS)
        _check_plan(plan)
        plan.save(force_insert=True)
        _write_products(plan, spec.product_ids)
        _check_wholesale_currencies(plan)
        _write_regions(plan)
        deps.store.notify_access_changed()  # a free plan grants at once
        return PlanView(plan, list(spec.product_ids), [])


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


def update_plan(deps: Deps, principal: Principal, plan_id: str, update: PlanUpdate) -> PlanView:
    changes_products = "product_ids" in update.fields
    changes_prices = "prices" in update.fields
    with deps.store.write():
        plan = _plan_query(principal).where(Plan.id == plan_id).first()
        if plan is None:
            raise not_found("plan", plan_id)
        _write_plan(plan, update.plan, update.fields)
        _check_plan(plan)
        plan.updated_at = deps.clock.now()
        plan.save()
        if changes_products:
            _write_products(plan, update.plan.product_ids)
        if changes_products or changes_prices:
            _check_wholesale_currencies(plan)
        if changes_prices:
            _write_regions(plan)
        deps.store.notify_access_changed()
        return PlanView(plan, _product_ids([plan.id]).get(plan.id, []), [])
