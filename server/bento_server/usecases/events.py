"""The event outbox: every change appends its event in the change's transaction.

Sequence order must be commit order, or a watcher reading "everything after
N" would skip an event whose transaction took a lower number but committed
later. PostgreSQL hands out serial numbers at insert time, so the insert
takes one transaction-scoped advisory lock: the next writer's number is
taken only after this transaction commits. SQLite needs nothing: its write
lock already serializes writers from BEGIN IMMEDIATE to COMMIT.

A transaction's events wait in the store's outbox and are written together
just before COMMIT (``_write``): one insert, and the lock held only for it
and the commit, where taking it at the first event held it through all the
transaction did after. A part of a transaction that must fail alone (a
caller's part of a SQLite group, a billing batch) writes its own at its
end, in its savepoint (``Store.savepoint(flush=True)``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import peewee

from bento_server import ids
from bento_server.billing.statuses import EventType
from bento_server.errors import FailedPrecondition, InvalidArgument, OutOfRange, not_found
from bento_server.store import statements
from bento_server.store.database import Store
from bento_server.store.fields import EncodedJSON, encode_json
from bento_server.store.models import (
    Event,
    EventLogState,
    Invoice,
    Payment,
    Subscription,
    WebhookEndpoint,
)
from bento_server.usecases import event_views, paging
from bento_server.usecases.context import PLATFORM, PUBLISHER, Deps, Principal

# The event types (event.proto lists them on Event.type): billing.statuses.EventType.
EVENT_TYPES = frozenset(EventType)

_LOCK = "bento.events"


def instant_text(value: datetime | None) -> str | None:
    """An instant as event data writes it: RFC 3339 in UTC."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def subscription_snapshot(sub: Subscription) -> dict[str, Any]:
    # Read from the row's values: each attribute of a model is a descriptor
    # call, and a billing batch snapshots every subscription it renews.
    # Instants stay datetimes: ``encode_json`` writes them as ``instant_text``.
    value = sub.__data__.get
    return {
        "subscription_id": value("id"),
        "session_id": value("session_id"),
        "plan_id": value("plan"),
        "platform_id": value("platform"),
        "status": value("status"),
        "payment_status": value("payment_status"),
        "activation_status": value("activation_status"),
        "activation_session_id": value("activation_session_id"),
        "current_cycle": value("current_cycle"),
        "cycle_count": value("cycle_count"),
        "period_start": value("period_start"),
        "period_end": value("period_end"),
        "trial_end": value("trial_end"),
        "cancel_at_period_end": value("cancel_at_period_end"),
        "canceled_at": value("canceled_at"),
        "ended_at": value("ended_at"),
        "end_reason": value("end_reason"),
        "paused_at": value("paused_at"),
    }


def invoice_snapshot(invoice: Invoice) -> dict[str, Any]:
    value = invoice.__data__.get
    return {
        "invoice_id": value("id"),
        "invoice_number": value("number"),
        "subscription_id": value("subscription"),
        "status": value("status"),
        "payment_status": value("payment_status"),
        "billing_cycle": value("billing_cycle"),
        "currency": value("currency"),
        "subtotal": value("subtotal"),
        "proration_credit": value("proration_credit"),
        "tax_amount": value("tax_amount"),
        "total_amount": value("total_amount"),
        "amount_paid": value("amount_paid"),
        "platform_fee_amount": value("platform_fee_amount"),
        "period_start": value("period_start"),
        "period_end": value("period_end"),
    }


def payment_snapshot(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.id,
        "invoice_id": payment.invoice_id,
        "subscription_id": payment.subscription_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "error_code": payment.error_code,
        "refund_reason": payment.refund_reason,
        "original_payment_id": payment.original_payment_id,
    }


def endpoint_snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """A webhook endpoint, without its secrets."""
    return {
        "endpoint_id": endpoint.id,
        "tenant_id": endpoint.tenant_id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "disabled": endpoint.disabled,
        "disabled_reason": endpoint.disabled_reason,
    }


