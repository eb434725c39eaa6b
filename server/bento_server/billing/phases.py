"""Which price phase of a plan's region prices a given billing cycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

END_BEHAVIORS = frozenset({"roll", "close"})


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
