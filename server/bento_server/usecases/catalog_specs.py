"""What a caller asks the catalog to create or change, as typed values.

The servicer checks a request field by field and hands the use case one of
these; the use case builds rows from it. They live with the use cases, not
in ``billing/``, because they are request shapes: what a product or plan
should say, with no rule of billing in them. The one part that does bear
rules, a plan's price phases, is checked by ``billing.phases`` (which a
``PhaseSpec`` satisfies as ``phases.Terms``), and a phase gets its ID and
becomes a ``phases.Phase`` only when the use case stores it.

The values are checked before they are built: constructing one checks
nothing, so that a request's every bad field is reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
"""A product's fields a caller sets, in the order requests are checked."""

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
"""A plan's fields a caller sets, in the order requests are checked."""


@dataclass(frozen=True)
class Price:
    price_in_cents: int
    currency_code: str
    tier_id: str = ""

    def stored(self) -> dict[str, Any]:
        return {
            "price_in_cents": self.price_in_cents,
            "currency_code": self.currency_code,
            "tier_id": self.tier_id,
        }


@dataclass(frozen=True)
class Localization:
    display_name: str = ""
    description: str = ""

    def stored(self) -> dict[str, str]:
        return {"display_name": self.display_name, "description": self.description}


@dataclass(frozen=True)
class Feature:
    """A feature a product grants (``kind`` "access" or "quota")."""

    code: str
    name: str = ""
    kind: str = "access"
    limit: int = 0
    reset_interval: str = "never"

    def stored(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "limit": self.limit,
            "reset_interval": self.reset_interval,
        }


@dataclass(frozen=True)
class BillingFrequency:
    unit: str
    """"day", "week", "month" or "year"."""
    value: int


@dataclass(frozen=True)
class PhaseSpec:
    """A price phase as a request gives it: no ID until it is stored."""

    order: int
    billing_cycles: int | None
    """None runs forever."""
    price: Price

    @property
    def currency_code(self) -> str:
        return self.price.currency_code


@dataclass(frozen=True)
class ProductSpec:
    name: str
    internal_id: str = ""
    description: str = ""
    product_type: str = ""
    status: str = "active"
    features: tuple[Feature, ...] = ()
    prices: Mapping[str, Price] = field(default_factory=dict)
    """One price by region code."""
    price_wholesale: Price | None = None
    localizations: Mapping[str, Localization] = field(default_factory=dict)
    """By language tag."""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductUpdate:
    """The ``fields`` (some of ``PRODUCT_FIELDS``) of ``product`` replace a
    product's; its other fields are not read."""

    product: ProductSpec
    fields: frozenset[str]


@dataclass(frozen=True)
class PlanSpec:
    name: str
    billing_frequency: BillingFrequency | None
    """None only for a free plan, whose periods are then months."""
    plan_type: str = "single"
    status: str = "active"
    free_trial_days: int = 0
    grace_period_days: int = 0
    prices: Mapping[str, tuple[PhaseSpec, ...]] = field(default_factory=dict)
    """Price phases by region code, in the order the request gave them."""
    localizations: Mapping[str, Localization] = field(default_factory=dict)
    product_ids: tuple[str, ...] = ()
    tier: int = 0
    end_behavior: str = "roll"
    can_pause: bool = False
    can_cancel: bool = True
    free: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanUpdate:
    """The ``fields`` (some of ``PLAN_FIELDS``) of ``plan`` replace a
    plan's; its other fields are not read."""

    plan: PlanSpec
    fields: frozenset[str]
