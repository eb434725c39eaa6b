"""Products and plans as the API answers them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bento.v1 import catalog_pb2, common_pb2
from bento_server.services.convert import struct, timestamp
from bento_server.services.messages.enums import (
    BILLING_UNITS,
    END_BEHAVIORS,
    FEATURE_KINDS,
    PLAN_STATUSES,
    PLAN_TYPES,
    PRODUCT_STATUSES,
    RESET_INTERVALS,
)
from bento_server.services.messages.tenants import app_pb
from bento_server.services.validate import DEFAULT_REGION
from bento_server.store.models import Plan, Product
from bento_server.usecases import catalog


def _price_pb(value: dict[str, Any] | None) -> common_pb2.Price | None:
    return None if value is None else common_pb2.Price(**value)


def _feature_pb(value: dict[str, Any]) -> common_pb2.Feature:
    return common_pb2.Feature(
        code=value["code"],
        name=value["name"],
        kind=FEATURE_KINDS.number(value["kind"]),
        limit=value["limit"],
        reset_interval=RESET_INTERVALS.number(value["reset_interval"]),
    )


def _localizations_pb(
    values: dict[str, dict[str, str]], languages: Sequence[str] = ()
) -> dict[str, common_pb2.Localization]:
    return {
        language: common_pb2.Localization(**text)
        for language, text in values.items()
        if not languages or language in languages
    }


def product_pb(row: Product) -> catalog_pb2.Product:
    return catalog_pb2.Product(
        product_id=row.id,
        app_id=row.app_id,
        name=row.name,
        internal_id=row.internal_id,
        description=row.description,
        product_type=row.product_type,
        status=PRODUCT_STATUSES.number(row.status),
        features=[_feature_pb(f) for f in row.features],
        prices={region: common_pb2.Price(**price) for region, price in row.prices.items()},
        price_wholesale=_price_pb(row.price_wholesale),
        localizations=_localizations_pb(row.localizations),
        metadata=struct(row.metadata),
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
    )


def _phase_pb(phase: dict[str, Any]) -> catalog_pb2.PricePhase:
    message = catalog_pb2.PricePhase(
        phase_id=phase["phase_id"], order=phase["order"], price=common_pb2.Price(**phase["price"])
    )
    if phase["billing_cycles"] is not None:
        message.billing_cycles = phase["billing_cycles"]
    return message


def plan_pb(
    view: catalog.PlanView,
    regions: Sequence[str] = (),
    languages: Sequence[str] = (),
    item_region: str = DEFAULT_REGION,
) -> catalog_pb2.Plan:
    plan: Plan = view.plan
    return catalog_pb2.Plan(
        plan_id=plan.id,
        platform_id=plan.platform_id,
        name=plan.name,
        plan_type=PLAN_TYPES.number(plan.plan_type),
        status=PLAN_STATUSES.number(plan.status),
        billing_frequency=common_pb2.BillingFrequency(
            unit=BILLING_UNITS.number(plan.billing_unit), value=plan.billing_value
        ),
        free_trial_days=plan.free_trial_days,
        grace_period_days=plan.grace_period_days,
        prices={
            region: catalog_pb2.RegionPrices(phases=[_phase_pb(p) for p in phases])
            for region, phases in plan.prices.items()
            if not regions or region in regions
        },
        localizations=_localizations_pb(plan.localizations, languages),
        product_ids=view.product_ids,
        plan_items=[
            catalog_pb2.PlanItem(
                product_id=item.product.id,
                app_id=item.app.id,
                name=item.product.name,
                status=PRODUCT_STATUSES.number(item.product.status),
                price_wholesale=_price_pb(item.product.price_wholesale),
                price=_price_pb(item.product.prices.get(item_region)),
                localizations=_localizations_pb(item.product.localizations),
                features=[_feature_pb(f) for f in item.product.features],
                app=app_pb(item.app),
            )
            for item in view.items
        ],
        tier=plan.tier,
        end_behavior=END_BEHAVIORS.number(plan.end_behavior),
        can_pause=plan.can_pause,
        can_cancel=plan.can_cancel,
        free=plan.free,
        metadata=struct(plan.metadata),
        created_at=timestamp(plan.created_at),
        updated_at=timestamp(plan.updated_at),
    )
