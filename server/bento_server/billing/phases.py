"""A plan's price phases in one region: the rules a region's phases keep,
and which phase prices a given billing cycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

END_BEHAVIORS = frozenset({"roll", "close"})

MAX_PHASES = 24
"""The most phases one region may have."""
MIN_ORDER, MAX_ORDER = 1, 1000
"""The range of a phase's ``order``."""
MIN_CYCLES, MAX_CYCLES = 1, 10_000
"""The range of a finite phase's ``billing_cycles``."""


@dataclass(frozen=True)
class Phase:
    """One price phase of a plan in one region."""

    phase_id: str
    order: int
    """Phases apply in ascending order."""
    billing_cycles: int | None
    """How many cycles this phase prices; None runs forever."""
    price_in_cents: int
    currency_code: str
    tier_id: str

    @classmethod
    def from_stored(cls, value: Mapping[str, Any]) -> Phase:
        """A phase from its stored JSON shape (``Plan.prices[region][n]``)."""
        price = value["price"]
        cycles = value["billing_cycles"]
        return cls(
            phase_id=str(value["phase_id"]),
            order=int(value["order"]),
            billing_cycles=None if cycles is None else int(cycles),
            price_in_cents=int(price["price_in_cents"]),
            currency_code=str(price["currency_code"]),
            tier_id=str(price["tier_id"]),
        )

    def stored(self) -> dict[str, Any]:
        """The phase in its stored JSON shape (the inverse of ``from_stored``)."""
        return {
            "phase_id": self.phase_id,
            "order": self.order,
            "billing_cycles": self.billing_cycles,
            "price": {
                "price_in_cents": self.price_in_cents,
                "currency_code": self.currency_code,
                "tier_id": self.tier_id,
            },
        }


class Terms(Protocol):
    """What the phase rules read of a phase: a stored ``Phase`` or one a
    request asks for, which has no ID yet."""

    @property
    def order(self) -> int: ...

    @property
    def billing_cycles(self) -> int | None: ...

    @property
    def currency_code(self) -> str: ...


T = TypeVar("T", bound=Terms)

# The rules below answer descriptions of what is wrong rather than raising,
# so that a request's every broken rule is reported at once, each next to
# the field it is about. They come in three parts because a request's
# checks report a region's list, then each phase, then the list again.


def list_problems(phases: Sequence[Terms]) -> list[str]:
    """What is wrong with a region's phases as a list: none at all, too
    many, or two with one ``order``."""
    problems = []
    if not phases:
        problems.append("needs at least one price phase")
    if len(phases) > MAX_PHASES:
        problems.append(f"must have at most {MAX_PHASES} entries")
    orders = [phase.order for phase in phases]
    if len(set(orders)) != len(orders):
        problems.append("phase orders must be unique")
    return problems


def last_order(phases: Sequence[Terms]) -> int:
    """The ``order`` of the phase that applies last (0 for no phases)."""
    return max((phase.order for phase in phases), default=0)


def phase_problems(phase: Terms, last: int) -> list[tuple[str, str]]:
    """What is wrong with one phase of a region whose last phase has order
    ``last``: pairs of the phase's field and a description.

    Only the last phase may run forever: a phase after it would never price
    a cycle.
    """
    problems = []
    if not MIN_ORDER <= phase.order <= MAX_ORDER:
        problems.append(("order", f"must be between {MIN_ORDER} and {MAX_ORDER}"))
    if phase.billing_cycles is None:
        if phase.order != last:
            problems.append(("billing_cycles", "only the last phase may run forever"))
    elif not MIN_CYCLES <= phase.billing_cycles <= MAX_CYCLES:
        problems.append(("billing_cycles", f"must be between {MIN_CYCLES} and {MAX_CYCLES}"))
    return problems


def currency_problem(region: str, phases: Sequence[Terms]) -> str | None:
    """A region's phases share one currency: a subscription's invoices do
    not change currency when it moves to its next phase."""
    if len({phase.currency_code for phase in phases}) > 1:
        return f"every phase of region {region} must use one currency"
    return None


def in_order(phases: Sequence[T]) -> list[T]:
    """``phases`` in the order they apply, as a region stores them."""
    return sorted(phases, key=lambda phase: phase.order)


def phase_for_cycle(phases: Sequence[Phase], cycle: int, end_behavior: str) -> Phase | None:
    """The phase that prices billing cycle ``cycle`` (1-based).

    Past the last finite phase, ``roll`` keeps the last phase's price and
    ``close`` returns None: the subscription ends at the period end instead
    of renewing. Raises ``ValueError`` for a cycle below 1, no phases or an
    unknown end behaviour.
    """
    if cycle < 1:
        raise ValueError(f"billing cycles count from 1, got {cycle}")
    if not phases:
        raise ValueError("a plan's region needs at least one price phase")
    if end_behavior not in END_BEHAVIORS:
        raise ValueError(f"end behavior must be roll or close, got {end_behavior!r}")
    # Stored phases are sorted already, but the rule is by `order`, not position.
    ordered = sorted(phases, key=lambda phase: phase.order)
    covered = 0
    for phase in ordered:
        if phase.billing_cycles is None:
            return phase
        covered += phase.billing_cycles
        if cycle <= covered:
            return phase
    return ordered[-1] if end_behavior == "roll" else None
