"""SQLite's writer that commits several callers' work in one transaction.

In-process on a real SQLite file: a failing caller fails alone, nobody's
answer comes before the COMMIT that holds its work, the outermost write of a
caller is a savepoint (as if it ran alone), a transaction SQLite rolled back
whole fails those that ran in it and reruns the rest. Over the wire: a
server SIGKILLed while groups of commits are in flight kept every
acknowledged write, and every unacknowledged one, retried with its
idempotency key, is done exactly once.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import grpc
import peewee
import pytest

from bento.v1 import enums_pb2, payment_pb2, subscription_pb2
from bento_server.store.database import COMMITS, Store, connect
from bento_server.store.group_writer import GroupWriter
from tests.billing_support import make_shop
from tests.helpers.metrics import sample, scrape
from tests.support import (
    Caller,
    assert_audit_clean,
    free_port,
    scaled,
    start_server,
    unique,
)

# --- the writer, in process ----------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = connect(f"sqlite:///{tmp_path}/group.db")
    store.db.execute_sql("CREATE TABLE note (name TEXT PRIMARY KEY)")
    yield store
    store.close()


def _notes(store: Store) -> set[str]:
    # A reader of its own: what a reader sees is what was committed.
    with sqlite3.connect(store.db.database) as reader:
        return {row[0] for row in reader.execute("SELECT name FROM note")}


def _add(store: Store, *names: str) -> Any:
    def work() -> str:
        with store.write():
            for name in names:
                store.db.execute_sql("INSERT INTO note (name) VALUES (?)", (name,))
        return ",".join(names)

    return work


def _held(writer: GroupWriter, store: Store) -> tuple[threading.Event, Future[Any]]:
    """A first job that keeps the writer busy until released, so what is
    submitted meanwhile queues and runs as one group."""
    release, started = threading.Event(), threading.Event()

    def hold() -> str:
        started.set()
        release.wait(10)
        return _add(store, "first")()  # type: ignore[no-any-return]

    held = writer.submit(hold)
    assert started.wait(10)
    return release, held


def test_callers_who_queued_commit_together_and_one_failure_fails_alone(store: Store) -> None:
    writer = GroupWriter(store)
    try:
        release, first = _held(writer, store)
        before = COMMITS._value.get()
        # "a" twice: the second insert of it breaks the key and fails its caller.
        jobs = [writer.submit(_add(store, name)) for name in ("a", "b", "a", "c")]
        broken = writer.submit(_add(store, "d", "b"))  # its "d" goes with it
        release.set()
        assert first.result(10) == "first"
        first_a, b, second_a, c = jobs
        assert (first_a.result(10), b.result(10), c.result(10)) == ("a", "b", "c")
        with pytest.raises(peewee.IntegrityError):
            second_a.result(10)
        with pytest.raises(peewee.IntegrityError):
            broken.result(10)
        assert _notes(store) == {"first", "a", "b", "c"}
        # The held job's transaction and one for the five that queued behind it.
        assert COMMITS._value.get() - before == 2
    finally:
        writer.close()


def test_no_answer_before_its_commit(store: Store) -> None:
    writer = GroupWriter(store)
    seen: list[set[str]] = []
    try:
        release, first = _held(writer, store)
        job = writer.submit(_add(store, "x"))

        looked = threading.Event()

        def look(_: Future[Any]) -> None:
            # Runs as the answer is settled, before anyone could send it.
            seen.append(_notes(store))
            looked.set()

        job.add_done_callback(look)
        release.set()
        assert looked.wait(10)
        assert job.result(10) == "x" and first.result(10) == "first"
        assert seen == [{"first", "x"}], "an answer came before its commit"
    finally:
        writer.close()


def test_a_caller_that_catches_its_failed_write_keeps_only_what_it_wrote_after(
    store: Store,
) -> None:
    """As alone: the outermost write is a transaction of its own, so a
    caller that recovers from its failure has none of its rows left."""
    writer = GroupWriter(store)

    def recovers() -> str:
        try:
            with store.write():
                store.db.execute_sql("INSERT INTO note (name) VALUES ('kept-not')")
                store.db.execute_sql("INSERT INTO note (name) VALUES ('dup')")
        except peewee.IntegrityError:
            with store.write():
                store.db.execute_sql("INSERT INTO note (name) VALUES ('after')")
        return "recovered"

    try:
        assert writer.submit(_add(store, "dup")).result(10) == "dup"
        assert writer.submit(recovers).result(10) == "recovered"
        assert _notes(store) == {"dup", "after"}
    finally:
        writer.close()


def test_a_transaction_rolled_back_whole_fails_who_ran_in_it_and_reruns_the_rest(
    store: Store,
) -> None:
    writer = GroupWriter(store)
    try:
        release, first = _held(writer, store)
        ran_before = writer.submit(_add(store, "lost"))

        def aborts() -> None:
            # What SQLite does on a full disk or an I/O error: the whole
            # transaction is rolled back under the caller.
            store.db.connection().rollback()
            raise sqlite3.OperationalError("disk I/O error")

        aborted = writer.submit(aborts)
        after = writer.submit(_add(store, "later"))
        release.set()
        assert first.result(10) == "first"
        for job in (ran_before, aborted):
            with pytest.raises(peewee.OperationalError, match="rolled back"):
                job.result(10)
        assert after.result(10) == "later"
        assert _notes(store) == {"first", "later"}
    finally:
        writer.close()


# --- SIGKILL with groups in flight ---------------------------------------------------


def _commits(port: int) -> float:
    commits = sample(scrape(port), "bento_store_commits_total")
    assert commits is not None, "no commit counter"
    return commits


def test_groups_cut_by_sigkill_keep_every_acknowledged_write_and_retries_happen_once(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    url = fresh_backend_url
    port = free_port()
    extra = ("--metrics-address", f"127.0.0.1:{port}")
    server = start_server(url, tmp_path, extra=extra)
    shop = make_shop(server)
    platform = shop.platform.credential
    assert platform is not None
    sessions = [unique("group") for _ in range(scaled(120, 600))]
    acknowledged: dict[str, str] = {}  # session → subscription ID
    paid: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    queue = list(sessions)
    rng = random.Random(20_261_129)

    def work() -> None:
        caller = Caller(grpc.insecure_channel(server.address), platform)
        while not stop.is_set():
            with lock:
                if not queue:
                    return
                session = queue.pop()
            try:
                created = caller(
                    caller.subscriptions.CreateSubscription,
                    subscription_pb2.CreateSubscriptionRequest(
                        session_id=session, plan_id=shop.plan_id
                    ),
                    key=f"create-{session}",
                    timeout=10,
                )
                with lock:
                    acknowledged[session] = created.subscription.subscription_id
                caller(
                    caller.payments.CreatePayment,
                    _payment(created),
                    key=f"pay-{session}",
                    timeout=10,
                )
                with lock:
                    paid.add(session)
            except grpc.RpcError:
                return  # the server is gone

    threads = [threading.Thread(target=work) for _ in range(16)]
    commits_before = _commits(port)
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    kill_after = rng.randint(len(sessions) // 4, len(sessions) // 2)
    while len(paid) < kill_after and time.monotonic() < deadline:
        time.sleep(0.002)
    if not url.startswith("postgresql"):
        # Each flow committed two mutations; in groups, far fewer commits.
        commits = _commits(port) - commits_before
        with lock:
            mutations = len(acknowledged) + len(paid)
        assert commits < mutations, "no group held more than one caller's work"
    server.process.kill()
    stop.set()
    for thread in threads:
        thread.join(30)
    server.stop()
    assert len(paid) >= kill_after, "the load stalled before the kill"
    cut = [s for s in sessions if s not in paid]
    assert cut, "the kill cut no flow short"

    server = start_server(url, tmp_path)
    try:
        caller = server.caller(platform)
        # Every acknowledged write is there.
        for session, subscription_id in acknowledged.items():
            got = caller(
                caller.subscriptions.GetSubscription,
                subscription_pb2.GetSubscriptionRequest(subscription_id=subscription_id),
            ).subscription
            assert got.session_id == session
            if session in paid:
                assert got.status == enums_pb2.SUBSCRIPTION_STATUS_ACTIVE, session
        # Every flow, retried with its keys, ends done once.
        for session in sessions:
            created = caller(
                caller.subscriptions.CreateSubscription,
                subscription_pb2.CreateSubscriptionRequest(
                    session_id=session, plan_id=shop.plan_id
                ),
                key=f"create-{session}",
            )
            if session in acknowledged:
                assert created.subscription.subscription_id == acknowledged[session]
            payment = caller(
                caller.payments.CreatePayment, _payment(created), key=f"pay-{session}"
            ).payment
            held = caller(
                caller.subscriptions.ListSubscriptions,
                subscription_pb2.ListSubscriptionsRequest(session_id=session),
            ).subscriptions
            assert [s.subscription_id for s in held] == [created.subscription.subscription_id]
            payments = caller(
                caller.payments.ListPayments,
                payment_pb2.ListPaymentsRequest(
                    subscription_id=created.subscription.subscription_id,
                    invoice_id=created.invoice.invoice_id,
                ),
            ).payments
            assert [p.payment_id for p in payments] == [payment.payment_id], session
    finally:
        server.stop()
    assert_audit_clean(url)


def _payment(created: Any) -> payment_pb2.CreatePaymentRequest:
    return payment_pb2.CreatePaymentRequest(
        subscription_id=created.subscription.subscription_id,
        invoice_id=created.invoice.invoice_id,
        amount=created.invoice.amounts.total_amount,
        status=enums_pb2.PAYMENT_RECORD_STATUS_SUCCEEDED,
    )
