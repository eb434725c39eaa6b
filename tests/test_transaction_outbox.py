"""What a write transaction keeps until its end, on both stores: the event
log's rows (the outbox, written together just before COMMIT or at the end
of a savepoint that asks for it), the writes ``held_writes`` holds back
(sent together before anything else), and the catalog reads ``memo``
keeps for one caller's write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import peewee
import pytest

from bento_server.clock import TestClock
from bento_server.store import statements
from bento_server.store.database import SEND_AHEAD, STATEMENTS, connect
from bento_server.store.models import Event, PlanProduct, Subscription
from bento_server.usecases import events
from bento_server.usecases.context import Deps
from tests.support import refuse_events
from tests.test_audit import Built, migrated_valid_store

NOW = datetime(2031, 3, 1, tzinfo=UTC)


@pytest.fixture
def valid(fresh_backend_url: str) -> Iterator[tuple[Deps, Built]]:
    built = migrated_valid_store(fresh_backend_url)
    store = connect(fresh_backend_url)
    yield Deps(store=store, clock=TestClock(NOW)), built
    store.close()


def _logged(subscription_id: str) -> list[str]:
    """The types of the subscription's events after NOW, in sequence order."""
    query = (
        Event.select(Event.type)
        .where((Event.subscription_id == subscription_id) & (Event.occurred_at >= NOW))
        .order_by(Event.sequence)
    )
    return [row.type for row in query]


def _append(deps: Deps, subscription_id: str, event_type: str) -> None:
    events.append(deps, event_type, Subscription.get_by_id(subscription_id), NOW)


def test_a_transactions_events_are_written_at_its_end_in_the_order_appended(
    valid: tuple[Deps, Built],
) -> None:
    deps, built = valid
    sub = built["A"]
    with deps.store.write():
        _append(deps, sub, "subscription.paused")
        _append(deps, sub, "subscription.resumed")
        assert _logged(sub) == [], "not written before the transaction's end"
        _append(deps, sub, "subscription.canceled")
    assert _logged(sub) == [
        "subscription.paused",
        "subscription.resumed",
        "subscription.canceled",
    ]
    sequences = [e.sequence for e in Event.select().order_by(Event.sequence)]
    assert sequences == sorted(set(sequences)), "numbered in order, each once"


def test_a_savepoint_that_fails_takes_its_events_back(valid: tuple[Deps, Built]) -> None:
    deps, built = valid
    sub = built["A"]
    with deps.store.write():
        _append(deps, sub, "subscription.paused")
        with pytest.raises(LookupError), deps.store.savepoint():
            _append(deps, sub, "subscription.resumed")
            raise LookupError("this part fails")
        with deps.store.savepoint():
            _append(deps, sub, "subscription.canceled")
    assert _logged(sub) == ["subscription.paused", "subscription.canceled"]
    with pytest.raises(LookupError), deps.store.write():
        _append(deps, sub, "subscription.expired")
        raise LookupError("the whole fails")
    assert _logged(sub) == ["subscription.paused", "subscription.canceled"]


def test_a_savepoint_that_flushes_fails_alone_when_its_events_are_refused(
    valid: tuple[Deps, Built],
) -> None:
    """Its events are written at its end, in it: a refused insert fails that
    part only, where at COMMIT it would fail the whole transaction."""
    deps, built = valid
    refuse_events(deps.store, "subscription.expired")
    with deps.store.write():
        _append(deps, built["A"], "subscription.paused")
        with pytest.raises(peewee.DatabaseError), deps.store.savepoint(flush=True):
            _append(deps, built["B"], "subscription.expired")
        with deps.store.savepoint(flush=True):
            _append(deps, built["C"], "subscription.resumed")
    assert _logged(built["A"]) == ["subscription.paused"]
    assert _logged(built["B"]) == []
    assert _logged(built["C"]) == ["subscription.resumed"]
    with pytest.raises(peewee.DatabaseError), deps.store.write():
        _append(deps, built["A"], "subscription.resumed")
        _append(deps, built["B"], "subscription.expired")
    assert _logged(built["A"]) == ["subscription.paused"], "refused at COMMIT: nothing kept"


def _cycle(subscription_id: str) -> int:
    return int(Subscription.get_by_id(subscription_id).cycle_count)


def test_held_writes_are_sent_before_a_read_and_dropped_by_a_rollback(
    valid: tuple[Deps, Built],
) -> None:
    deps, built = valid
    store = deps.store
    a, b = Subscription.get_by_id(built["A"]), Subscription.get_by_id(built["B"])
    with store.write(), store.held_writes():
        a.cycle_count = 41
        statements.save_changes(store, a)
        assert _cycle(built["A"]) == 41, "a read sees what was held before it"
        with pytest.raises(LookupError), store.savepoint():
            b.cycle_count = 42
            statements.save_changes(store, b)
            raise LookupError("this part fails")
        a.cycle_count = 43
        statements.save_changes(store, a)
    assert (_cycle(built["A"]), _cycle(built["B"])) == (43, 2)


def test_a_held_writes_error_surfaces_by_the_blocks_end(valid: tuple[Deps, Built]) -> None:
    deps, built = valid
    store = deps.store
    existing = Subscription.get_by_id(built["A"])
    with pytest.raises(peewee.IntegrityError), store.write(), store.held_writes():
        statements.NEW_SUBSCRIPTION.create(store, **{**existing.__data__, "status": "x"})
    assert Subscription.get_by_id(built["A"]).status == existing.status


def test_a_plans_products_are_read_once_per_write(valid: tuple[Deps, Built]) -> None:
    deps, built = valid
    store = deps.store
    plan_id = Subscription.get_by_id(built["A"]).plan_id
    with store.write():
        first = statements.plan_products(store, plan_id)
        sent = STATEMENTS._value.get()
        assert statements.plan_products(store, plan_id) == first
        assert STATEMENTS._value.get() == sent, "the second read sent nothing"
        PlanProduct.delete().where(PlanProduct.plan == plan_id).execute()
    assert first, "the plan sells products"
    with store.write():
        assert statements.plan_products(store, plan_id) == (), "a new write reads again"


def test_held_writes_sent_ahead_arrive_in_order_and_a_rollback_takes_them_back(
    valid: tuple[Deps, Built],
) -> None:
    """More than ``SEND_AHEAD`` writes: batches go on from a sender thread
    while more are held, and still arrive one after another, in order."""
    deps, built = valid
    store = deps.store
    a, b = Subscription.get_by_id(built["A"]), Subscription.get_by_id(built["B"])
    count = 3 * SEND_AHEAD + 5
    with store.write(), store.held_writes():
        for n in range(1, count + 1):
            a.cycle_count = n
            statements.save_changes(store, a)
        with pytest.raises(LookupError), store.savepoint():
            for n in range(count):
                b.cycle_count = 1000 + n
                statements.save_changes(store, b)
            raise LookupError("this part fails after its writes went on")
    assert (_cycle(built["A"]), _cycle(built["B"])) == (count, 2)


def test_a_write_that_fails_on_its_way_fails_the_block(valid: tuple[Deps, Built]) -> None:
    deps, built = valid
    store = deps.store
    existing = Subscription.get_by_id(built["A"])
    a = Subscription.get_by_id(built["A"])
    with pytest.raises(peewee.IntegrityError), store.write(), store.held_writes():
        statements.NEW_SUBSCRIPTION.create(store, **{**existing.__data__, "status": "x"})
        for n in range(2 * SEND_AHEAD):  # the failed batch goes on meanwhile
            a.cycle_count = 100 + n
            statements.save_changes(store, a)
    assert _cycle(built["A"]) == existing.cycle_count
