"""Named statements read what Peewee's own query reads, on both stores:
the same row, every column converted the same way, and nothing for an ID
that is not there or not the caller's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import peewee
import pytest

from bento_server.store import statements
from bento_server.store.database import STATEMENTS, Store, connect, open_database
from bento_server.store.fields import EncodedJSON, encode_json
from bento_server.store.models import (
    App,
    IdempotencyRecord,
    Invoice,
    Payment,
    PlanProduct,
    Product,
    Subscription,
)
from tests.test_audit import Built, migrated_valid_store


@pytest.fixture
def valid(fresh_backend_url: str) -> Iterator[tuple[Store, Built]]:
    """A migrated store with a little of everything (``build_valid_store``),
    open, and the IDs of what it holds."""
    built = migrated_valid_store(fresh_backend_url)
    store = connect(fresh_backend_url)
    yield store, built
    store.close()


def test_a_named_select_reads_what_peewee_reads(valid: tuple[Store, Built]) -> None:
    store, built = valid
    with store.read():
        for name in ("A", "B", "C", "D", "E"):
            expected = Subscription.get_by_id(built[name])
            got = statements.SUBSCRIPTION.first(store, subscription_id=built[name])
            assert got is not None and got.__data__ == expected.__data__, name
            mine = statements.SUBSCRIPTION_OF_PLATFORM.first(
                store, subscription_id=built[name], platform_id=expected.platform_id
            )
            assert mine is not None and mine.__data__ == expected.__data__
        # Instants, documents and NULLs arrive as Python values.
        d = statements.SUBSCRIPTION.first(store, subscription_id=built["D"])
        assert d is not None
        assert d.ended_at == Subscription.get_by_id(built["D"]).ended_at is not None
        assert d.next_billing_date is None and isinstance(d.phases, list)
        for name, owner in (("A1", "A"), ("B2", "B"), ("D1", "D")):
            invoice = Invoice.get_by_id(built[name])
            got_invoice = statements.INVOICE_OF_PLATFORM.first(
                store,
                invoice_id=built[name],
                subscription_id=built[owner],
                platform_id=invoice.platform_id,
            )
            assert got_invoice is not None and got_invoice.__data__ == invoice.__data__
        assert statements.SUBSCRIPTION.first(store, subscription_id="SUB404") is None
        assert (
            statements.SUBSCRIPTION_OF_PLATFORM.first(
                store, subscription_id=built["A"], platform_id="PLSOMEONEELSE"
            )
            is None
        )
        assert (
            statements.INVOICE.first(store, invoice_id=built["A1"], subscription_id=built["B"])
            is None
        ), "an invoice is read only through its own subscription"


def test_a_named_insert_writes_what_create_writes(valid: tuple[Store, Built]) -> None:
    """The same row as ``Model.create`` (defaults, documents, instants,
    foreign keys given by ID), a database-numbered key answered, and a
    broken constraint raised as Peewee's IntegrityError, as callers expect."""
    store, built = valid
    invoice = Invoice.get_by_id(built["A1"])
    named = statements.NamedInsert(Payment)

    def fields(payment_id: str) -> dict[str, object]:
        return {
            "id": payment_id,
            "invoice": invoice.id,
            "subscription_id": invoice.subscription_id,
            "platform": invoice.platform_id,
            "amount": 5,
            "currency": "USD",
            "status": "succeeded",
            "created_at": datetime(2024, 2, 1, 12, 30, 0, 250, tzinfo=UTC),
            "metadata": {"note": "é", "n": [1, 2]},
        }

    with store.write():
        Payment.create(**fields("PAYPEEWEE"))
        answered = named.create(store, **fields("PAYNAMED"))
    assert answered.id == "PAYNAMED" and answered.processor_response == {}
    by_peewee = dict(Payment.get_by_id("PAYPEEWEE").__data__)
    by_name = dict(Payment.get_by_id("PAYNAMED").__data__)
    assert by_peewee.pop("id") == "PAYPEEWEE" and by_name.pop("id") == "PAYNAMED"
    assert by_name == by_peewee

    records = statements.NamedInsert(IdempotencyRecord)
    with store.write():
        first = records.create(
            store,
            api_key_id="AK1",
            key="k",
            method="/m",
            request_hash="h",
            response=b"\x00\xff",
            created_at=datetime(2024, 2, 1, tzinfo=UTC),
        )
        second = records.create(
            store,
            api_key_id="AK1",
            key="k2",
            method="/m",
            request_hash="h",
            response=b"",
            created_at=datetime(2024, 2, 1, tzinfo=UTC),
        )
    assert first.id is not None and second.id == first.id + 1
    assert bytes(IdempotencyRecord.get_by_id(first.id).response) == b"\x00\xff"
    with pytest.raises(peewee.IntegrityError), store.write():
        named.create(store, **fields("PAYNAMED"))


def test_saving_changes_updates_only_what_changed(valid: tuple[Store, Built]) -> None:
    store, built = valid
    with store.write():
        sub = Subscription.get_by_id(built["A"])
        statements.save_changes(store, sub)  # nothing changed: nothing sent
        # A column changed behind this instance's back is not written over.
        Subscription.update(region="CA").where(Subscription.id == built["A"]).execute()
        sub.cycle_count = 7
        sub.metadata = {"changed": True}
        sub.grace_period_end = None
        statements.save_changes(store, sub)
        assert not sub.dirty_fields
    again = Subscription.get_by_id(built["A"])
    assert (again.cycle_count, again.metadata, again.grace_period_end) == (
        7,
        {"changed": True},
        None,
    )
    assert again.region == "CA", "columns that did not change are not written"
    assert Subscription.get_by_id(built["B"]).cycle_count == 2, "only its own row"


