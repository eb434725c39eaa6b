"""Between the store and the billing core: load an account, write a step.

The core (``bento_server.billing.account``) decides; this module reads a
subscription's row and its live invoices into the core's values, and
writes back what a step changed: the subscription, its invoices (new ones
with the store's columns the core does not know), and its events, all in
the caller's transaction.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import peewee

from bento_server import ids
from bento_server.billing import allocation
from bento_server.billing.account import (
    Account,
    InvoiceState,
    PlanTerms,
    Step,
    SubscriptionState,
)
from bento_server.billing.statuses import InvoiceStatus, PaymentStatus, SubscriptionStatus
from bento_server.store import statements
from bento_server.store.database import Store
from bento_server.store.models import Invoice, Payment, Plan, Platform, Subscription
from bento_server.usecases import activation, allocations, events
from bento_server.usecases.context import Deps

_SUBSCRIPTION_FIELDS = [f.name for f in dataclasses.fields(SubscriptionState)]
_INVOICE_FIELDS = [f.name for f in dataclasses.fields(InvoiceState) if f.name != "id"]


class _Columns:
    """The fields of one of the core's states and the keys of a row's
    ``__data__`` that hold them (a foreign key's ``plan_id`` is held as
    ``plan``). Rows are read and compared through ``__data__``, all fields
    at once: a field's accessor costs more than the comparison, and a
    subscription's state has sixty fields, read and compared on every step."""

    def __init__(self, model: type[peewee.Model], names: list[str]) -> None:
        fields = model._meta.fields
        keys = []
        for name in names:
            field = fields.get(name[: -len("_id")]) if name.endswith("_id") else None
            if isinstance(field, peewee.ForeignKeyField):
                keys.append(field.name)
            else:
                assert not isinstance(fields[name], peewee.ForeignKeyField)
                keys.append(name)
        self.names = tuple(names)
        self.keys = tuple(keys)
        self._of_row = operator.itemgetter(*self.keys)
        self._of_state = operator.itemgetter(*self.names)

    def of_row(self, row: peewee.Model) -> dict[str, Any]:
        """The row's values by the core's names."""
        return dict(zip(self.names, self._values(row.__data__), strict=True))

    def _values(self, data: dict[str, Any]) -> tuple[Any, ...]:
        try:
            return self._of_row(data)  # type: ignore[no-any-return]
        except KeyError:  # a row made in memory holds only the columns it was given
            return tuple(data.get(key) for key in self.keys)

    def changed(self, row: peewee.Model, state: Any) -> list[tuple[str, Any]]:
        """(key, value) of each of the state's values the row does not hold."""
        new = self._of_state(vars(state))
        old = self._values(row.__data__)
        if old == new:
            return []
        return [(k, v) for k, was, v in zip(self.keys, old, new, strict=True) if was != v]


_SUBSCRIPTION = _Columns(Subscription, _SUBSCRIPTION_FIELDS)
_INVOICE = _Columns(Invoice, _INVOICE_FIELDS)
# The columns an invoice copies of its subscription when issued.
_COPIED_FROM_SUBSCRIPTION = (
    "session_id",
    "currency",
    "region",
    "tax_rate",
    "tax_type",
    "tax_jurisdiction",
    "tax_behavior",
    "tax_note",
    "plan_name",
    "plan_type",
)


def invoice_number(invoice_id: str, issued: datetime) -> str:
    """The seed's human-readable number: INV-<year>-<last 8 digits of the ID>."""
    return f"INV-{issued.year}-{invoice_id[-8:]}"


def fee_rate(platform_id: str) -> float:
    rate = Platform.select(Platform.fee_rate).where(Platform.id == platform_id).scalar()
    return float(rate)


def terms_of(plan: Plan, region: str) -> PlanTerms:
    return PlanTerms(
        plan_id=plan.id,
        tier=plan.tier,
        billing_unit=plan.billing_unit,
        billing_value=plan.billing_value,
        grace_period_days=plan.grace_period_days,
        end_behavior=plan.end_behavior,
        phases=plan.prices.get(region) or [],
        free_trial_days=plan.free_trial_days,
    )


def subscription_state(row: Subscription) -> SubscriptionState:
    values = _SUBSCRIPTION.of_row(row)
    values["status"] = SubscriptionStatus(row.status)
    values["payment_status"] = PaymentStatus(row.payment_status)
    return SubscriptionState(**values)


def invoice_state(row: Invoice) -> InvoiceState:
    values = _INVOICE.of_row(row)
    values["status"] = InvoiceStatus(row.status)
    values["payment_status"] = PaymentStatus(row.payment_status)
    return InvoiceState(id=row.id, **values)


class Loaded:
    """An account and the rows it was read from."""

    def __init__(self, row: Subscription, invoices: list[Invoice], last_cycle: int) -> None:
        self.row = row
        self.invoice_rows = {invoice.id: invoice for invoice in invoices}
        self.account = Account(
            subscription_state(row), [invoice_state(i) for i in invoices], last_cycle
        )


