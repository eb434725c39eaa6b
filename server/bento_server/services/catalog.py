"""CatalogService: products and plans."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from bento.v1 import catalog_pb2 as pb
from bento.v1 import catalog_pb2_grpc, common_pb2
from bento_server.services.base import Servicer
from bento_server.services.messages.catalog import plan_pb, product_pb
from bento_server.services.messages.enums import (
    BILLING_UNITS,
    END_BEHAVIORS,
    FEATURE_KINDS,
    PLAN_STATUSES,
    PLAN_TYPES,
    PRODUCT_STATUSES,
    RESET_INTERVALS,
)
from bento_server.services.rpc import Caller, Work, rpc, use
from bento_server.services.validate import DEFAULT_REGION, Check
from bento_server.usecases import catalog

PRODUCT_FIELDS = (
    "name",
    "internal_id",
    "description",
    "product_type",
    "status",
    "features",
    "prices",
    "price_wholesale",
    "localizations",
    "metadata",
)
PLAN_FIELDS = (
    "name",
    "plan_type",
    "status",
    "billing_frequency",
    "free_trial_days",
    "grace_period_days",
    "prices",
    "localizations",
    "product_ids",
    "tier",
    "end_behavior",
    "can_pause",
    "can_cancel",
    "free",
    "metadata",
)
MAX_FEATURES = 100
MAX_PHASES = 24
MAX_REGIONS = 250
MAX_LANGUAGES = 100
MAX_PLAN_PRODUCTS = 50
MAX_DAYS = 365
MAX_FREQUENCY = 36


# --- requests to stored values ---------------------------------------------


def _price(check: Check, price: common_pb2.Price, field: str) -> dict[str, Any]:
    check.amount(price.price_in_cents, f"{field}.price_in_cents")
    check.currency(price.currency_code, f"{field}.currency_code")
    check.name(price.tier_id, f"{field}.tier_id", required=False)
    return {
        "price_in_cents": price.price_in_cents,
        "currency_code": price.currency_code,
        "tier_id": price.tier_id,
    }


def _localizations(check: Check, values: Any, field: str) -> dict[str, dict[str, str]]:
    check.at_most(len(values), field, MAX_LANGUAGES)
    result = {}
    for language, text in values.items():
        check.language(language, f"{field}[{language}]")
        check.name(text.display_name, f"{field}[{language}].display_name", required=False)
        check.text(text.description, f"{field}[{language}].description")
        result[language] = {"display_name": text.display_name, "description": text.description}
    return result


def _features(
    check: Check, features: Sequence[common_pb2.Feature], field: str
) -> list[dict[str, Any]]:
    check.at_most(len(features), field, MAX_FEATURES)
    check.unique((f.code for f in features), field)
    result = []
    for n, feature in enumerate(features):
        path = f"{field}[{n}]"
        check.code(feature.code, f"{path}.code")
        check.name(feature.name, f"{path}.name", required=False)
        kind = check.enum(FEATURE_KINDS, feature.kind, f"{path}.kind")
        reset = check.enum(
            RESET_INTERVALS, feature.reset_interval, f"{path}.reset_interval", "never"
        )
        check.non_negative(feature.limit, f"{path}.limit")
        if kind == "access" and (feature.limit or reset != "never"):
            check.fail(path, "an access feature has no limit and no reset interval")
        result.append(
            {
                "code": feature.code,
                "name": feature.name,
                "kind": kind,
                "limit": feature.limit,
                "reset_interval": reset,
            }
        )
    return result


def _product_prices(check: Check, prices: Any, field: str) -> dict[str, dict[str, Any]]:
    check.at_most(len(prices), field, MAX_REGIONS)
    result = {}
    for region, price in prices.items():
        check.region(region, f"{field}[{region}]")
        result[region] = _price(check, price, f"{field}[{region}]")
    return result


def product_values(check: Check, product: pb.Product, fields: Iterable[str]) -> dict[str, Any]:
    """The stored values of ``fields`` of a request's product, checked."""
    values: dict[str, Any] = {}
    for name in fields:
        path = f"product.{name}"
        if name == "name":
            values[name] = check.name(product.name, path)
        elif name in ("internal_id", "product_type"):
            values[name] = check.name(getattr(product, name), path, required=False)
        elif name == "description":
            values[name] = check.text(product.description, path)
        elif name == "status":
            values[name] = check.enum(PRODUCT_STATUSES, product.status, path, "active")
        elif name == "features":
            values[name] = _features(check, product.features, path)
        elif name == "prices":
            values[name] = _product_prices(check, product.prices, path)
        elif name == "price_wholesale":
            values[name] = (
                _price(check, product.price_wholesale, path)
                if product.HasField("price_wholesale")
                else None
            )
        elif name == "localizations":
            values[name] = _localizations(check, product.localizations, path)
        elif name == "metadata":
            values[name] = check.struct(product.metadata, path)
    return values