def test_the_billing_paths_named_reads_read_what_peewee_reads(
    valid: tuple[Store, Built],
) -> None:
    store, built = valid
    with store.read():
        for name in ("A", "B", "C", "D", "E"):
            sub = Subscription.get_by_id(built[name])
            expected = (
                Invoice.select()
                .where(
                    (Invoice.subscription == sub.id)
                    & (
                        Invoice.status.in_(("open", "draft"))
                        | (Invoice.billing_cycle >= sub.current_cycle)
                    )
                )
                .order_by(Invoice.id)
            )
            live = statements.LIVE_INVOICES.all(
                store, subscription_id=sub.id, current_cycle=sub.current_cycle
            )
            assert [i.__data__ for i in live] == [i.__data__ for i in expected], name
            last = Invoice.select(peewee.fn.MAX(Invoice.billing_cycle)).where(
                Invoice.subscription == sub.id
            )
            got = statements.LAST_CYCLE.first_row(store, subscription_id=sub.id)
            assert got is not None and got[0] == last.scalar()
            products = statements.plan_products(store, sub.plan_id)
            listed = (
                PlanProduct.select(PlanProduct, Product, App)
                .join(Product)
                .join(App)
                .where(PlanProduct.plan == sub.plan_id)
                .order_by(PlanProduct.position)
            )
            assert [(p.product_id, p.price_wholesale, p.features, p.app_id) for p in products] == [
                (r.product.id, r.product.price_wholesale, r.product.features, r.product.app.id)
                for r in listed
            ]
            assert products, "every plan of the store sells a product"
            # A live subscription holds its plan for its user; D ended now.
            held = statements.SUBSCRIPTION_HELD.first_row(
                store,
                platform_id=sub.platform_id,
                session_id=sub.session_id,
                plan_id=sub.plan_id,
                now=Subscription.ended_at.db_value(datetime.now(UTC)),
            )
            assert (held is not None) == (name != "D"), name


def test_prepared_statements_outlive_a_rollback_and_come_back_on_a_new_connection(
    fresh_backend_url: str, valid: tuple[Store, Built]
) -> None:
    if not fresh_backend_url.startswith("postgresql"):
        pytest.skip("statements prepared by the store: PostgreSQL only")
    store, built = valid
    first = statements.SUBSCRIPTION.first(store, subscription_id=built["A"])
    assert first is not None
    with pytest.raises(RuntimeError), store.write():
        assert statements.SUBSCRIPTION_LOCKED.first(store, subscription_id=built["B"])
        raise RuntimeError("rolled back")
    with store.write():
        locked = statements.SUBSCRIPTION_LOCKED.first(store, subscription_id=built["B"])
        assert locked is not None and locked.id == built["B"]
    prepared = store.db.execute_sql("SELECT count(*) FROM pg_prepared_statements")
    assert prepared.fetchone()[0] >= 2
    # The server ends this connection: the next read is sent again on a
    # new one, where the statements are prepared anew.
    other = open_database(fresh_backend_url)  # a second connection, not a second store
    try:
        pid = store.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        other.execute_sql("SELECT pg_terminate_backend(%s)", (pid,))
    finally:
        other.close()
    again = statements.SUBSCRIPTION.first(store, subscription_id=built["A"])
    assert again is not None and again.__data__ == first.__data__
    assert statements.SUBSCRIPTION.first(store, subscription_id=built["C"]) is not None
    with store.write():
        assert statements.SUBSCRIPTION_LOCKED.first(store, subscription_id=built["B"])


def test_reads_by_id_on_the_loop_go_in_batches_and_answer_each_its_own(
    fresh_backend_url: str, valid: tuple[Store, Built]
) -> None:
    """Reads asked together share a round trip; each caller gets its row (a
    copy of its own when two ask for the same), or None for an unknown ID."""
    if not fresh_backend_url.startswith("postgresql"):
        pytest.skip("the loop's own connection: PostgreSQL only")
    store, built = valid
    reads = statements.LoopReads(store, [statements.SUBSCRIPTIONS_AMONG])
    asked = [built["A"], built["B"], "SUB404", built["A"], built["C"], built["D"], built["E"]]

    async def scenario() -> list[Subscription | None]:
        return await asyncio.gather(
            *(reads.by_id(statements.SUBSCRIPTIONS_AMONG, key) for key in asked)
        )

    sent = STATEMENTS._value.get()
    try:
        got = asyncio.run(scenario())
    finally:
        reads.close()
    assert STATEMENTS._value.get() - sent < len(asked), "fewer reads than callers"
    for key, row in zip(asked, got, strict=True):
        if key == "SUB404":
            assert row is None
        else:
            assert row is not None and row.__data__ == Subscription.get_by_id(key).__data__
    assert got[0] is not got[3] and got[0].__data__ is not got[3].__data__  # type: ignore[union-attr]


def test_a_document_encoded_member_by_member_is_the_document_encoded_whole() -> None:
    """Events store their data encoded member by member (the members they
    share encoded once): the text must be the one encoding it whole gives,
    keys sorted the same way, whatever the keys and values."""
    document = {
        "subscription": {"b": 1, "a": [1, 2.5, None], "é": 'ü\n"q"'},
        "Invoice": {"amount": "12.30", "nested": {"z": True, "y": False}},
        "invoice": {},
        "_data": "x",
        "1": [],
    }
    members = {key: encode_json(value) for key, value in document.items()}

    encoded = EncodedJSON.of_members(members)

    assert encoded.text == encode_json(document)
    assert Invoice.metadata.db_value(encoded) == encode_json(document)
    assert json.loads(encoded.text) == document
