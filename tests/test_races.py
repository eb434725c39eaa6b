"""Races on one subscription: concurrent operations end where some serial
order of them would have, with one event per change.

Each round puts a fresh subscription in a starting state (pending, active
with an invoice paid ahead still open, canceled at period end, paused,
trialing), then releases a few operations on it at once (pay, a failed
payment, marking the invoice paid, cancel at period end and now, uncancel,
pause, resume, renew, change plan, past due, exchanging its activation
code). Every call answers, with a success or an expected refusal; never
INTERNAL or UNKNOWN.

Why the end state is reachable by a serial order, and the events match:

1. Every operation here locks the subscription's row before it reads it
   (one write transaction at a time on SQLite), and stores its
   idempotency record in that transaction after the lock. So the records'
   row IDs give the commit order of the successful operations: the order
   in which they ran one after another.
2. A twin subscription is put in the same starting state at the same
   instant (the test clock stands still), and the successful operations
   are replayed on it, one at a time, in that order. Each must succeed
   there too, with the same answer (IDs aside): so each successful
   operation saw exactly the state the serial order had left.
3. The subscription's events written during the race are exactly the
   twin's events (types, and each event's snapshot of the subscription):
   one event per change, in commit order, and nothing from a refused call.
   The end state equals the twin's, which is the serial order's.
4. Each refusal is explained by a state of that serial order: the
   status machine (``billing.status``) or the rules of the operation
   refuse it there, or, for an invoice already paid or void, the invoice
   ends so (those states are final). ABORTED ``concurrent_modification``
   is always allowed: the caller retries.

``tests.consistency.assert_consistent`` checks the whole store at the end.

On a single-active platform one user's subscriptions race for one place
(a holder's end resumes the one waiting; a higher tier pauses the holder).
There the successful calls are few, so every order of them is replayed on
a twin user and the raced end must be one of the serial ends.
"""

from __future__ import annotations

import difflib
import itertools
import pprint
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from bento.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    enums_pb2,
    invoice_pb2,
    payment_pb2,
    subscription_pb2,
)
from bento_server.billing.status import MANUAL_TRANSITIONS
from bento_server.store.database import connect
from bento_server.store.models import IdempotencyRecord
from tests.billing_support import (
    Shop,
    get_invoice,
    get_subscription,
    list_invoices,
    make_shop,
    now,
    pay,
    subscribe,
)
from tests.consistency import assert_consistent
from tests.support import Caller, RunningServer, assert_audit_clean, phases, scaled
from tests.test_crash_safety import _events

E = enums_pb2
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
ABORTED = (grpc.StatusCode.ABORTED, "concurrent_modification")
KINDS = [
    "pay",
    "pay_failed",
    "cancel",
    "cancel_now",
    "uncancel",
    "pause",
    "resume",
    "renew",
    "plan_b",
    "plan_c",
    "past_due",
    "exchange",
    "mark_paid",
]
STARTS = ["pending", "active", "canceling", "paused", "trialing"]
# Fields that name this subscription's own rows: a twin differs only there.
OWN_IDS = frozenset(
    {
        "subscription_id",
        "session_id",
        "invoice_id",
        "payment_id",
        "original_payment_id",
        "activation_session_id",
        "number",
        "invoice_number",
        "jti",
        "activation_url",
        "payment_intent_id",
    }
)


@dataclass
class Plans:
    a: str
    b: str
    c: str
    trial: str


@dataclass
class Start:
    """A subscription in its starting state, and the invoice a payment targets."""

    subscription_id: str
    invoice_id: str
    amount: int
    # The activation codes its paid first invoice (or its trial) issued.
    codes: list[str] = field(default_factory=list)


@dataclass
class Op:
    kind: str
    method: str
    request: Message
    key: str = field(default_factory=lambda: f"race-{uuid.uuid4().hex}")
    response: Message | None = None
    refusal: tuple[grpc.StatusCode, str] | None = None


def _call(caller: Caller, method: str, request: Message, key: str | None = None) -> Any:
    if method == "UpdateInvoice":
        return caller(caller.invoices.UpdateInvoice, request, key=key)
    if method == "ExchangeActivationCode":
        stub = activation_pb2_grpc.ActivationServiceStub(caller.channel)
        return caller(stub.ExchangeActivationCode, request, key=key)
    if method == "CreatePayment":
        return caller(caller.payments.CreatePayment, request, key=key)
    return caller(getattr(caller.subscriptions, method), request, key=key)