def plan_app_ids(store: Store, plan_id: str) -> tuple[str, ...]:
    """The apps whose products a plan sells: whose publishers see its events.
    Read once per caller's write (``Store.memo``)."""
    return store.memo(("plan_app_ids", plan_id), lambda: _app_ids(store, plan_id))


def _app_ids(store: Store, plan_id: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(row.app_id for row in statements.plan_products(store, plan_id)))


class Snapshots:
    """The snapshots of rows that several events of one change carry, each
    made and encoded once: a change appends its events after it wrote its
    rows, so each of them sees the same values."""

    def __init__(self) -> None:
        self._made: dict[int, str] = {}

    def subscription(self, sub: Subscription) -> str:
        made = self._made.get(id(sub))
        if made is None:
            made = self._made[id(sub)] = encode_json(subscription_snapshot(sub))
        return made

    def invoice(self, invoice: Invoice) -> str:
        made = self._made.get(id(invoice))
        if made is None:
            made = self._made[id(invoice)] = encode_json(invoice_snapshot(invoice))
        return made


def append(
    deps: Deps,
    event_type: str,
    subscription: Subscription,
    now: datetime,
    *,
    invoice: Invoice | None = None,
    payment: Payment | None = None,
    app_ids: Iterable[str] = (),
    data: dict[str, Any] | None = None,
    activation_session_id: str | None = None,
    snapshots: Snapshots | None = None,
) -> None:
    """Appends one event about ``subscription`` to the caller's transaction
    (``_write`` writes it at the transaction's end). ``snapshots``: those of
    the other events of the same change, which this one shares."""
    made = snapshots or Snapshots()
    # The event's data member by member, each encoded: what it shares with
    # the change's other events is encoded once for all of them.
    members = {"subscription": made.subscription(subscription)}
    if invoice is not None:
        members["invoice"] = made.invoice(invoice)
    if payment is not None:
        members["payment"] = encode_json(payment_snapshot(payment))
    for key, value in (data or {}).items():
        members[key] = encode_json(value)
    of_subscription = subscription.__data__
    row = dict(
        event_id=ids.new_id(ids.EVENT),
        type=event_type,
        occurred_at=now,
        platform_id=of_subscription["platform"],
        subscription_id=of_subscription["id"],
        session_id=of_subscription["session_id"],
        plan_id=of_subscription["plan"],
        invoice_id=invoice.id if invoice is not None else None,
        payment_id=payment.id if payment is not None else None,
        activation_session_id=activation_session_id,
        app_ids=list(app_ids),
        data=EncodedJSON.of_members(members),
    )
    # Every change of a subscription comes through here: access caches of
    # every server drop what they knew when it commits.
    _pending(deps).append(_Pending(row, changes_access=True))


def append_about_endpoint(
    deps: Deps,
    event_type: str,
    endpoint: WebhookEndpoint,
    now: datetime,
    *,
    data: dict[str, Any] | None = None,
) -> None:
    """Appends one event about a webhook endpoint to the caller's
    transaction, seen by the endpoint's owner as ``visible_to`` reads the
    log: a platform's endpoint carries its platform, an app's its app, an
    admin's neither (only admins see it)."""
    snapshot: dict[str, Any] = {"webhook_endpoint": endpoint_snapshot(endpoint)}
    snapshot.update(data or {})
    row = dict(
        event_id=ids.new_id(ids.EVENT),
        type=event_type,
        occurred_at=now,
        platform_id=endpoint.tenant_id if endpoint.role == PLATFORM else None,
        app_ids=[endpoint.tenant_id] if endpoint.role == PUBLISHER else [],
        data=snapshot,
    )
    _pending(deps).append(_Pending(row, changes_access=False))


@dataclass(frozen=True)
class _Pending:
    row: dict[str, Any]
    changes_access: bool


def _pending(deps: Deps) -> list[_Pending]:
    return deps.store.outbox("events", functools.partial(_write, deps.store))


