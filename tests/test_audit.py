"""`bento audit`: a valid store passes, and each broken money invariant is
named, with the IDs that break it, and fails the command.

The stores are built row by row through the Peewee models (no server), so
each one holds exactly what the test says: a valid one, then the same with
one thing planted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import peewee
import pytest

from bento_server import audit
from bento_server.billing import allocation
from bento_server.ids import (
    APP,
    INVOICE,
    PAYMENT,
    PLATFORM,
    PRODUCT,
    SUBSCRIPTION,
    new_id,
    new_plan_id,
)
from bento_server.store import ledger
from bento_server.store.database import Store, connect
from bento_server.store.migrations import LATEST_VERSION, migrate
from bento_server.store.models import (
    Allocation,
    AllocationShare,
    App,
    Invoice,
    Payment,
    Plan,
    PlanProduct,
    Platform,
    Product,
    SchemaVersion,
    Subscription,
    TestClockState,
)
from tests.support import run_cli

NOW = datetime(2024, 2, 20, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def at(month: int, day: int) -> datetime:
    return datetime(2024, month, day, tzinfo=UTC)


@dataclass
class Built:
    """The IDs of the valid store: subscriptions A to E and their invoices."""

    ids: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


def _subscription(platform: Platform, plan: Plan, **fields: Any) -> Subscription:
    row: dict[str, Any] = {
        "id": new_id(SUBSCRIPTION),
        "platform": platform,
        "plan": plan,
        "session_id": new_id("user"),
        "status": "active",
        "payment_status": "paid",
        "region": "US",
        "currency": "USD",
        "plan_name": plan.name,
        "plan_type": plan.plan_type,
        "billing_unit": "month",
        "billing_value": 1,
        "grace_period_days": 7,
        "end_behavior": "roll",
        "phases": [],
        "billing_anchor": at(1, 1),
        "created_at": at(1, 1),
        "updated_at": at(1, 1),
        **fields,
    }
    row.setdefault("next_billing_date", row["period_end"])
    return Subscription.create(**row)


def _invoice(sub: Subscription, **fields: Any) -> Invoice:
    row: dict[str, Any] = {
        "id": new_id(INVOICE),
        "number": new_id("N"),
        "subscription": sub,
        "platform": sub.platform_id,
        "session_id": sub.session_id,
        "currency": "USD",
        "region": "US",
        "tax_rate": 0.0,
        "tax_type": "sales",
        "tax_jurisdiction": "US",
        "tax_behavior": "none",
        "tax_note": "",
        "retries_max": 3,
        "retries_delay_minutes": 60,
        "plan_id": sub.plan_id,
        "plan_name": sub.plan_name,
        "plan_type": sub.plan_type,
        "platform_fee_rate": 0.15,
        **fields,
    }
    for name in ("invoice_date", "due_date", "created_at", "updated_at"):
        row.setdefault(name, row["period_start"])
    return Invoice.create(**row)


def _payment(invoice: Invoice, amount: int, status: str = "succeeded", **fields: Any) -> Payment:
    return Payment.create(
        id=new_id(PAYMENT),
        invoice=invoice,
        subscription=invoice.subscription_id,
        platform=invoice.platform_id,
        amount=amount,
        currency="USD",
        status=status,
        created_at=invoice.period_start + timedelta(hours=1),
        **fields,
    )


def _allocate(store: Store, invoice: Invoice, terms: allocation.Terms) -> None:
    """What the write path posts over an invoice's life, in one allocation:
    the split of what it holds now."""
    invoice.allocation_terms = terms.to_stored()
    invoice.save()
    posting = allocation.post(allocation.NOTHING, allocation.Holding.of(invoice), terms)
    if posting is not None:
        ledger.write_allocation(
            store,
            posting,
            invoice_id=invoice.id,
            subscription_id=invoice.subscription_id,
            platform_id=invoice.platform_id,
            plan_id=invoice.plan_id,
            currency=invoice.currency,
            posted_at=invoice.period_start,
        )


def build_valid_store(url: str, allocated: bool = True) -> Built:
    """A store that keeps every invariant, with a little of everything:

    A: active, 8.75% exclusive tax; cycle 1 paid and partly refunded (a
       failed attempt first), cycle 2 open after a failed retry.
    B: active, 10% inclusive tax; changed plan on Jan 15: cycle 1 cut there
       and handed back 300 of credit, cycle 2 took 200 of it (a zero invoice),
       cycle 3 the last 100 from the credit balance.
    C: pending, created two hours ago, its first invoice open.
    D: canceled now, 500 of unused time owed back.
    E: trialing, its zero trial invoice (cycle 0) settled.

    The plan sells one product at a wholesale price of 456 a month; each
    invoice has the allocations the write path would have posted.
    """
    store = connect(url)
    ids: dict[str, str] = {}
    try:
        with store.write():
            TestClockState.create(id=1, now=NOW)
            platform = Platform.create(
                id=new_id(PLATFORM),
                name="Audit TV",
                fee_rate=0.15,
                created_at=at(1, 1),
                updated_at=at(1, 1),
            )
            plan = Plan.create(
                id=new_plan_id(),
                platform=platform,
                name="Bundle",
                plan_type="sub_bundle",
                billing_unit="month",
                billing_value=1,
                grace_period_days=7,
                created_at=at(1, 1),
                updated_at=at(1, 1),
            )

            a = _subscription(
                platform,
                plan,
                payment_status="unpaid",
                tax_rate=0.0875,
                tax_behavior="exclusive",
                current_cycle=2,
                cycle_count=1,
                period_start=at(2, 1),
                period_end=at(3, 1),
                grace_period_end=at(2, 8),
            )
            exclusive = {"tax_rate": 0.0875, "tax_behavior": "exclusive", "subtotal": 1699}
            exclusive |= {"tax_amount": 149, "total_amount": 1848, "platform_fee_amount": 255}
            a1 = _invoice(
                a,
                **exclusive,
                status="paid",
                payment_status="paid",
                amount_paid=1448,
                amount_refunded=400,
                billing_cycle=1,
                period_start=at(1, 1),
                period_end=at(2, 1),
            )
            _payment(a1, 1848, "failed")
            charge = _payment(a1, 1848)
            _payment(a1, -400, original_payment_id=charge.id, refund_reason="goodwill")
            a2 = _invoice(
                a,
                **exclusive,
                status="open",
                payment_status="failed",
                billing_cycle=2,
                period_start=at(2, 1),
                period_end=at(3, 1),
                grace_period_end=at(2, 8),
                retries_count=1,
                retries_last_date=at(2, 1),
                retries_next_date=at(2, 1) + timedelta(minutes=60),
            )
            _payment(a2, 1848, "failed")

            b = _subscription(
                platform,
                plan,
                payment_status="unpaid",
                tax_rate=0.1,
                tax_behavior="inclusive",
                current_cycle=3,
                cycle_count=2,
                period_start=at(2, 15),
                period_end=at(3, 15),
            )
            inclusive = {"tax_rate": 0.1, "tax_behavior": "inclusive"}
            b1 = _invoice(
                b,
                **inclusive,
                subtotal=1100,
                tax_amount=100,
                total_amount=1100,
                platform_fee_amount=150,
                status="paid",
                payment_status="paid",
                amount_paid=1100,
                credit_issued=300,
                billing_cycle=1,
                period_start=at(1, 1),
                period_end=at(1, 15),
            )
            _payment(b1, 1100)
            b2 = _invoice(
                b,
                **inclusive,
                subtotal=200,
                proration_credit=200,
                tax_amount=0,
                total_amount=0,
                platform_fee_amount=0,
                status="paid",
                payment_status="no_payment_required",
                billing_cycle=2,
                period_start=at(1, 15),
                period_end=at(2, 15),
            )
            # net 100 holds 100 - round(100 / 1.1) = 9 of tax; fee round(91 * 0.15) = 14.
            b3 = _invoice(
                b,
                **inclusive,
                subtotal=200,
                credit_applied=100,
                tax_amount=9,
                total_amount=100,
                platform_fee_amount=14,
                status="open",
                payment_status="unpaid",
                billing_cycle=3,
                period_start=at(2, 15),
                period_end=at(3, 15),
                grace_period_end=at(2, 22),
            )

            c = _subscription(
                platform,
                plan,
                status="pending",
                payment_status="unpaid",
                current_cycle=1,
                period_start=NOW - timedelta(hours=2),
                period_end=NOW - timedelta(hours=2) + timedelta(days=29),
                created_at=NOW - timedelta(hours=2),
                grace_period_end=NOW - timedelta(hours=2) + 7 * DAY,
            )
            c1 = _invoice(
                c,
                subtotal=999,
                tax_amount=0,
                total_amount=999,
                platform_fee_amount=150,
                status="open",
                payment_status="unpaid",
                billing_cycle=1,
                period_start=c.period_start,
                period_end=c.period_end,
                grace_period_end=c.created_at + 7 * DAY,
            )

            d = _subscription(
                platform,
                plan,
                status="canceled",
                current_cycle=1,
                cycle_count=1,
                period_start=at(1, 20),
                period_end=at(2, 20),
                next_billing_date=None,
                canceled_at=at(2, 5),
                ended_at=at(2, 5),
                end_handled=True,
                end_reason="canceled",
                refund_due=500,
                created_at=at(1, 20),
            )
            d1 = _invoice(
                d,
                subtotal=999,
                tax_amount=0,
                total_amount=999,
                platform_fee_amount=150,
                status="paid",
                payment_status="paid",
                amount_paid=999,
                credit_issued=500,
                billing_cycle=1,
                period_start=at(1, 20),
                period_end=at(2, 20),
            )
            _payment(d1, 999)

            e = _subscription(
                platform,
                plan,
                status="trialing",
                payment_status="no_payment_required",
                trial_days=7,
                trial_end=at(2, 22),
                period_start=at(2, 15),
                period_end=at(2, 22),
                created_at=at(2, 15),
            )
            e0 = _invoice(
                e,
                subtotal=0,
                tax_amount=0,
                total_amount=0,
                platform_fee_amount=0,
                status="paid",
                payment_status="no_payment_required",
                billing_cycle=0,
                period_start=at(2, 15),
                period_end=at(2, 22),
            )
            app = App.create(
                id=new_id(APP),
                name="Audit Films",
                activation_url_template="https://films.example/activate",
                created_at=at(1, 1),
                updated_at=at(1, 1),
            )
            product = Product.create(
                id=new_id(PRODUCT),
                app=app,
                name="Films",
                price_wholesale={"price_in_cents": 456, "currency_code": "USD", "tier_id": ""},
                created_at=at(1, 1),
                updated_at=at(1, 1),
            )
            PlanProduct.create(plan=plan, product=product, position=0)
            terms = allocation.Terms(
                allocation.cycle_months("month", 1),
                (allocation.Wholesale(app.id, product.id, 456),),
            )
            for invoice in (a1, a2, b1, b2, b3, c1, d1) if allocated else ():
                _allocate(store, invoice, terms)
            rows: dict[str, Any] = {"A": a, "A1": a1, "A2": a2, "B": b, "B1": b1, "B2": b2}
            rows |= {"B3": b3, "C": c, "C1": c1, "D": d, "D1": d1, "E": e, "E0": e0}
            ids = {name: row.id for name, row in rows.items()}
    finally:
        store.close()
    return Built(ids)


def migrated_valid_store(url: str) -> Built:
    """``build_valid_store`` on the empty database at ``url``, migrated first
    (in process: the `bento migrate` command is tests/test_cli.py's)."""
    store = connect(url)
    try:
        migrate(store)
    finally:
        store.close()
    return build_valid_store(url)


def _audit(url: str) -> tuple[int, list[str], str]:
    """The exit status, the violation lines and the summary line of `bento audit`."""
    result = run_cli("audit", "--database", url, check=False)
    assert result.returncode in (0, 1), result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("audit: "), result.stdout
    return result.returncode, lines[:-1], lines[-1]


def test_a_valid_store_passes_the_audit(fresh_backend_url: str) -> None:
    migrated_valid_store(fresh_backend_url)
    code, violations, summary = _audit(fresh_backend_url)
    assert violations == []
    assert code == 0
    assert summary == (
        "audit: no violations in 5 subscriptions, 8 invoices, 6 payments at 2024-02-20T12:00:00Z"
    )


def _update(model: type[peewee.Model], row_id: str, **values: Any) -> None:
    assert model.update(**values).where(model.id == row_id).execute() == 1


def _pay_more(b: Built) -> None:
    a1 = Invoice.get_by_id(b["A1"])
    _payment(a1, 500)
    _update(Invoice, b["A1"], amount_paid=1948)


def _pay_open_in_full(b: Built) -> None:
    _payment(Invoice.get_by_id(b["A2"]), 1848)
    _update(Invoice, b["A2"], amount_paid=1848)


def _overdraw_credit(b: Built) -> None:
    _update(Invoice, b["D1"], credit_issued=1200)
    _update(Subscription, b["D"], refund_due=1200)


def _shift_share_to_platform(b: Built) -> None:
    """A1's publisher share made negative, the platform's raised to match:
    the sums still hold, the sign does not."""
    allocated = Allocation.get(Allocation.invoice == b["A1"])
    share = AllocationShare.get(AllocationShare.allocation == allocated.id)
    _update(Allocation, allocated.id, platform_share=allocated.platform_share + share.amount + 1)
    AllocationShare.update(amount=-1).where(AllocationShare.id == share.id).execute()


def _tip_platform_share(b: Built) -> None:
    allocated = Allocation.get(Allocation.invoice == b["A1"])
    _update(Allocation, allocated.id, platform_share=allocated.platform_share + 1)


# Plants that change what an invoice holds break the allocation law too:
# the allocations no longer add up to it.
MONEY_MOVED = ("allocation_not_collected",)
MOVES_MONEY = {"amount_paid", "amount_paid_range", "invoice_status", "credit_issued_excess"}

# (kind, what is planted, the IDs the line must name, a fragment of its message)
PLANTED: list[tuple[str, Callable[[Built], None], list[str], str]] = [
    (
        "amount_paid",
        lambda b: _update(Invoice, b["A1"], amount_paid=1848),
        ["A1", "A"],
        "amount_paid 1848 != succeeded 1848 - refunds 400",
    ),
    (
        "amount_refunded",
        lambda b: _update(Invoice, b["A1"], amount_refunded=500),
        ["A1", "A"],
        "amount_refunded 500 != refunds 400",
    ),
    ("amount_paid_range", _pay_more, ["A1", "A"], "amount_paid 1948 outside 0..total_amount 1848"),
    ("invoice_status", _pay_open_in_full, ["A2", "A"], "open with amount_paid 1848"),
    (
        "invoice_total",
        lambda b: _update(Invoice, b["A1"], total_amount=1847),
        ["A1", "A"],
        "total_amount 1847 != net 1699 + tax_amount 149 (exclusive)",
    ),
    (
        "invoice_tax",
        lambda b: _update(Invoice, b["B3"], tax_amount=10),
        ["B3", "B"],
        "tax_amount 10 != 9",
    ),
    (
        "platform_fee",
        lambda b: _update(Invoice, b["A1"], platform_fee_amount=254),
        ["A1", "A"],
        "platform_fee_amount 254 != round((total_amount 1848 - tax_amount 149) * 0.15) = 255",
    ),
    (
        "retries_over_max",
        lambda b: _update(Invoice, b["A2"], retries_count=4),
        ["A2", "A"],
        "retries_count 4 > retries_max 3",
    ),
    (
        "retry_after_last",
        lambda b: _update(Invoice, b["A2"], retries_count=3),
        ["A2", "A"],
        "retries_count 3 == retries_max 3 but a next retry is set",
    ),
    (
        "overlapping_periods",
        lambda b: _update(Invoice, b["B2"], period_start=at(1, 10)),
        ["B", "B1", "B2"],
        "(cycle 2) starts at 2024-01-10T00:00:00Z",
    ),
    (
        "credit_not_conserved",
        lambda b: _update(Subscription, b["B"], credit_balance=50),
        ["B"],
        "credit issued 300 - credit taken 300 = 0 != credit_balance 50 + refund_due 0",
    ),
    (
        "credit_issued_excess",
        _overdraw_credit,
        ["D1", "D"],
        "credit_issued 1200 > amount_paid 999",
    ),
    (
        "kept_unserved",
        lambda b: _update(Subscription, b["D"], status_before_cancel="pending"),
        ["D"],
        "ended before it started but keeps",
    ),
    (
        "allocation_not_collected",
        _tip_platform_share,
        ["A1", "A"],
        "tax 117 + fee 200 + publisher shares 357 + platform share 775 = 1449, allocations brought in 1448",
    ),
    (
        "allocation_negative",
        _shift_share_to_platform,
        ["A1", "A"],
        "every publisher share (least -1) must not be negative",
    ),
    (
        "allocation_currency",
        lambda b: Allocation.update(currency="EUR").where(Allocation.invoice == b["A1"]).execute(),
        ["A1", "A"],
        "allocations in EUR..EUR, the invoice in USD",
    ),
    (
        "stale_period",
        lambda b: _update(Subscription, b["A"], period_end=NOW - 2 * DAY),
        ["A"],
        "active but its period ended at 2024-02-18T12:00:00Z",
    ),
    (
        "forever_pending",
        lambda b: _update(Subscription, b["C"], grace_period_end=NOW - 2 * DAY),
        ["C"],
        "its deadline 2024-02-18T12:00:00Z passed",
    ),
]


@pytest.mark.parametrize(
    ("kind", "plant", "names", "fragment"), PLANTED, ids=[case[0] for case in PLANTED]
)
def test_each_broken_invariant_is_named_with_its_ids(
    fresh_backend_url: str,
    kind: str,
    plant: Callable[[Built], None],
    names: list[str],
    fragment: str,
) -> None:
    url = fresh_backend_url
    built = migrated_valid_store(url)
    store = connect(url)
    try:
        with store.write():
            plant(built)
    finally:
        store.close()

    also = MONEY_MOVED if kind in MOVES_MONEY else ()
    code, violations, summary = _audit(url)
    assert code == 1
    assert [line.split(":", 1)[0] for line in violations] == [kind, *also], violations
    line = violations[0]
    for name in names:
        assert built[name] in line, (name, line)
    assert fragment in line, line
    if not also:
        assert summary.startswith(f"audit: 1 violation (1 {kind}) in 5 subscriptions"), summary

    # The function behind the command says the same, with the IDs apart.
    store = audit.open_read_only(url)
    try:
        found = audit.run_audit(store)
    finally:
        store.close()
    assert (found[0].kind, set(found[0].ids)) == (kind, {built[n] for n in names})
    assert [v.kind for v in found] == [kind, *also]


def test_migrating_posts_the_allocations_of_invoices_from_before_the_ledger(
    fresh_backend_url: str,
) -> None:
    """A store from before the allocation ledger (schema 7) gets, on
    migrating, each invoice's wholesale terms and one opening allocation of
    what it holds: the law holds at once."""
    url = fresh_backend_url
    run_cli("migrate", "--database", url)
    built = build_valid_store(url, allocated=False)
    store = connect(url)
    try:
        with store.write():
            store.db.drop_tables([AllocationShare, Allocation])
            SchemaVersion.delete().where(SchemaVersion.version >= 8).execute()
    finally:
        store.close()

    migrated = run_cli("migrate", "--database", url).stdout
    assert f"schema at version {LATEST_VERSION} (was 7)" in migrated
    code, violations, _ = _audit(url)
    assert (code, violations) == (0, [])
    store = connect(url)
    try:
        with store.read():
            opening = Allocation.get(Allocation.invoice == built["A1"])
            share = AllocationShare.get(AllocationShare.allocation == opening.id)
            terms = Invoice.get_by_id(built["A1"]).allocation_terms
    finally:
        store.close()
    # A1: 1,848 paid, 400 refunded: 1,448 held, split as the rules say.
    assert (opening.paid, opening.tax, opening.platform_fee) == (1448, 117, 200)
    assert (share.amount, opening.platform_share, opening.cycles) == (357, 774, 1)
    assert terms == {"months": "1", "wholesale": [{**terms["wholesale"][0], "monthly": 456}]}


def test_the_audit_writes_nothing(fresh_backend_url: str) -> None:
    url = fresh_backend_url
    migrated_valid_store(url)
    store = audit.open_read_only(url)
    try:
        with audit.snapshot(store) as scope:
            assert scope.now == NOW
            with pytest.raises(peewee.DatabaseError):
                Subscription.update(refund_due=1).execute()
    finally:
        store.close()
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        assert _audit(url)[0] == 0
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_database_that_is_missing_or_not_migrated_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "bento.db"
    result = run_cli("audit", "--database", f"sqlite:///{missing}", check=False)
    assert result.returncode == 2
    assert "no database at" in result.stderr
    assert not missing.parent.exists()

    empty = tmp_path / "empty.db"
    empty.touch()
    result = run_cli("audit", "--database", f"sqlite:///{empty}", check=False)
    assert result.returncode == 2
    assert "run `bento migrate` first" in result.stderr