def _request(kind: str, start: Start, plans: Plans) -> tuple[str, Message]:
    sub_id = start.subscription_id
    S = subscription_pb2
    if kind in ("pay", "pay_failed"):
        status = E.PAYMENT_RECORD_STATUS_SUCCEEDED
        if kind == "pay_failed":
            status = E.PAYMENT_RECORD_STATUS_FAILED
        return "CreatePayment", payment_pb2.CreatePaymentRequest(
            subscription_id=sub_id, invoice_id=start.invoice_id, amount=start.amount, status=status
        )
    if kind == "mark_paid":
        return "UpdateInvoice", invoice_pb2.UpdateInvoiceRequest(
            subscription_id=sub_id,
            invoice_id=start.invoice_id,
            payment_status=E.PAYMENT_STATUS_PAID,
        )
    if kind == "exchange":
        return "ExchangeActivationCode", activation_pb2.ExchangeActivationCodeRequest(
            activation_code=start.codes[0]
        )
    requests: dict[str, tuple[str, Message]] = {
        "cancel": ("CancelSubscription", S.CancelSubscriptionRequest(subscription_id=sub_id)),
        "cancel_now": (
            "CancelSubscription",
            S.CancelSubscriptionRequest(subscription_id=sub_id, cancel_now=True),
        ),
        "uncancel": (
            "RenewSubscription",
            S.RenewSubscriptionRequest(subscription_id=sub_id, uncancel=True),
        ),
        "renew": (
            "RenewSubscription",
            S.RenewSubscriptionRequest(subscription_id=sub_id, cycles=1),
        ),
        "pause": ("PauseSubscription", S.PauseSubscriptionRequest(subscription_id=sub_id)),
        "resume": ("ResumeSubscription", S.ResumeSubscriptionRequest(subscription_id=sub_id)),
        "plan_b": (
            "UpdateSubscription",
            S.UpdateSubscriptionRequest(subscription_id=sub_id, plan_id=plans.b),
        ),
        "plan_c": (
            "UpdateSubscription",
            S.UpdateSubscriptionRequest(subscription_id=sub_id, plan_id=plans.c),
        ),
        "past_due": (
            "UpdateSubscription",
            S.UpdateSubscriptionRequest(
                subscription_id=sub_id, status=E.SUBSCRIPTION_STATUS_PAST_DUE
            ),
        ),
    }
    return requests[kind]


def _start(caller: Caller, kind: str, plans: Plans) -> Start:
    """A new subscription in the starting state ``kind``."""
    if kind == "trialing":
        created = subscribe(caller, plans.trial)
        invoice = created.invoice
        codes = [_code(u.activation_url) for u in created.activation_urls]
        return Start(created.subscription.subscription_id, invoice.invoice_id, 999, codes)
    created = subscribe(caller, plans.a)
    sub_id, invoice = created.subscription.subscription_id, created.invoice
    if kind == "pending":
        return Start(sub_id, invoice.invoice_id, invoice.amounts.total_amount)
    paid = pay(caller, sub_id, invoice.invoice_id, invoice.amounts.total_amount)
    codes = [_code(u.activation_url) for u in paid.activation_urls]
    ahead = _call(
        caller, "RenewSubscription", subscription_pb2.RenewSubscriptionRequest(
            subscription_id=sub_id, cycles=1
        )
    ).invoices[0]  # fmt: skip
    if kind == "canceling":
        _call(caller, "CancelSubscription", subscription_pb2.CancelSubscriptionRequest(
            subscription_id=sub_id
        ))  # fmt: skip
    elif kind == "paused":
        _call(caller, "PauseSubscription", subscription_pb2.PauseSubscriptionRequest(
            subscription_id=sub_id
        ))  # fmt: skip
    return Start(sub_id, ahead.invoice_id, ahead.amounts.total_amount, codes)


def _code(url: str) -> str:
    return url.rpartition("code=")[2]