def _write(store: Store, pending: list[_Pending]) -> None:
    """A transaction's events, in the order appended, at its end (or at the
    end of a savepoint that flushes, the COMMIT soon after).

    The log's lock is taken here, just before COMMIT, and held through it:
    sequences then commit in their order (a reader that saw n + 1 has every
    event up to n), and writers wait on each other only for this insert and
    the commit, not for all they do before it.
    """
    rows = [p.row for p in pending]
    first = _first_sequence_after_pruning(store)
    # On PostgreSQL the lock, the notice and the insert go in one round trip.
    with store.held_writes():
        store.lock(_LOCK)
        if any(p.changes_access for p in pending):
            store.notify_access_changed()
        if first is None:
            statements.NEW_EVENT.create_many(store, rows)
        else:
            Event.insert_many(
                [{**row, "sequence": first + n} for n, row in enumerate(rows)]
            ).execute()


def _first_sequence_after_pruning(store: Store) -> int | None:
    """The first sequence of events appended to an empty SQLite log; None otherwise.

    SQLite numbers a new row one past the largest row left in the table, so
    after retention pruned the whole log it would start again at 1, below
    sequences watchers have already seen. PostgreSQL's serial never goes back.
    """
    if store.is_postgres:
        return None
    last = statements.LAST_EVENT.first_row(store)
    if last is not None and last[0] is not None:
        return None
    pruned = pruned_through()
    return pruned + 1 if pruned else None


# --- reading the log -------------------------------------------------------------


def visible_to(principal: Principal) -> peewee.ModelSelect:
    """The events a caller may see: its platform's, its app's, or all (admin).
    What it sees of each is ``event_views.seen_by``."""
    query = Event.select()
    if principal.role == PLATFORM:
        query = query.where(Event.platform_id == principal.tenant_id)
    elif principal.role == PUBLISHER:
        query = query.where(
            statements.lists_token(Event.app_ids, str(principal.tenant_id))
            & Event.type.in_(sorted(event_views.PUBLISHER_TYPES))
        )
    return query


def list_events(
    deps: Deps,
    principal: Principal,
    subscription_id: str,
    session_id: str,
    plan_id: str,
    types: Sequence[str],
    after_sequence: int,
    page_size: int,
    page_token: str,
) -> paging.Listed[Event]:
    """The operations log, oldest first, filtered and scoped to the caller."""
    scope = (
        f"ListEvents|{principal.tenant_id}|{subscription_id}|{session_id}|{plan_id}|"
        f"{','.join(sorted(types))}|{after_sequence}"
    )
    page = paging.page(page_size, page_token, scope)
    check_types(types)
    check_resume(after_sequence)
    if subscription_id:
        check_watchable(deps.store, principal, subscription_id)
    query = visible_to(principal).where(Event.sequence > after_sequence)
    if subscription_id:
        query = query.where(Event.subscription_id == subscription_id)
    if session_id:
        query = query.where(Event.session_id == session_id)
    if plan_id:
        query = query.where(Event.plan_id == plan_id)
    if types:
        query = query.where(Event.type.in_(list(types)))
    return paging.fetch(query, page, Event.sequence)


def check_types(types: Sequence[str]) -> None:
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidArgument.field(
            "types",
            f"unknown event types {', '.join(map(repr, unknown))}; known: {', '.join(sorted(EVENT_TYPES))}",
        )


def pruned_through() -> int:
    return (
        EventLogState.select(EventLogState.pruned_through).where(EventLogState.id == 1).scalar()
        or 0
    )