def _phases(
    check: Check, region: str, phases: Sequence[pb.PricePhase], field: str
) -> list[dict[str, Any]]:
    if not phases:
        check.fail(field, "needs at least one price phase")
    check.at_most(len(phases), field, MAX_PHASES)
    orders = [phase.order for phase in phases]
    if len(set(orders)) != len(orders):
        check.fail(field, "phase orders must be unique")
    last_order = max(orders, default=0)
    result: list[dict[str, Any]] = []
    # Paths name phases by their position in the request; storage sorts them.
    for n, phase in enumerate(phases):
        path = f"{field}.phases[{n}]"
        check.between(phase.order, f"{path}.order", 1, 1000)
        cycles = phase.billing_cycles if phase.HasField("billing_cycles") else None
        if cycles is None and phase.order != last_order:
            check.fail(f"{path}.billing_cycles", "only the last phase may run forever")
        if cycles is not None:
            check.between(cycles, f"{path}.billing_cycles", 1, 10_000)
        if not phase.HasField("price"):
            check.fail(f"{path}.price", "is required")
        result.append(
            {
                "phase_id": secrets.token_hex(8),
                "order": phase.order,
                "billing_cycles": cycles,
                "price": _price(check, phase.price, f"{path}.price"),
            }
        )
    result.sort(key=lambda phase: phase["order"])
    if len({phase["price"]["currency_code"] for phase in result}) > 1:
        check.fail(field, f"every phase of region {region} must use one currency")
    return result


def plan_values(
    check: Check, plan: pb.Plan, fields: Iterable[str], creating: bool
) -> tuple[dict[str, Any], list[str] | None]:
    """The stored values of ``fields`` of a request's plan, checked, and its product IDs."""
    values: dict[str, Any] = {}
    product_ids: list[str] | None = None
    for name in fields:
        path = f"plan.{name}"
        if name == "name":
            values[name] = check.name(plan.name, path)
        elif name == "plan_type":
            values[name] = check.enum(PLAN_TYPES, plan.plan_type, path, "single")
        elif name == "status":
            values[name] = check.enum(PLAN_STATUSES, plan.status, path, "active")
        elif name == "end_behavior":
            values[name] = check.enum(END_BEHAVIORS, plan.end_behavior, path, "roll")
        elif name == "billing_frequency" and creating and plan.free and not plan.HasField(name):
            # A free plan never bills; its periods are months.
            values["billing_unit"], values["billing_value"] = "month", 1
        elif name == "billing_frequency" and not plan.HasField(name):
            check.fail(path, "is required")
        elif name == "billing_frequency":
            values["billing_unit"] = check.enum(
                BILLING_UNITS, plan.billing_frequency.unit, f"{path}.unit"
            )
            values["billing_value"] = check.between(
                plan.billing_frequency.value, f"{path}.value", 1, MAX_FREQUENCY
            )
        elif name in ("free_trial_days", "grace_period_days"):
            values[name] = check.between(getattr(plan, name), path, 0, MAX_DAYS)
        elif name == "tier":
            values[name] = check.between(plan.tier, path, 0, 1_000_000)
        elif name in ("can_pause", "free"):
            values[name] = getattr(plan, name)
        elif name == "can_cancel":
            values[name] = plan.can_cancel if plan.HasField("can_cancel") or not creating else True
        elif name == "prices":
            check.at_most(len(plan.prices), path, MAX_REGIONS)
            prices = {}
            for region, region_prices in plan.prices.items():
                check.region(region, f"{path}[{region}]")
                prices[region] = _phases(check, region, region_prices.phases, f"{path}[{region}]")
            values[name] = prices
        elif name == "localizations":
            values[name] = _localizations(check, plan.localizations, path)
        elif name == "product_ids":
            if not plan.product_ids:
                check.fail(path, "needs at least one product")
            check.at_most(len(plan.product_ids), path, MAX_PLAN_PRODUCTS)
            check.unique(plan.product_ids, path)
            for n, product_id in enumerate(plan.product_ids):
                check.object_id(product_id, f"{path}[{n}]")
            product_ids = list(plan.product_ids)
        elif name == "metadata":
            values[name] = check.struct(plan.metadata, path)
    return values, product_ids


# --- stored values to responses ----------------------------------------------