def _refusal(error: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, f"no rich status: {error.code()} {error.details()}"
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            assert info.domain == "bento", info
            return error.code(), info.reason
    raise AssertionError(f"no ErrorInfo: {error.code()} {error.details()}")


def _race(arena: Arena, ops: list[Op]) -> None:
    """Releases every operation at once; records each answer."""
    barrier = threading.Barrier(len(ops))
    crashed: list[BaseException] = []

    def run(caller: Caller, op: Op) -> None:
        try:
            barrier.wait()
            try:
                op.response = _call(caller, op.method, op.request, key=op.key)
            except grpc.RpcError as error:
                op.refusal = _refusal(error)
        except BaseException as error:  # reported by the main thread
            crashed.append(error)

    threads = [
        threading.Thread(target=run, args=(arena.caller(i, op.method), op))
        for i, op in enumerate(ops)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if crashed:
        raise crashed[0]


def _commit_order(url: str, key_ids: list[str], ops: list[Op]) -> list[Op]:
    """The successful operations in the order their transactions committed."""
    succeeded = {op.key: op for op in ops if op.response is not None}
    store = connect(url)
    try:
        rows = list(
            IdempotencyRecord.select(IdempotencyRecord.key)
            .where(
                IdempotencyRecord.api_key_id.in_(key_ids)
                & IdempotencyRecord.key.in_(list(succeeded) or [""])
            )
            .order_by(IdempotencyRecord.id)
            .tuples()
        )
    finally:
        store.close()
    order = [succeeded[key] for (key,) in rows]
    assert len(order) == len(succeeded), "a successful operation stored no answer"
    refused = {op.key for op in ops if op.response is None}
    assert not refused & {key for (key,) in rows}, "a refused operation stored an answer"
    return order


def _without_own_ids(value: Any) -> Any:
    """A message or event snapshot with this subscription's own IDs blanked."""
    if isinstance(value, Message):
        copy = type(value)()
        copy.CopyFrom(value)
        _blank(copy)
        return copy
    if isinstance(value, dict):
        return {k: _without_own_ids(v) for k, v in value.items() if k not in OWN_IDS}
    if isinstance(value, list):
        return [_without_own_ids(v) for v in value]
    return value


def _blank(message: Message) -> None:
    for descriptor, value in message.ListFields():
        if descriptor.name in OWN_IDS:
            message.ClearField(descriptor.name)
        elif descriptor.message_type is not None and not (
            descriptor.message_type.GetOptions().map_entry
        ):
            for inner in value if descriptor.is_repeated else [value]:
                _blank(inner)


def _same(raced: Any, serial: Any, what: str) -> None:
    """Fails with the lines where the raced and the serial values differ."""
    raced, serial = _without_own_ids(raced), _without_own_ids(serial)
    if raced != serial:
        lines = difflib.unified_diff(
            pprint.pformat(raced).splitlines()
            if not isinstance(raced, Message)
            else str(raced).splitlines(),
            pprint.pformat(serial).splitlines()
            if not isinstance(serial, Message)
            else str(serial).splitlines(),
            "raced",
            "serial",
            lineterm="",
            n=2,
        )
        raise AssertionError(f"{what}:\n" + "\n".join(lines))


def _history(caller: Caller, subscription_id: str, after: int) -> list[tuple[str, Any]]:
    """The subscription's events after sequence ``after``: type and snapshot."""
    return [
        (e.type, _without_own_ids(dict(e.data["subscription"])))
        for e in _events(caller, subscription_id=subscription_id)
        if e.sequence > after
    ]


def _newest_sequence(caller: Caller, subscription_id: str) -> int:
    return _events(caller, subscription_id=subscription_id)[-1].sequence


@dataclass
class State:
    """What refusals depend on, at one point of the serial order."""

    status: str
    payment_status: str
    plan_id: str
    cancel_at_period_end: bool
    ended_at: datetime | None


def _state(sub: subscription_pb2.Subscription) -> State:
    ended = sub.cancellation.ended_at if sub.cancellation.HasField("ended_at") else None
    return State(
        E.SubscriptionStatus.Name(sub.status).removeprefix("SUBSCRIPTION_STATUS_").lower(),
        E.PaymentStatus.Name(sub.payment_status).removeprefix("PAYMENT_STATUS_").lower(),
        sub.plan_id,
        sub.cancellation.cancel_at_period_end,
        ended.ToDatetime(tzinfo=UTC) if ended is not None else None,
    )


def _refused_here(kind: str, s: State, at: datetime, plans: Plans) -> set[str]:
    """The reasons the serial rules refuse ``kind`` with in state ``s``."""
    transitions = MANUAL_TRANSITIONS.get(s.status, frozenset())
    ends_later = s.ended_at is not None and s.ended_at > at
    invalid = "invalid_status_transition"
    rules: dict[str, Callable[[], set[str]]] = {
        "pause": lambda: (
            {invalid} if s.status == "paused" or "paused" not in transitions else set()
        ),
        "resume": lambda: {invalid} if s.status != "paused" else set(),
        "cancel": lambda: {invalid} if s.status == "canceled" else set(),
        "cancel_now": lambda: {invalid} if s.status == "canceled" and not ends_later else set(),
        "uncancel": lambda: (
            set() if s.status == "canceled" and s.cancel_at_period_end and ends_later else {invalid}
        ),
        "renew": lambda: (
            set() if s.status == "active" and s.payment_status == "paid" else {invalid}
        ),
        "past_due": lambda: (
            {invalid} if s.status != "past_due" and "past_due" not in transitions else set()
        ),
        "plan_b": lambda: _plan_refusals(s, plans.b),
        "plan_c": lambda: _plan_refusals(s, plans.c),
    }
    return rules[kind]() if kind in rules else set()


def _plan_refusals(s: State, plan_id: str) -> set[str]:
    if s.status not in ("pending", "trialing", "active", "past_due"):
        return {"invalid_status_transition"}
    return {"invalid_argument"} if s.plan_id == plan_id else set()


@dataclass
class Arena:
    server: RunningServer
    shop: Shop
    plans: Plans
    callers: list[Caller]
    publishers: list[Caller]
    key_ids: list[str]

    def caller(self, index: int, method: str) -> Caller:
        group = self.publishers if method == "ExchangeActivationCode" else self.callers
        return group[index]


def _arena(server: RunningServer) -> Arena:
    shop = make_shop(server, can_pause=True)
    plans = Plans(
        a=shop.plan_id,
        b=shop.plan(can_pause=True, prices={"US": phases((1999, None))}),
        c=shop.plan(can_pause=True, prices={"US": phases((499, 2), (1499, None))}),
        trial=shop.plan(can_pause=True, free_trial_days=14),
    )
    credential, publisher = shop.platform.credential, shop.tenancy.publisher.credential
    assert credential is not None and publisher is not None
    return Arena(
        server,
        shop,
        plans,
        [server.caller(credential) for _ in range(len(KINDS))],
        [server.caller(publisher) for _ in range(len(KINDS))],
        [credential.split(":")[0], publisher.split(":")[0]],
    )


def _round(arena: Arena, start_kind: str, kinds: list[str]) -> list[Op]:
    p = arena.shop.platform
    start = _start(p, start_kind, arena.plans)
    before = _newest_sequence(p, start.subscription_id)
    if not start.codes:  # nothing paid yet: no code to exchange
        kinds = ["pay" if kind == "exchange" else kind for kind in kinds]
    ops = [Op(kind, *_request(kind, start, arena.plans)) for kind in kinds]
    _race(arena, ops)
    at = now(arena.shop.admin).ToDatetime(tzinfo=UTC)

    for op in ops:
        if op.refusal is not None:
            assert op.refusal[0] not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), op
    order = _commit_order(arena.server.database_url, arena.key_ids, ops)

    # The serial order, replayed on a twin in the same starting state.
    twin = _start(p, start_kind, arena.plans)
    twin_before = _newest_sequence(p, twin.subscription_id)
    states = [_state(get_subscription(p, twin.subscription_id))]
    for op in order:
        method, request = _request(op.kind, twin, arena.plans)
        try:
            answer = _call(arena.caller(0, method), method, request)
        except grpc.RpcError as error:
            raise AssertionError(
                f"{op.kind} succeeded in the race but is refused in its commit order "
                f"{[o.kind for o in order]} from {start_kind}: {_refusal(error)}"
            ) from None
        _same(
            op.response,
            answer,
            f"{op.kind} answered otherwise than in its commit order "
            f"{[o.kind for o in order]} from {start_kind}",
        )
        states.append(_state(get_subscription(p, twin.subscription_id)))

    # One event per change, in commit order, none from a refused call.
    raced = _history(p, start.subscription_id, before)
    serial = _history(p, twin.subscription_id, twin_before)
    history = f"{[o.kind for o in order]} from {start_kind}"
    _same(raced, serial, f"the events of {history} are not those of its serial order")
    _same(
        get_subscription(p, start.subscription_id),
        get_subscription(p, twin.subscription_id),
        f"{history} ended otherwise than its serial order",
    )

    # Every refusal holds at some point of the serial order.
    invoice = get_invoice(p, start.subscription_id, start.invoice_id)
    for op in ops:
        if op.refusal is None or op.refusal == ABORTED:
            continue
        code, reason = op.refusal
        if op.kind in ("pay", "pay_failed", "mark_paid"):
            final = {
                E.INVOICE_STATUS_PAID: {"invoice_already_paid"},
                # A cycle paid ahead is void once a cancel or plan change
                # forgoes it: a pay may have found it paid on the way.
                E.INVOICE_STATUS_VOID: {"invoice_void", "invoice_already_paid"},
            }
            assert code == PRECONDITION, op
            assert reason in final.get(invoice.status, set()), (op, invoice.status)
            continue
        if op.kind == "exchange":
            # Only the first exchange of a code wins.
            assert op.refusal == (PRECONDITION, "activation_code_already_used"), op
            assert any(o.kind == "exchange" for o in order), op
            continue
        expected_code = (
            grpc.StatusCode.INVALID_ARGUMENT if reason == "invalid_argument" else PRECONDITION
        )
        assert code == expected_code, op
        assert any(reason in _refused_here(op.kind, s, at, arena.plans) for s in states), (
            f"{op.kind} was refused ({reason}) in no state of the serial order "
            f"{[o.kind for o in order]} from {start_kind}: {states}"
        )
    return ops


def test_concurrent_operations_end_in_a_serial_state_with_matching_events(
    server: RunningServer,
) -> None:
    arena = _arena(server)
    rng = random.Random(7_411)
    outcomes: dict[str, int] = {}
    for number in range(scaled(10, 150)):
        start_kind = STARTS[number % len(STARTS)]
        kinds = rng.choices(KINDS, k=rng.randint(3, 6))
        for op in _round(arena, start_kind, kinds):
            outcome = "ok" if op.response is not None else (op.refusal or ("", ""))[1]
            outcomes[f"{op.kind}:{outcome}"] = outcomes.get(f"{op.kind}:{outcome}", 0) + 1
    # The rounds raced for real: some operations won and some lost.
    assert sum(n for k, n in outcomes.items() if k.endswith(":ok")) >= 10, outcomes
    assert sum(n for k, n in outcomes.items() if not k.endswith(":ok")) >= 5, outcomes
    assert_consistent(server.database_url)
    assert_audit_clean(server.database_url)


def test_pairs_of_operations_race_from_each_start(server: RunningServer) -> None:
    """Pairs of operations (the same one twice too), released together: in
    the long run every pair from two starting states, so that each pair
    meets each start every few runs of the suite."""
    arena = _arena(server)
    pairs = [(a, b) for i, a in enumerate(KINDS) for b in KINDS[i:]]
    rng = random.Random()
    chosen = pairs if scaled(0, 1) else rng.sample(pairs, 12)
    for a, b in chosen:
        for start_kind in rng.sample(STARTS, scaled(1, 2)):
            _round(arena, start_kind, [a, b])
    assert_consistent(server.database_url)
    assert_audit_clean(server.database_url)


def test_an_exchange_racing_a_change_describes_the_subscription_after_it(
    server: RunningServer,
) -> None:
    """ExchangeActivationCode writes an event about the subscription; a
    change committed just before it must show in that event."""
    arena = _arena(server)
    for number in range(scaled(20, 60)):
        change = ["pause", "cancel", "cancel_now", "plan_b"][number % 4]
        _round(arena, "active", ["exchange", change])
    assert_audit_clean(server.database_url)


# --- one user, one place: Subgate's single active subscription ---------------------------


@dataclass
class Place:
    """A user's subscriptions on a single-active platform: ``holder`` (tier 1,
    paid) and ``waiting`` (tier 1, paused until the holder ends)."""

    session_id: str
    holder: str
    waiting: str
    draft_invoice: str
    draft_amount: int


def _place(shop: Shop, plans: dict[str, str]) -> Place:
    p = shop.platform
    session = f"user-{uuid.uuid4().hex[:10]}"
    held = subscribe(p, plans["low"], session_id=session)
    holder = held.subscription.subscription_id
    pay(p, holder, held.invoice.invoice_id, held.invoice.amounts.total_amount)
    waiting = subscribe(p, plans["other_low"], session_id=session)
    assert waiting.subscription.status == E.SUBSCRIPTION_STATUS_PAUSED
    return Place(
        session,
        holder,
        waiting.subscription.subscription_id,
        waiting.invoice.invoice_id,
        waiting.invoice.amounts.total_amount,
    )


def _place_request(kind: str, place: Place, plans: dict[str, str]) -> tuple[str, Message]:
    S = subscription_pb2
    if kind == "subscribe_higher":
        return "CreateSubscription", S.CreateSubscriptionRequest(
            session_id=place.session_id, plan_id=plans["high"], region="US"
        )
    if kind == "pay_waiting":
        return "CreatePayment", payment_pb2.CreatePaymentRequest(
            subscription_id=place.waiting,
            invoice_id=place.draft_invoice,
            amount=place.draft_amount,
            status=E.PAYMENT_RECORD_STATUS_SUCCEEDED,
        )
    target = place.holder if kind.endswith("holder") else place.waiting
    if kind.startswith("cancel"):
        return "CancelSubscription", S.CancelSubscriptionRequest(
            subscription_id=target, cancel_now=True
        )
    return "PauseSubscription", S.PauseSubscriptionRequest(subscription_id=target)


def _place_state(caller: Caller, place: Place) -> Any:
    """Everything about the user's subscriptions, without their own IDs."""
    listed = caller(
        caller.subscriptions.ListSubscriptions,
        subscription_pb2.ListSubscriptionsRequest(session_id=place.session_id, page_size=100),
    ).subscriptions
    subs = sorted(listed, key=lambda s: s.subscription_id)
    invoices = [
        [_without_own_ids(i) for i in reversed(list_invoices(caller, s.subscription_id))]
        for s in subs
    ]
    return [_without_own_ids(s) for s in subs], invoices


def test_one_users_subscriptions_racing_for_one_place_end_in_a_serial_state(
    server: RunningServer,
) -> None:
    """A holder's end resumes the subscription waiting for its place, and a
    higher tier pauses the holder: racing with changes to those
    subscriptions, each ends as in some serial order of the calls that
    succeeded, and the store stays consistent."""
    shop = make_shop(server, single_active=True, can_pause=True)
    plans = {
        "low": shop.plan_id,
        "other_low": shop.plan(can_pause=True),
        "high": shop.plan(tier=2, can_pause=True),
    }
    credential = shop.platform.credential
    assert credential is not None
    callers = [server.caller(credential) for _ in range(2)]
    races = [
        ("cancel_holder", "cancel_waiting"),
        ("cancel_holder", "pay_waiting"),
        ("subscribe_higher", "cancel_holder"),
        ("subscribe_higher", "pause_holder"),
        ("cancel_holder", "pause_holder"),
    ]
    for number in range(scaled(10, 50)):
        kinds = races[number % len(races)]
        place = _place(shop, plans)
        ops = [Op(kind, *_place_request(kind, place, plans)) for kind in kinds]
        barrier = threading.Barrier(len(ops))

        def run(caller: Caller, op: Op, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                op.response = _call(caller, op.method, op.request)
            except grpc.RpcError as error:
                op.refusal = _refusal(error)

        threads = [
            threading.Thread(target=run, args=(c, o)) for c, o in zip(callers, ops, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for op in ops:
            assert op.refusal is None or op.refusal[0] not in (
                grpc.StatusCode.INTERNAL,
                grpc.StatusCode.UNKNOWN,
            ), op
        raced = _place_state(shop.platform, place)
        succeeded = [op.kind for op in ops if op.response is not None]
        serial_ends = []
        for order in itertools.permutations(succeeded):
            twin = _place(shop, plans)
            try:
                for kind in order:
                    _call(shop.platform, *_place_request(kind, twin, plans))
            except grpc.RpcError:
                continue  # not a serial order in which all of them succeed
            serial_ends.append(_place_state(shop.platform, twin))
        if raced not in serial_ends:
            differences = [
                "\n".join(
                    difflib.unified_diff(
                        pprint.pformat(raced).splitlines(),
                        pprint.pformat(end).splitlines(),
                        "raced",
                        "serial",
                        lineterm="",
                        n=2,
                    )
                )
                for end in serial_ends
            ]
            raise AssertionError(
                f"{kinds} ({[(o.kind, o.refusal) for o in ops]}) ended in no serial state:\n"
                + "\n\n".join(differences)
            )
    assert_consistent(server.database_url)
    assert_audit_clean(server.database_url)
