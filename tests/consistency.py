"""Invariants of a whole Bento store, read straight from the database.

``assert_consistent(url)`` opens the store at ``url`` (SQLite or
PostgreSQL), reads everything in one snapshot (a running server may keep
writing) and raises ``AssertionError`` listing every broken invariant with
the IDs that break it. The crash, race and fuzz suites call it after doing
their worst; it checks only what must hold whatever happened before:

- nothing half-written: no invoice without its subscription, no payment
  without its invoice, no activation session or item without its owner, no
  event naming something that does not exist;
- money adds up: an invoice's amounts are the billing rules applied to its
  subtotal, ``amount_paid`` is the sum of its succeeded charges (or its total
  when it was marked paid by hand), ``amount_refunded`` the sum of refunds
  that returned money, never more than was paid;
- a subscription agrees with its current invoice and with its own fields
  (docs/rules.md's billing rules: pending is unpaid, canceled has ended,
  paused knows since when, a live one renews at its period end, ...);
- the event log is an outbox: sequences are unique and above what retention
  pruned (and dense on SQLite, whose row IDs come from the table: a rolled
  back transaction on PostgreSQL consumes a serial number, so a gap there
  is not a lost event); every subscription, invoice, payment, paid invoice and
  activation session has exactly one event saying so, and the newest event of
  each subscription describes the subscription as it is: no change without
  its event;
- idempotency records store an answer that parses, of a known method, for a
  key that exists, naming only objects that exist, and never a secret or an
  activation code.

Objects whose events retention may have pruned are not asked for events.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import peewee
from google.protobuf import message

from bento_server.billing.activation import derive_status
from bento_server.billing.money import invoice_amounts
from bento_server.billing.status import STATUSES
from bento_server.billing.statuses import MONEY_RETURNED
from bento_server.errors import BentoError
from bento_server.store.database import Store, connect
from bento_server.store.models import (
    ActivationItem,
    ActivationSession,
    ApiKey,
    App,
    Event,
    EventLogState,
    IdempotencyRecord,
    Invoice,
    Payment,
    Plan,
    Platform,
    Product,
    Subscription,
    SubscriptionFeature,
)
from bento_server.usecases.events import EVENT_TYPES, Snapshots
from tests.helpers.rpcs import rpcs

# Statuses a subscription still holds (not canceled).
LIVE = STATUSES - {"canceled"}
INVOICE_STATUSES = frozenset({"draft", "open", "paid", "void"})
PAYMENT_EVENTS = frozenset(
    {"payment.succeeded", "payment.failed", "payment.recorded", "payment.refunded"}
)
# How many offending IDs a failure message lists per rule.
SHOWN = 20


@dataclass
class _Problems:
    found: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, rule: str, offender: object) -> None:
        self.found[rule].append(str(offender))

    def report(self) -> str:
        lines = []
        for rule, offenders in sorted(self.found.items()):
            shown = ", ".join(offenders[:SHOWN])
            more = f" (and {len(offenders) - SHOWN} more)" if len(offenders) > SHOWN else ""
            lines.append(f"- {rule}: {len(offenders)}: {shown}{more}")
        return "\n".join(lines)


@dataclass
class _EventRow:
    sequence: int
    type: str
    occurred_at: datetime
    platform_id: str | None
    subscription_id: str | None
    session_id: str | None
    invoice_id: str | None
    payment_id: str | None
    activation_session_id: str | None
    data: dict[str, Any]


@dataclass
class _Store:
    subscriptions: dict[str, Subscription]
    invoices: dict[str, Invoice]
    payments: dict[str, Payment]
    sessions: dict[str, ActivationSession]
    items: list[ActivationItem]
    features: list[SubscriptionFeature]
    events: list[_EventRow]
    pruned_through: int
    records: list[IdempotencyRecord]
    ids: dict[str, set[str]]


def assert_consistent(database_url: str) -> None:
    """Raises AssertionError naming every broken invariant of the store at ``database_url``."""
    store = connect(database_url)
    try:
        with _snapshot(store):
            loaded = _load()
    finally:
        store.close()
    problems = _Problems()
    _check_references(loaded, problems)
    _check_money(loaded, problems)
    _check_subscriptions(loaded, problems)
    _check_activation(loaded, problems)
    _check_events(loaded, problems, dense=not store.is_postgres)
    _check_idempotency(loaded, problems)
    if problems.found:
        raise AssertionError(f"the store at {database_url} is inconsistent:\n{problems.report()}")


def _snapshot(store: Store) -> Any:
    """A transaction whose reads all see one snapshot, however long they take."""
    if store.is_postgres:
        return store.db.atomic(isolation_level="REPEATABLE READ")
    return store.db.atomic()  # a read transaction holds one WAL snapshot


def _load() -> _Store:
    events = [
        _EventRow(*row)
        for row in Event.select(
            Event.sequence,
            Event.type,
            Event.occurred_at,
            Event.platform_id,
            Event.subscription_id,
            Event.session_id,
            Event.invoice_id,
            Event.payment_id,
            Event.activation_session_id,
            Event.data,
        )
        .order_by(Event.sequence)
        .tuples()
    ]
    ids = {
        "platform": _ids(Platform),
        "app": _ids(App),
        "product": _ids(Product),
        "plan": _ids(Plan),
        "api_key": _ids(ApiKey),
    }
    return _Store(
        subscriptions={s.id: s for s in Subscription.select()},
        invoices={i.id: i for i in Invoice.select()},
        payments={p.id: p for p in Payment.select()},
        sessions={s.id: s for s in ActivationSession.select()},
        items=list(ActivationItem.select()),
        features=list(SubscriptionFeature.select()),
        events=events,
        pruned_through=EventLogState.select(peewee.fn.MAX(EventLogState.pruned_through)).scalar()
        or 0,
        records=list(IdempotencyRecord.select()),
        ids=ids,
    )


def _ids(model: type[peewee.Model]) -> set[str]:
    return {row[0] for row in model.select(model._meta.primary_key).tuples()}


# --- nothing half-written ----------------------------------------------------------


def _check_references(s: _Store, problems: _Problems) -> None:
    for sub in s.subscriptions.values():
        if sub.plan_id not in s.ids["plan"]:
            problems.add("subscription without its plan", sub.id)
        if sub.platform_id not in s.ids["platform"]:
            problems.add("subscription without its platform", sub.id)
    for invoice in s.invoices.values():
        owner = s.subscriptions.get(invoice.subscription_id)
        if owner is None:
            problems.add("invoice without its subscription", invoice.id)
        elif (invoice.platform_id, invoice.session_id, invoice.currency) != (
            owner.platform_id,
            owner.session_id,
            owner.currency,
        ):
            problems.add(
                "invoice whose platform, session or currency is not its subscription's", invoice.id
            )
    for payment in s.payments.values():
        charged = s.invoices.get(payment.invoice_id)
        if charged is None:
            problems.add("payment without its invoice", payment.id)
        elif (payment.subscription_id, payment.platform_id, payment.currency) != (
            charged.subscription_id,
            charged.platform_id,
            charged.currency,
        ):
            problems.add(
                "payment whose subscription, platform or currency is not its invoice's", payment.id
            )
    for session in s.sessions.values():
        opener = s.invoices.get(session.invoice_id)
        if session.subscription_id not in s.subscriptions:
            problems.add("activation session without its subscription", session.id)
        elif opener is None or opener.subscription_id != session.subscription_id:
            problems.add("activation session whose invoice is not its subscription's", session.id)
    for item in s.items:
        if item.activation_session_id not in s.sessions:
            problems.add("activation item without its session", item.id)
    for feature in s.features:
        if feature.subscription_id not in s.subscriptions:
            problems.add("subscription feature without its subscription", feature.id)


# --- money ------------------------------------------------------------------------------


def _check_money(s: _Store, problems: _Problems) -> None:
    charged: Counter[str] = Counter()
    refunded: Counter[str] = Counter()
    for payment in s.payments.values():
        if payment.amount > 0 and payment.status == "succeeded":
            charged[payment.invoice_id] += payment.amount
        elif payment.amount < 0 and payment.status in MONEY_RETURNED:
            refunded[payment.invoice_id] += -payment.amount
        if payment.amount < 0 and payment.original_payment_id:
            original = s.payments.get(payment.original_payment_id)
            if (
                original is None
                or original.invoice_id != payment.invoice_id
                or original.amount <= 0
                or original.status != "succeeded"
            ):
                problems.add(
                    "refund whose original payment is not a charge of its invoice", payment.id
                )
    for invoice in s.invoices.values():
        if invoice.status not in INVOICE_STATUSES:
            problems.add("invoice with an unknown status", f"{invoice.id} ({invoice.status})")
        try:
            expected = invoice_amounts(
                invoice.subtotal,
                tax_rate=invoice.tax_rate,
                tax_behavior=invoice.tax_behavior,
                fee_rate=invoice.platform_fee_rate,
                proration_credit=invoice.proration_credit,
                credit_applied=invoice.credit_applied,
            )
        except BentoError as refused:
            problems.add(
                "invoice whose amounts the billing rules refuse", f"{invoice.id} ({refused})"
            )
            continue
        if (
            expected.proration_credit,
            expected.credit_applied,
            expected.tax_amount,
            expected.total_amount,
            expected.platform_fee_amount,
        ) != (
            invoice.proration_credit,
            invoice.credit_applied,
            invoice.tax_amount,
            invoice.total_amount,
            invoice.platform_fee_amount,
        ):
            problems.add("invoice whose amounts break the billing rules", invoice.id)
        paid_by_charges = charged[invoice.id]
        # amount_paid is net of refunds; a settle by UpdateInvoice writes
        # its payment record too, so every unit collected has its line.
        if invoice.amount_paid != paid_by_charges - invoice.amount_refunded:
            problems.add(
                "invoice whose amount_paid is not its succeeded charges less its refunds",
                f"{invoice.id} ({invoice.amount_paid} != {paid_by_charges} - "
                f"{invoice.amount_refunded})",
            )
        # A refund on an open invoice makes its amount owed again: only what
        # was kept, charges less refunds, is bounded by the total.
        if paid_by_charges - refunded[invoice.id] > invoice.total_amount:
            problems.add(
                "invoice charged more than its total",
                f"{invoice.id} ({paid_by_charges} - {refunded[invoice.id]} > "
                f"{invoice.total_amount})",
            )
        if invoice.amount_refunded != refunded[invoice.id]:
            problems.add(
                "invoice whose amount_refunded is not the sum of its refunds",
                f"{invoice.id} ({invoice.amount_refunded} != {refunded[invoice.id]})",
            )
        if invoice.amount_refunded > paid_by_charges:
            problems.add("invoice refunded more than was paid", invoice.id)
        if invoice.total_amount > 0 and (
            (invoice.status == "paid" and paid_by_charges < invoice.total_amount)
            or (invoice.status == "open" and invoice.amount_paid >= invoice.total_amount)
        ):
            problems.add(
                "invoice whose status disagrees with what was paid",
                f"{invoice.id} ({invoice.status}, {invoice.amount_paid}/{invoice.total_amount})",
            )
        if invoice.status == "paid" and invoice.payment_status not in (
            "paid",
            "no_payment_required",
        ):
            problems.add(
                "paid invoice whose payment_status is not paid",
                f"{invoice.id} ({invoice.payment_status})",
            )


# --- subscriptions --------------------------------------------------------------------------


def _check_subscriptions(s: _Store, problems: _Problems) -> None:
    by_cycle: dict[tuple[str, int], Invoice] = {}
    open_invoices: dict[str, list[str]] = defaultdict(list)
    open_by_subscription: dict[str, list[Invoice]] = defaultdict(list)
    paid_cycles: Counter[str] = Counter()
    paid_charged_cycles: Counter[str] = Counter()
    for invoice in s.invoices.values():
        by_cycle[(invoice.subscription_id, invoice.billing_cycle)] = invoice
        if invoice.status in ("open", "draft"):
            open_invoices[invoice.subscription_id].append(invoice.id)
            open_by_subscription[invoice.subscription_id].append(invoice)
        sub_of = s.subscriptions.get(invoice.subscription_id)
        # cycle_count counts periods that began and were paid, not cycles paid ahead.
        began = sub_of is not None and invoice.billing_cycle <= sub_of.current_cycle
        if invoice.status == "paid" and invoice.billing_cycle >= 1 and began:
            paid_cycles[invoice.subscription_id] += 1
            if invoice.total_amount > 0:
                paid_charged_cycles[invoice.subscription_id] += 1

    for sub in s.subscriptions.values():
        status = sub.status
        if status not in STATUSES:
            problems.add("subscription with an unknown status", f"{sub.id} ({status})")
            continue
        current = by_cycle.get((sub.id, sub.current_cycle))
        # What it owes now: open invoices whose period began (dunning runs per invoice).
        debts = [
            i
            for i in open_by_subscription[sub.id]
            if i.status == "open" and i.billing_cycle <= max(sub.current_cycle, 1)
        ]
        says_paid = sub.payment_status in ("paid", "no_payment_required")
        if current is None:
            problems.add("subscription without the invoice of its current cycle", sub.id)
        elif debts:
            oldest = min(i.grace_period_end for i in debts if i.grace_period_end is not None)
            if says_paid or sub.grace_period_end != oldest:
                problems.add(
                    "subscription whose payment status or deadline is not its oldest debt's",
                    f"{sub.id} ({sub.payment_status}, {sub.grace_period_end} != {oldest})",
                )
        elif current.status != "void" and (current.status == "paid") != says_paid:
            # Nothing owed: the status is the current invoice's (a void one says nothing).
            problems.add(
                "subscription whose payment_status disagrees with its current invoice",
                f"{sub.id} ({sub.payment_status}, invoice {current.id} {current.status})",
            )
        if not paid_charged_cycles[sub.id] <= sub.cycle_count <= paid_cycles[sub.id]:
            problems.add(
                "subscription whose cycle_count is not the number of its paid invoices",
                f"{sub.id} ({sub.cycle_count}, {paid_charged_cycles[sub.id]}..{paid_cycles[sub.id]})",
            )
        if status == "pending" and (sub.cycle_count != 0 or sub.payment_status == "paid"):
            problems.add("pending subscription that was paid", sub.id)
        if status == "trialing" and (
            sub.current_cycle != 0
            or sub.payment_status != "no_payment_required"
            or sub.trial_end is None
        ):
            problems.add("trialing subscription past its trial cycle", sub.id)
        if status in ("active", "past_due", "unpaid") and sub.current_cycle < 1:
            problems.add("running subscription still in its trial cycle", sub.id)
        if not sub.period_start < sub.period_end:
            problems.add("subscription whose period ends before it starts", sub.id)
        if status == "canceled":
            if sub.canceled_at is None or sub.ended_at is None:
                problems.add("canceled subscription without canceled_at and ended_at", sub.id)
            if sub.next_billing_date is not None:
                problems.add("canceled subscription that still bills", sub.id)
            if not sub.end_handled and not sub.cancel_at_period_end:
                problems.add("subscription canceled now whose end was not carried out", sub.id)
            # No cancel voids a debt: an ended subscription's open invoices stay
            # payable until their deadline, when the lapse voids them. Only
            # debts with a deadline may stay open, never a draft.
            pending = open_by_subscription[sub.id]
            if (
                sub.end_handled
                and pending
                and (
                    sub.grace_period_end is None
                    or any(i.status == "draft" or i.grace_period_end is None for i in pending)
                )
            ):
                problems.add(
                    "ended subscription with invoices open and no deadline to void them",
                    f"{sub.id} ({', '.join(open_invoices[sub.id])})",
                )
        else:
            if (
                sub.canceled_at is not None
                or sub.ended_at is not None
                or sub.cancel_at_period_end
                or sub.end_handled
            ):
                problems.add(f"{status} subscription with cancellation fields set", sub.id)
            if sub.next_billing_date != sub.period_end:
                problems.add(f"{status} subscription that does not renew at its period end", sub.id)
        if status == "paused":
            if sub.paused_at is None or sub.status_before_pause is None:
                problems.add("paused subscription without paused_at", sub.id)
        elif status != "canceled" and (sub.paused_at is not None or sub.paused_for is not None):
            problems.add(f"{status} subscription with pause fields set", sub.id)


def _check_activation(s: _Store, problems: _Problems) -> None:
    items: dict[str, list[ActivationItem]] = defaultdict(list)
    for item in s.items:
        items[item.activation_session_id].append(item)
    sessions: dict[str, list[ActivationSession]] = defaultdict(list)
    for session in s.sessions.values():
        sessions[session.subscription_id].append(session)
        invoice = s.invoices.get(session.invoice_id)
        if invoice is not None and invoice.status != "paid":
            problems.add("activation session of an unpaid invoice", session.id)
        derived = derive_status([i.status for i in items[session.id]])
        if session.status != derived:
            problems.add(
                "activation session whose status is not its items'",
                f"{session.id} ({session.status} != {derived})",
            )
    for sub in s.subscriptions.values():
        mine = sessions.get(sub.id, [])
        # One session per paid first invoice, and one per plan change that
        # added apps: never two items for one app.
        apps = [i.app_id for session in mine for i in items[session.id]]
        if len(apps) != len(set(apps)):
            problems.add("subscription with two activation items for one app", sub.id)
        latest = max((session.id for session in mine), default=None)
        if sub.activation_session_id != latest:
            problems.add(
                "subscription that does not name its latest activation session",
                f"{sub.id} ({sub.activation_session_id} != {latest})",
            )
        expected = derive_status([i.status for session in mine for i in items[session.id]])
        if sub.activation_status != expected:
            problems.add(
                "subscription whose activation_status is not its session's",
                f"{sub.id} ({sub.activation_status} != {expected})",
            )


# --- the event log ----------------------------------------------------------------------


def _check_events(s: _Store, problems: _Problems, dense: bool) -> None:
    sequences = [e.sequence for e in s.events]
    for sequence, count in Counter(sequences).items():
        if count > 1:
            problems.add("duplicate event sequence", sequence)
    for sequence in sequences:
        if sequence <= s.pruned_through:
            problems.add(f"event at or below the pruned sequence {s.pruned_through}", sequence)
    if dense and sequences:
        first = s.pruned_through + 1 if s.pruned_through else 1
        missing = sorted(set(range(min(first, sequences[0]), sequences[-1] + 1)) - set(sequences))
        for sequence in missing:
            problems.add("gap in the event sequence", sequence)

    covered = _coverage(s)
    by_sub: dict[str, list[_EventRow]] = defaultdict(list)
    created: Counter[str] = Counter()
    invoiced: Counter[str] = Counter()
    paid: Counter[str] = Counter()
    payment_events: dict[str, list[str]] = defaultdict(list)
    sessions_opened: Counter[str] = Counter()
    for e in s.events:
        if e.type not in EVENT_TYPES:
            problems.add("event of an unknown type", f"{e.sequence} ({e.type})")
        if e.type.startswith("webhook_endpoint."):
            # About an endpoint, not a subscription: it names its owner only.
            if e.subscription_id is not None or e.session_id is not None:
                problems.add("endpoint event that names a subscription", e.sequence)
            continue
        sub = s.subscriptions.get(e.subscription_id or "")
        if sub is None:
            problems.add("event about a subscription that does not exist", e.sequence)
            continue
        by_sub[sub.id].append(e)
        if (e.platform_id, e.session_id) != (sub.platform_id, sub.session_id):
            problems.add("event whose platform or session is not its subscription's", e.sequence)
        if e.invoice_id is not None:
            invoice = s.invoices.get(e.invoice_id)
            if invoice is None or invoice.subscription_id != sub.id:
                problems.add("event about an invoice that does not exist", e.sequence)
        if e.payment_id is not None:
            payment = s.payments.get(e.payment_id)
            if payment is None or payment.invoice_id != e.invoice_id:
                problems.add("event about a payment that does not exist", e.sequence)
        if e.activation_session_id is not None:
            session = s.sessions.get(e.activation_session_id)
            if session is None or session.subscription_id != sub.id:
                problems.add("event about an activation session that does not exist", e.sequence)
        if e.type == "subscription.created":
            created[sub.id] += 1
        elif e.type == "invoice.created" and e.invoice_id:
            invoiced[e.invoice_id] += 1
        elif e.type == "invoice.paid" and e.invoice_id:
            paid[e.invoice_id] += 1
        elif e.type == "activation.session.created" and e.activation_session_id:
            sessions_opened[e.activation_session_id] += 1
        if e.type in PAYMENT_EVENTS and e.payment_id:
            payment_events[e.payment_id].append(e.type)

    for sub in s.subscriptions.values():
        events = by_sub.get(sub.id, [])
        if covered(sub.created_at):
            if created[sub.id] != 1:
                problems.add(
                    "subscription without exactly one subscription.created event",
                    f"{sub.id} ({created[sub.id]})",
                )
            elif events[0].type != "subscription.created":
                problems.add("subscription whose first event is not its creation", sub.id)
        if events:
            # Pruning takes a prefix of the log, so a subscription's newest
            # event is never pruned while an older one is kept.
            newest = events[-1].data.get("subscription")
            # The snapshot as the log stores it: encoded, instants as text.
            now = json.loads(Snapshots().subscription(sub))
            if newest != now:
                changed = sorted(
                    k for k in now if not isinstance(newest, dict) or newest.get(k) != now[k]
                )
                problems.add(
                    "subscription changed after its newest event (a change without its event)",
                    f"{sub.id} (event {events[-1].sequence} {events[-1].type}: {', '.join(changed)})",
                )
    for invoice in s.invoices.values():
        if not covered(invoice.created_at):
            continue
        if invoiced[invoice.id] != 1:
            problems.add(
                "invoice without exactly one invoice.created event",
                f"{invoice.id} ({invoiced[invoice.id]})",
            )
        if invoice.status == "void" and invoice.credit_issued > 0:
            allowed = {0, 1}  # paid, then handed back as credit when its cycle was forgone
        elif invoice.status != "paid":
            allowed = {0}
        elif invoice.total_amount > 0:
            allowed = {1}
        else:
            allowed = {0, 1}  # a zero invoice is issued paid, with no invoice.paid of its own
        if paid[invoice.id] not in allowed:
            problems.add(
                "invoice whose invoice.paid events disagree with its status",
                f"{invoice.id} ({invoice.status}, {paid[invoice.id]} events)",
            )
    for payment in s.payments.values():
        if not covered(payment.created_at):
            continue
        written = payment_events[payment.id]
        if len(written) != 1:
            problems.add(
                "payment without exactly one payment event", f"{payment.id} ({len(written)})"
            )
        elif written[0] != _payment_event_type(payment):
            problems.add(
                "payment whose event does not say what it was",
                f"{payment.id} ({written[0]} for a {payment.status} {payment.amount})",
            )
    for session in s.sessions.values():
        if covered(session.created_at) and sessions_opened[session.id] != 1:
            problems.add(
                "activation session without exactly one activation.session.created event",
                f"{session.id} ({sessions_opened[session.id]})",
            )


def _payment_event_type(payment: Payment) -> str:
    """The event a payment record is written with (``usecases.payments``)."""
    if payment.amount < 0:
        return "payment.refunded" if payment.status in MONEY_RETURNED else "payment.recorded"
    if payment.status in ("succeeded", "failed"):
        return f"payment.{payment.status}"
    return "payment.recorded"


def _coverage(s: _Store) -> Any:
    """Which creation times are sure to have kept their events.

    Retention deletes a prefix of the log up to (not including) the first
    event younger than its cutoff, so every pruned event is at most as old as
    the last cutoff, and the first kept event (sequence pruned_through + 1)
    is younger. An object created after that event's time kept its
    creation event.
    """
    if s.pruned_through == 0:
        return lambda created_at: True
    first_kept = next((e for e in s.events if e.sequence == s.pruned_through + 1), None)
    if first_kept is None:
        return lambda created_at: False
    return lambda created_at: created_at > first_kept.occurred_at


# --- idempotency records --------------------------------------------------------------------

# Response fields that name stored objects, and where those live.
_ID_FIELDS = {
    "subscription_id": "subscription",
    "invoice_id": "invoice",
    "payment_id": "payment",
    "original_payment_id": "payment",
    "activation_session_id": "activation_session",
    "platform_id": "platform",
    "app_id": "app",
    "product_id": "product",
    "plan_id": "plan",
    "key_id": "api_key",
}


def _response_classes() -> dict[str, type[message.Message]]:
    return {rpc.path: rpc.response_class for rpc in rpcs()}


def _named_ids(msg: message.Message) -> Iterable[tuple[str, str]]:
    for descriptor, value in msg.ListFields():
        if descriptor.message_type is not None:
            if descriptor.message_type.GetOptions().map_entry:
                continue
            values = value if descriptor.is_repeated else [value]
            for inner in values:
                yield from _named_ids(inner)
        elif descriptor.name in _ID_FIELDS and isinstance(value, str) and value:
            yield _ID_FIELDS[descriptor.name], value


def _check_idempotency(s: _Store, problems: _Problems) -> None:
    classes = _response_classes()
    known = {
        **s.ids,
        "subscription": set(s.subscriptions),
        "invoice": set(s.invoices),
        "payment": set(s.payments),
        "activation_session": set(s.sessions),
    }
    for record in s.records:
        name = f"{record.api_key_id}/{record.key}"
        if record.api_key_id not in s.ids["api_key"]:
            problems.add("idempotency record of an API key that does not exist", name)
        response_class = classes.get(record.method)
        if response_class is None:
            problems.add("idempotency record of an unknown method", f"{name} ({record.method})")
            continue
        try:
            answer = response_class.FromString(bytes(record.response))
        except message.DecodeError:
            problems.add("idempotency record whose answer does not parse", name)
            continue
        for kind, object_id in _named_ids(answer):
            if object_id not in known[kind]:
                problems.add(
                    "idempotency record naming an object that does not exist",
                    f"{name} ({kind} {object_id})",
                )
        if "activation_urls" in answer.DESCRIPTOR.fields_by_name and len(
            answer.activation_urls  # type: ignore[attr-defined]
        ):
            problems.add("idempotency record holding activation codes", name)
        if "secret" in answer.DESCRIPTOR.fields_by_name and answer.secret:  # type: ignore[attr-defined]
            problems.add("idempotency record holding an API key secret", name)


# --- counting -------------------------------------------------------------------------------

COUNTED: dict[str, type[peewee.Model]] = {
    "subscriptions": Subscription,
    "invoices": Invoice,
    "payments": Payment,
    "events": Event,
    "activation_sessions": ActivationSession,
    "activation_items": ActivationItem,
    "subscription_features": SubscriptionFeature,
    "idempotency_records": IdempotencyRecord,
}


def store_counts(database_url: str) -> dict[str, int]:
    """How many rows each table of the billing store holds (one snapshot):
    a retry that happens once leaves these as they were."""
    store = connect(database_url)
    try:
        with _snapshot(store):
            counts = {name: model.select().count() for name, model in COUNTED.items()}
            counts["usage"] = int(
                SubscriptionFeature.select(peewee.fn.SUM(SubscriptionFeature.used)).scalar() or 0
            )
            return counts
    finally:
        store.close()