def check_resume(after_sequence: int) -> int:
    """Refuses a cursor the log cannot honestly serve, and answers the head
    of the log (``head``).

    Below the pruned part it would have a silent gap (0 means "from the
    oldest kept event"). Beyond the head it names events that never were:
    a consumer whose cursor came from another database, or from this one
    before a restore, would wait there forever and miss every new event.
    """
    pruned = pruned_through()
    newest = head()
    if 0 < after_sequence < pruned:
        oldest = Event.select(peewee.fn.MIN(Event.sequence)).scalar() or pruned + 1
        raise FailedPrecondition(
            f"events up to sequence {pruned} were pruned; the oldest kept is {oldest}: "
            f"resume from {pruned} or later, or from 0 for the oldest kept event",
            "events_pruned",
            metadata={"pruned_through": str(pruned), "oldest_sequence": str(oldest)},
        )
    if after_sequence > newest:
        raise OutOfRange(
            f"after_sequence {after_sequence} is beyond the newest event, {newest}: "
            "the cursor is not from this log (resume from 0 or from a sequence it answered)",
            "cursor_ahead_of_log",
            metadata={"newest_sequence": str(newest)},
        )
    return newest


def head() -> int:
    """The highest sequence the log has reached, even when retention pruned
    every event: a consumer that saw the last pruned event is not ahead."""
    return max(newest_sequence(), pruned_through())


def newest_sequence() -> int:
    """The highest committed sequence. Appends commit in sequence order, so
    every event up to it is visible."""
    return Event.select(peewee.fn.MAX(Event.sequence)).scalar() or 0


def check_watchable(store: Store, principal: Principal, subscription_id: str) -> None:
    """NOT_FOUND unless the subscription exists and the caller may see its
    events: a filter on someone else's (or on nothing) would only ever send
    heartbeats, as if all were quiet."""
    sub = Subscription.get_or_none(Subscription.id == subscription_id)
    if sub is not None and (
        principal.is_admin
        or (principal.role == PLATFORM and sub.platform_id == principal.tenant_id)
        or (
            principal.role == PUBLISHER
            and (
                principal.tenant_id in plan_app_ids(store, sub.plan_id)
                or visible_to(principal).where(Event.subscription_id == sub.id).exists()
            )
        )
    ):
        return
    raise not_found("subscription", subscription_id)


class Scoped(Protocol):
    """What the in-memory filters read of an event: ``Event`` rows and
    ``LoggedEvent`` alike."""

    type: str
    platform_id: str | None
    subscription_id: str | None
    app_ids: list[str]


def sees(principal: Principal, row: Scoped) -> bool:
    """Whether ``principal`` may see ``row``: ``visible_to`` in memory, for
    the streams' shared window (infra.feed), which holds every event and
    hands each stream only its own. The two must agree (the fan-out tests
    check them against each other)."""
    if principal.role == PLATFORM:
        return row.platform_id == principal.tenant_id
    if principal.role == PUBLISHER:
        return row.type in event_views.PUBLISHER_TYPES and principal.tenant_id in row.app_ids
    return True


@dataclass(frozen=True)
class Watched:
    """What one WatchEvents stream asked for: the events its caller may
    see, of one subscription or all, of some types or all."""

    principal: Principal
    types: frozenset[str] = frozenset()
    subscription_id: str = ""

    def matches(self, row: Scoped) -> bool:
        """``read_after``'s filter, in memory."""
        return (
            (not self.subscription_id or row.subscription_id == self.subscription_id)
            and (not self.types or row.type in self.types)
            and sees(self.principal, row)
        )


class LoggedEvent:
    """An event as the stream feed keeps it in memory: its columns, and its
    snapshot still as the stored JSON text, decoded only when a message is
    built of it. (A Peewee row with its decoded snapshot takes about four
    times the memory, and most events in the window are never built again.)"""

    __slots__ = (
        "activation_session_id",
        "app_ids",
        "data_json",
        "event_id",
        "invoice_id",
        "occurred_at",
        "payment_id",
        "plan_id",
        "platform_id",
        "sequence",
        "session_id",
        "subscription_id",
        "type",
    )

    def __init__(self, columns: tuple[Any, ...]) -> None:
        (
            self.sequence,
            self.event_id,
            self.type,
            self.occurred_at,
            self.platform_id,
            self.subscription_id,
            self.session_id,
            self.plan_id,
            self.invoice_id,
            self.payment_id,
            self.activation_session_id,
            self.app_ids,
            self.data_json,
        ) = columns

    def as_event(self) -> Event:
        """The event as a row (not saved), for the view rules."""
        return Event(
            sequence=self.sequence,
            event_id=self.event_id,
            type=self.type,
            occurred_at=self.occurred_at,
            platform_id=self.platform_id,
            subscription_id=self.subscription_id,
            session_id=self.session_id,
            plan_id=self.plan_id,
            invoice_id=self.invoice_id,
            payment_id=self.payment_id,
            activation_session_id=self.activation_session_id,
            app_ids=self.app_ids,
            data=Event.data.python_value(self.data_json),
        )


