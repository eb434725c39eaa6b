"""Price phases: the rules a region's phases keep, and which phase prices
billing cycle n."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bento_server import ids
from bento_server.billing import phases
from bento_server.billing.phases import Phase, phase_for_cycle


def phase(order: int, cycles: int | None, cents: int) -> Phase:
    return Phase(
        phase_id=f"ph{order}",
        order=order,
        billing_cycles=cycles,
        price_in_cents=cents,
        currency_code="USD",
        tier_id=str(cents),
    )


INTRO_THEN_FOREVER = [phase(1, 3, 999), phase(2, None, 1699)]


def price(phases: list[Phase], cycle: int, end_behavior: str = "roll") -> int | None:
    found = phase_for_cycle(phases, cycle, end_behavior)
    return None if found is None else found.price_in_cents


def test_from_stored_reads_the_stored_shape() -> None:
    stored = {
        "phase_id": "a1b2",
        "order": 2,
        "billing_cycles": None,
        "price": {"price_in_cents": 1699, "currency_code": "USD", "tier_id": "1699"},
    }
    assert Phase.from_stored(stored) == Phase("a1b2", 2, None, 1699, "USD", "1699")
    stored["billing_cycles"] = 3
    assert Phase.from_stored(stored).billing_cycles == 3


@pytest.mark.parametrize("end_behavior", ["roll", "close"])
def test_intro_price_then_the_forever_price(end_behavior: str) -> None:
    assert [price(INTRO_THEN_FOREVER, n, end_behavior) for n in (1, 2, 3)] == [999, 999, 999]
    assert price(INTRO_THEN_FOREVER, 4, end_behavior) == 1699
    assert price(INTRO_THEN_FOREVER, 100, end_behavior) == 1699


def test_phases_are_walked_in_order_not_position() -> None:
    shuffled = [phase(3, 1, 300), phase(1, 2, 100), phase(2, 2, 200)]
    assert [price(shuffled, n) for n in range(1, 8)] == [100, 100, 200, 200, 300, 300, 300]


def test_close_ends_after_the_last_finite_phase() -> None:
    finite = [phase(1, 2, 500), phase(2, 1, 800)]
    assert [price(finite, n, "close") for n in (1, 2, 3, 4, 5)] == [500, 500, 800, None, None]


def test_roll_repeats_the_last_phase() -> None:
    finite = [phase(1, 2, 500), phase(2, 1, 800)]
    assert [price(finite, n, "roll") for n in (1, 2, 3, 4, 50)] == [500, 500, 800, 800, 800]
    found = phase_for_cycle(finite, 9, "roll")
    assert found is not None
    assert found.phase_id == "ph2"


@pytest.mark.parametrize(
    ("phases", "cycle", "end_behavior"),
    [
        (INTRO_THEN_FOREVER, 0, "roll"),
        (INTRO_THEN_FOREVER, -1, "close"),
        ([], 1, "roll"),
        (INTRO_THEN_FOREVER, 1, "stop"),
    ],
)
def test_invalid_calls_raise(phases: list[Phase], cycle: int, end_behavior: str) -> None:
    with pytest.raises(ValueError):
        phase_for_cycle(phases, cycle, end_behavior)


@given(
    counts=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=5),
    end_behavior=st.sampled_from(["roll", "close"]),
)
def test_each_phase_prices_exactly_its_cycles(counts: list[int], end_behavior: str) -> None:
    phases = [phase(n + 1, count, 100 * (n + 1)) for n, count in enumerate(counts)]
    expected: list[int | None] = [
        100 * (n + 1) for n, count in enumerate(counts) for _ in range(count)
    ]
    after = 100 * len(counts) if end_behavior == "roll" else None
    cycles = range(1, len(expected) + 4)
    assert [price(phases, n, end_behavior) for n in cycles] == [*expected, after, after, after]


# --- the rules a region's phases keep ----------------------------------------


def test_from_stored_reads_what_stored_writes() -> None:
    stored = phase(2, None, 1699).stored()
    assert stored == {
        "phase_id": "ph2",
        "order": 2,
        "billing_cycles": None,
        "price": {"price_in_cents": 1699, "currency_code": "USD", "tier_id": "1699"},
    }
    assert Phase.from_stored(stored) == phase(2, None, 1699)


def test_an_intro_price_then_a_forever_price_keeps_every_rule() -> None:
    assert phases.list_problems(INTRO_THEN_FOREVER) == []
    last = phases.last_order(INTRO_THEN_FOREVER)
    assert [phases.phase_problems(p, last) for p in INTRO_THEN_FOREVER] == [[], []]
    assert phases.currency_problem("US", INTRO_THEN_FOREVER) is None


def test_a_region_needs_between_one_and_24_phases() -> None:
    assert phases.list_problems([]) == ["needs at least one price phase"]
    many = [phase(n, 1, 100) for n in range(1, phases.MAX_PHASES + 1)]
    assert phases.list_problems(many) == []
    many.append(phase(phases.MAX_PHASES + 1, None, 100))
    assert phases.list_problems(many) == ["must have at most 24 entries"]


def test_orders_are_unique() -> None:
    twice = [phase(1, 3, 999), phase(1, None, 1699)]
    assert phases.list_problems(twice) == ["phase orders must be unique"]


def test_last_order_is_the_highest_not_the_last_given() -> None:
    assert phases.last_order([phase(3, None, 1), phase(1, 2, 1)]) == 3
    assert phases.last_order([]) == 0


@pytest.mark.parametrize(
    ("order", "cycles", "last", "expected"),
    [
        (1, 3, 2, []),
        (2, None, 2, []),
        (1, None, 2, [("billing_cycles", "only the last phase may run forever")]),
        (1, 0, 2, [("billing_cycles", "must be between 1 and 10000")]),
        (1, 10_000, 2, []),
        (1, 10_001, 2, [("billing_cycles", "must be between 1 and 10000")]),
        (0, None, 0, [("order", "must be between 1 and 1000")]),
        (1001, 1, 1001, [("order", "must be between 1 and 1000")]),
        (
            0,
            -1,
            5,
            [
                ("order", "must be between 1 and 1000"),
                ("billing_cycles", "must be between 1 and 10000"),
            ],
        ),
    ],
)
def test_phase_problems(
    order: int, cycles: int | None, last: int, expected: list[tuple[str, str]]
) -> None:
    assert phases.phase_problems(phase(order, cycles, 100), last) == expected


def test_a_region_has_one_currency() -> None:
    mixed = [phase(1, 3, 999), replace(phase(2, None, 1699), currency_code="CAD")]
    assert phases.currency_problem("US", mixed) == "every phase of region US must use one currency"
    assert phases.currency_problem("US", []) is None


def test_in_order_sorts_by_order() -> None:
    shuffled = [phase(3, 1, 300), phase(1, 2, 100), phase(2, 2, 200)]
    assert [p.order for p in phases.in_order(shuffled)] == [1, 2, 3]


def test_phase_ids_keep_their_documented_shape() -> None:
    """16 lower-case hex digits: what subscriptions and invoices have always quoted."""
    made = [ids.new_phase_id() for _ in range(100)]
    assert all(re.fullmatch("[0-9a-f]{16}", phase_id) for phase_id in made)
    assert len(set(made)) == 100