class CatalogService(Servicer, catalog_pb2_grpc.CatalogServiceServicer):
    @rpc
    def CreateProduct(
        self, request: pb.CreateProductRequest, check: Check, caller: Caller
    ) -> Work[pb.CreateProductResponse]:
        if not request.HasField("product"):
            check.fail("product", "is required")
        check.object_id(request.product.app_id, "product.app_id", required=False)
        values = product_values(check, request.product, PRODUCT_FIELDS)
        return use(
            catalog.create_product, self.deps, caller.principal, request.product.app_id, values
        ).answer(lambda row: pb.CreateProductResponse(product=product_pb(row)))

    @rpc
    def GetProduct(
        self, request: pb.GetProductRequest, check: Check, caller: Caller
    ) -> Work[pb.GetProductResponse]:
        check.object_id(request.product_id, "product_id")
        return use(catalog.get_product, self.deps, caller.principal, request.product_id).answer(
            lambda row: pb.GetProductResponse(product=product_pb(row))
        )

    @rpc
    def ListProducts(
        self, request: pb.ListProductsRequest, check: Check, caller: Caller
    ) -> Work[pb.ListProductsResponse]:
        check.object_id(request.app_id, "app_id", required=False)
        return use(
            catalog.list_products,
            self.deps,
            caller.principal,
            request.app_id,
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListProductsResponse(
                products=[product_pb(row) for row in listed.items],
                next_page_token=listed.next_page_token,
            )
        )

    @rpc
    def UpdateProduct(
        self, request: pb.UpdateProductRequest, check: Check, caller: Caller
    ) -> Work[pb.UpdateProductResponse]:
        check.object_id(request.product.product_id, "product.product_id")
        paths = check.mask(request.update_mask.paths, PRODUCT_FIELDS)
        changes = product_values(check, request.product, [p for p in paths if p in PRODUCT_FIELDS])
        return use(
            catalog.update_product,
            self.deps,
            caller.principal,
            request.product.product_id,
            changes,
        ).answer(lambda row: pb.UpdateProductResponse(product=product_pb(row)))

    @rpc
    def CreatePlan(
        self, request: pb.CreatePlanRequest, check: Check, caller: Caller
    ) -> Work[pb.CreatePlanResponse]:
        if not request.HasField("plan"):
            check.fail("plan", "is required")
        check.object_id(request.plan.platform_id, "plan.platform_id", required=False)
        values, product_ids = plan_values(check, request.plan, PLAN_FIELDS, creating=True)
        return use(
            catalog.create_plan,
            self.deps,
            caller.principal,
            request.plan.platform_id,
            values,
            product_ids or [],
        ).answer(lambda view: pb.CreatePlanResponse(plan=plan_pb(view)))

    @rpc
    def GetPlan(
        self, request: pb.GetPlanRequest, check: Check, caller: Caller
    ) -> Work[pb.GetPlanResponse]:
        check.object_id(request.plan_id, "plan_id")
        region = request.region or DEFAULT_REGION
        check.region(region, "region")
        return use(catalog.get_plan, self.deps, caller.principal, request.plan_id).answer(
            lambda view: pb.GetPlanResponse(plan=plan_pb(view, item_region=region))
        )

    @rpc
    def ListPlans(
        self, request: pb.ListPlansRequest, check: Check, caller: Caller
    ) -> Work[pb.ListPlansResponse]:
        check.at_most(len(request.region), "region", MAX_REGIONS)
        check.at_most(len(request.language), "language", MAX_LANGUAGES)
        for n, region in enumerate(request.region):
            check.region(region, f"region[{n}]")
        for n, language in enumerate(request.language):
            check.language(language, f"language[{n}]")
        status = check.enum(PLAN_STATUSES, request.status, "status", "") or None
        check.object_id(request.platform_id, "platform_id", required=False)
        return use(
            catalog.list_plans,
            self.deps,
            caller.principal,
            list(request.region),
            status,
            request.platform_id,
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListPlansResponse(
                plans=[plan_pb(view, request.region, request.language) for view in listed.plans],
                next_page_token=listed.next_page_token,
                total=listed.total,
            )
        )

    @rpc
    def UpdatePlan(
        self, request: pb.UpdatePlanRequest, check: Check, caller: Caller
    ) -> Work[pb.UpdatePlanResponse]:
        check.object_id(request.plan.plan_id, "plan.plan_id")
        paths = check.mask(request.update_mask.paths, PLAN_FIELDS)
        changes, product_ids = plan_values(
            check, request.plan, [p for p in paths if p in PLAN_FIELDS], creating=False
        )
        return use(
            catalog.update_plan,
            self.deps,
            caller.principal,
            request.plan.plan_id,
            changes,
            product_ids,
        ).answer(lambda view: pb.UpdatePlanResponse(plan=plan_pb(view)))