# LoggedEvent's columns, in its order; the snapshot as text (a CAST, so that
# the field does not decode it).
_LOGGED_COLUMNS = (
    Event.sequence,
    Event.event_id,
    Event.type,
    Event.occurred_at,
    Event.platform_id,
    Event.subscription_id,
    Event.session_id,
    Event.plan_id,
    Event.invoice_id,
    Event.payment_id,
    Event.activation_session_id,
    Event.app_ids,
    Event.data.cast("TEXT"),
)


@dataclass(frozen=True)
class Tail:
    """What the stream feed read of the log's end at once."""

    # Every event up to it is committed: the feed publishes nothing beyond.
    newest: int
    # How far retention pruned (0 when read without a limit).
    pruned_through: int
    # ``events`` are every event in (``after``, the last one's sequence, or
    # ``newest`` when fewer than the limit came), oldest first. ``after`` is
    # the cursor asked for, or later when the gap was too wide to read.
    after: int
    events: list[LoggedEvent]


def read_tail(after: int, limit: int, widest: int) -> Tail:
    """The log's head and, with a ``limit``, its events after ``after``
    (at most ``limit``; of a gap wider than ``widest`` sequences, only its
    last ``widest``)."""
    newest = newest_sequence()
    found: list[LoggedEvent] = []
    if limit and newest > after:
        after = max(after, newest - widest)
        query = (
            Event.select(*_LOGGED_COLUMNS)
            .where((Event.sequence > after) & (Event.sequence <= newest))
            .order_by(Event.sequence)
            .limit(limit)
            .tuples()
        )
        found = [LoggedEvent(columns) for columns in query]
    # Read after the events: a prune that ran meanwhile is seen now, not
    # missed. Without a limit nobody watches, and it does not matter.
    return Tail(newest, pruned_through() if limit else 0, after, found)


def read_after(
    principal: Principal,
    cursor: int,
    high: int,
    types: Sequence[str],
    subscription_id: str,
    limit: int,
) -> list[Event]:
    """The caller's events in (cursor, high], oldest first, at most ``limit``."""
    query = visible_to(principal).where((Event.sequence > cursor) & (Event.sequence <= high))
    if subscription_id:
        query = query.where(Event.subscription_id == subscription_id)
    if types:
        query = query.where(Event.type.in_(list(types)))
    return list(query.order_by(Event.sequence).limit(limit))


# --- retention (the billing clock) ----------------------------------------------------


def next_prune(deps: Deps, skip: set[str]) -> datetime | None:
    if deps.event_retention is None:
        return None
    oldest = Event.select(peewee.fn.MIN(Event.occurred_at)).scalar()
    return None if oldest is None else Event.occurred_at.python_value(oldest) + deps.event_retention


def prune(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    """Deletes events older than the retention and records how far it went."""
    if deps.event_retention is None:
        return 0
    cutoff = at - deps.event_retention
    with deps.store.write():
        # Prune a prefix of the log, never a hole: up to the first event
        # that is still young (clock-driven work can be dated in the past).
        first_young = (
            Event.select(peewee.fn.MIN(Event.sequence)).where(Event.occurred_at > cutoff).scalar()
        )
        through = (first_young - 1) if first_young else newest_sequence()
        if through <= pruned_through():
            return 0
        deleted = Event.delete().where(Event.sequence <= through).execute()
        EventLogState.update(pruned_through=through).where(EventLogState.id == 1).execute()
        return cast("int", deleted)
