"""CatalogService: products and plans.

A request is checked field by field into a spec (``usecases.catalog_specs``)
that the use case turns into rows; the rules of price phases are
``billing.phases``'. What is left here is reading the proto: its presence
bits, enum numbers and the paths that name a bad field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bento.v1 import catalog_pb2 as pb
from bento.v1 import catalog_pb2_grpc, common_pb2
from bento_server.billing import phases
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
from bento_server.usecases import catalog_specs as specs

MAX_FEATURES = 100
MAX_REGIONS = 250
MAX_LANGUAGES = 100
MAX_PLAN_PRODUCTS = 50
MAX_DAYS = 365
MAX_FREQUENCY = 36


# --- requests to specs -------------------------------------------------------
#
# A request's product or plan is read whole into the use case's spec, each
# field judged by a Check of its own; only the violations of the fields the
# request sets (all of them, or an update's mask) are reported, in the order
# it names them. The use case reads no other field, so an update is not
# refused for a value it does not change.


def _judges(fields: Iterable[str]) -> dict[str, Check]:
    return {name: Check() for name in fields}


def _masked(check: Check, paths: Iterable[str], allowed: Sequence[str]) -> list[str]:
    """An update mask's fields, in its order (the order its violations are
    reported in); paths that name no field are reported by ``check.mask``."""
    return [path for path in check.mask(paths, allowed) if path in allowed]


def _report(check: Check, judged: Mapping[str, Check], fields: Iterable[str]) -> None:
    for name in fields:
        check.violations.extend(judged[name].violations)


def _price_of(price: common_pb2.Price) -> specs.Price:
    return specs.Price(price.price_in_cents, price.currency_code, price.tier_id)


def _price(check: Check, price: common_pb2.Price, field: str) -> specs.Price:
    check.amount(price.price_in_cents, f"{field}.price_in_cents")
    check.currency(price.currency_code, f"{field}.currency_code")
    check.name(price.tier_id, f"{field}.tier_id", required=False)
    return _price_of(price)


def _localizations(check: Check, values: Any, field: str) -> dict[str, specs.Localization]:
    check.at_most(len(values), field, MAX_LANGUAGES)
    result = {}
    for language, text in values.items():
        check.language(language, f"{field}[{language}]")
        check.name(text.display_name, f"{field}[{language}].display_name", required=False)
        check.text(text.description, f"{field}[{language}].description")
        result[language] = specs.Localization(text.display_name, text.description)
    return result


def _features(
    check: Check, features: Sequence[common_pb2.Feature], field: str
) -> tuple[specs.Feature, ...]:
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
        result.append(specs.Feature(feature.code, feature.name, kind, feature.limit, reset))
    return tuple(result)


def _product_prices(check: Check, prices: Any, field: str) -> dict[str, specs.Price]:
    check.at_most(len(prices), field, MAX_REGIONS)
    result = {}
    for region, price in prices.items():
        check.region(region, f"{field}[{region}]")
        result[region] = _price(check, price, f"{field}[{region}]")
    return result


def product_spec(check: Check, product: pb.Product, fields: Iterable[str]) -> specs.ProductSpec:
    """The request's ``product``, reporting the violations of ``fields``."""
    on = _judges(specs.PRODUCT_FIELDS)
    spec = specs.ProductSpec(
        name=on["name"].name(product.name, "product.name"),
        internal_id=on["internal_id"].name(
            product.internal_id, "product.internal_id", required=False
        ),
        description=on["description"].text(product.description, "product.description"),
        product_type=on["product_type"].name(
            product.product_type, "product.product_type", required=False
        ),
        status=on["status"].enum(PRODUCT_STATUSES, product.status, "product.status", "active"),
        features=_features(on["features"], product.features, "product.features"),
        prices=_product_prices(on["prices"], product.prices, "product.prices"),
        price_wholesale=(
            _price(on["price_wholesale"], product.price_wholesale, "product.price_wholesale")
            if product.HasField("price_wholesale")
            else None
        ),
        localizations=_localizations(
            on["localizations"], product.localizations, "product.localizations"
        ),
        metadata=on["metadata"].struct(product.metadata, "product.metadata"),
    )
    _report(check, on, fields)
    return spec


def _phases(
    check: Check, region: str, region_phases: Sequence[pb.PricePhase], field: str
) -> tuple[specs.PhaseSpec, ...]:
    """A region's phases. Paths name them by their position in the request;
    the use case stores them in order."""
    result = tuple(
        specs.PhaseSpec(
            order=phase.order,
            billing_cycles=phase.billing_cycles if phase.HasField("billing_cycles") else None,
            price=_price_of(phase.price),
        )
        for phase in region_phases
    )
    for problem in phases.list_problems(result):
        check.fail(field, problem)
    last = phases.last_order(result)
    for n, (phase, spec) in enumerate(zip(region_phases, result, strict=True)):
        path = f"{field}.phases[{n}]"
        for name, problem in phases.phase_problems(spec, last):
            check.fail(f"{path}.{name}", problem)
        if not phase.HasField("price"):
            check.fail(f"{path}.price", "is required")
        _price(check, phase.price, f"{path}.price")
    currency = phases.currency_problem(region, result)
    if currency is not None:
        check.fail(field, currency)
    return result