def load(store: Store, row: Subscription, *extra_invoices: Invoice) -> Loaded:
    """The subscription (locked by the caller) with the invoices that can
    still change: open and draft ones, and those of the current cycle on.
    Every write to an invoice locks its subscription first, so that lock
    covers them. ``extra_invoices`` are rows the caller holds already: the
    account works on those same objects."""
    live = statements.LIVE_INVOICES.all(
        store, subscription_id=row.id, current_cycle=row.current_cycle
    )
    rows = {invoice.id: invoice for invoice in extra_invoices}
    for invoice in live:
        rows.setdefault(invoice.id, invoice)
    last = statements.LAST_CYCLE.first_row(store, subscription_id=row.id)
    return Loaded(row, list(rows.values()), int(last[0] or 0) if last else 0)


def load_many(store: Store, rows: Sequence[Subscription]) -> dict[str, Loaded]:
    """``load`` for several subscriptions at once, by subscription ID: their
    live invoices in one query and their last billing cycles in another,
    instead of two queries each.

    The caller holds every subscription's lock and read the rows in this
    transaction, so the stored ``current_cycle`` the query compares with is
    the row's."""
    if not rows:
        return {}
    ids = statements.listed(store, [row.id for row in rows])
    live: dict[str, list[Invoice]] = {row.id: [] for row in rows}
    for invoice in statements.LIVE_INVOICES_AMONG.all(store, ids=ids):
        live[invoice.subscription_id].append(invoice)
    last = dict(statements.LAST_CYCLES_AMONG.rows(store, ids=ids))
    return {row.id: Loaded(row, live[row.id], int(last.get(row.id) or 0)) for row in rows}


def apply(row: Subscription, state: SubscriptionState) -> None:
    """Sets the row's columns to the state's, touching only what differs."""
    for key, value in _SUBSCRIPTION.changed(row, state):
        setattr(row, key, value)


def write(
    deps: Deps, loaded: Loaded, step: Step, ip: str = "", payment: Payment | None = None
) -> dict[int, Invoice]:
    """Writes what ``step`` changed, then its events. Returns the rows of
    the step's invoices by ``id()`` of their state."""
    row = loaded.row
    apply(row, step.account.subscription)
    rows: dict[int, Invoice] = {}
    # The invoices whose rows the step writes, with what each held before.
    written: dict[int, tuple[Invoice, allocation.Holding]] = {}
    for invoice in step.account.invoices:
        if invoice.id:
            stored = loaded.invoice_rows[invoice.id]
            changed = _INVOICE.changed(stored, invoice)
            if changed:
                written[id(invoice)] = (stored, allocation.Holding.of(stored))
                for key, value in changed:
                    setattr(stored, key, value)
                stored.updated_at = step.events[-1].at if step.events else stored.updated_at
                if ip:
                    stored.updated_ip = ip
                statements.save_changes(deps.store, stored)
        else:
            terms = allocations.terms_for(
                deps.store, step.account.subscription, row.currency, invoice
            )
            stored = _create(deps, row, invoice, ip, terms)
            invoice.id = stored.id
            loaded.invoice_rows[stored.id] = stored
            written[id(invoice)] = (stored, allocation.NOTHING)
        rows[id(invoice)] = stored
    allocations.post_step(deps, step, written, payment)
    statements.save_changes(deps.store, row)
    snapshots = events.Snapshots()
    for emitted in step.events:
        events.append(
            deps,
            emitted.type,
            row,
            emitted.at,
            invoice=rows.get(id(emitted.invoice)) if emitted.invoice is not None else None,
            payment=payment if emitted.type.startswith("payment.") else None,
            app_ids=events.plan_app_ids(deps.store, row.plan_id) if emitted.apps else (),
            data=emitted.data or None,
            snapshots=snapshots,
        )
    return rows


def _create(
    deps: Deps, sub: Subscription, invoice: InvoiceState, ip: str, terms: dict[str, Any] | None
) -> Invoice:
    invoice_id = ids.new_id(ids.INVOICE)
    values = vars(invoice).copy()
    del values["id"]
    # What the invoice copies of its subscription, from the row's values: a
    # model's attribute is a descriptor call, and a batch issues hundreds.
    of_sub = sub.__data__
    return statements.NEW_INVOICE.create(
        deps.store,
        id=invoice_id,
        number=invoice_number(invoice_id, invoice.invoice_date),
        subscription=of_sub["id"],
        platform=of_sub["platform"],
        **{name: of_sub[name] for name in _COPIED_FROM_SUBSCRIPTION},
        created_ip=ip,
        updated_ip=ip,
        created_at=invoice.invoice_date,
        updated_at=invoice.invoice_date,
        allocation_terms=terms,
        **values,
    )


def open_activations(
    deps: Deps, loaded: Loaded, step: Step, rows: dict[int, Invoice], now: datetime
) -> activation.Opened | None:
    """Opens activation for apps the subscription has no code for, when a
    step settled the invoice of a period that began (a trial opens its
    own session when it is created)."""
    sub = step.account.subscription
    opened = None
    for invoice in step.settled:
        if invoice.billing_cycle < 1 or invoice.billing_cycle > sub.current_cycle:
            continue
        if sub.status == SubscriptionStatus.PENDING:
            continue
        opened = activation.open_session(deps, loaded.row, rows[id(invoice)], now) or opened
    if opened is not None:
        statements.save_changes(deps.store, loaded.row)
    return opened