def _plan_prices(check: Check, prices: Any, field: str) -> dict[str, tuple[specs.PhaseSpec, ...]]:
    check.at_most(len(prices), field, MAX_REGIONS)
    result = {}
    for region, region_prices in prices.items():
        check.region(region, f"{field}[{region}]")
        result[region] = _phases(check, region, region_prices.phases, f"{field}[{region}]")
    return result


def _frequency(
    check: Check, plan: pb.Plan, field: str, creating: bool
) -> specs.BillingFrequency | None:
    if not plan.HasField("billing_frequency"):
        # The use case gives a new free plan months.
        if not (creating and plan.free):
            check.fail(field, "is required")
        return None
    frequency = plan.billing_frequency
    return specs.BillingFrequency(
        unit=check.enum(BILLING_UNITS, frequency.unit, f"{field}.unit"),
        value=check.between(frequency.value, f"{field}.value", 1, MAX_FREQUENCY),
    )


def _product_ids(check: Check, product_ids: Sequence[str], field: str) -> tuple[str, ...]:
    if not product_ids:
        check.fail(field, "needs at least one product")
    check.at_most(len(product_ids), field, MAX_PLAN_PRODUCTS)
    check.unique(product_ids, field)
    for n, product_id in enumerate(product_ids):
        check.object_id(product_id, f"{field}[{n}]")
    return tuple(product_ids)


def plan_spec(check: Check, plan: pb.Plan, fields: Iterable[str], creating: bool) -> specs.PlanSpec:
    """The request's ``plan``, reporting the violations of ``fields``."""
    on = _judges(specs.PLAN_FIELDS)
    spec = specs.PlanSpec(
        name=on["name"].name(plan.name, "plan.name"),
        plan_type=on["plan_type"].enum(PLAN_TYPES, plan.plan_type, "plan.plan_type", "single"),
        status=on["status"].enum(PLAN_STATUSES, plan.status, "plan.status", "active"),
        billing_frequency=_frequency(
            on["billing_frequency"], plan, "plan.billing_frequency", creating
        ),
        free_trial_days=on["free_trial_days"].between(
            plan.free_trial_days, "plan.free_trial_days", 0, MAX_DAYS
        ),
        grace_period_days=on["grace_period_days"].between(
            plan.grace_period_days, "plan.grace_period_days", 0, MAX_DAYS
        ),
        prices=_plan_prices(on["prices"], plan.prices, "plan.prices"),
        localizations=_localizations(on["localizations"], plan.localizations, "plan.localizations"),
        product_ids=_product_ids(on["product_ids"], plan.product_ids, "plan.product_ids"),
        tier=on["tier"].between(plan.tier, "plan.tier", 0, 1_000_000),
        end_behavior=on["end_behavior"].enum(
            END_BEHAVIORS, plan.end_behavior, "plan.end_behavior", "roll"
        ),
        can_pause=plan.can_pause,
        # Unset on a new plan means the default; an update sets what it is sent.
        can_cancel=plan.can_cancel if plan.HasField("can_cancel") or not creating else True,
        free=plan.free,
        metadata=on["metadata"].struct(plan.metadata, "plan.metadata"),
    )
    _report(check, on, fields)
    return spec


# --- the service --------------------------------------------------------------


class CatalogService(Servicer, catalog_pb2_grpc.CatalogServiceServicer):
    @rpc
    def CreateProduct(
        self, request: pb.CreateProductRequest, check: Check, caller: Caller
    ) -> Work[pb.CreateProductResponse]:
        if not request.HasField("product"):
            check.fail("product", "is required")
        check.object_id(request.product.app_id, "product.app_id", required=False)
        spec = product_spec(check, request.product, specs.PRODUCT_FIELDS)
        return use(
            catalog.create_product, self.deps, caller.principal, request.product.app_id, spec
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
        fields = _masked(check, request.update_mask.paths, specs.PRODUCT_FIELDS)
        update = specs.ProductUpdate(
            product_spec(check, request.product, fields), frozenset(fields)
        )
        return use(
            catalog.update_product, self.deps, caller.principal, request.product.product_id, update
        ).answer(lambda row: pb.UpdateProductResponse(product=product_pb(row)))

    @rpc
    def CreatePlan(
        self, request: pb.CreatePlanRequest, check: Check, caller: Caller
    ) -> Work[pb.CreatePlanResponse]:
        if not request.HasField("plan"):
            check.fail("plan", "is required")
        check.object_id(request.plan.platform_id, "plan.platform_id", required=False)
        spec = plan_spec(check, request.plan, specs.PLAN_FIELDS, creating=True)
        return use(
            catalog.create_plan, self.deps, caller.principal, request.plan.platform_id, spec
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
        fields = _masked(check, request.update_mask.paths, specs.PLAN_FIELDS)
        update = specs.PlanUpdate(
            plan_spec(check, request.plan, fields, creating=False), frozenset(fields)
        )
        return use(
            catalog.update_plan, self.deps, caller.principal, request.plan.plan_id, update
        ).answer(lambda view: pb.UpdatePlanResponse(plan=plan_pb(view)))
