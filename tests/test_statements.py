"""SettlementService and `bento statements` over the wire: the worked
example of docs/rules.md to the unit, who may read which statement, the
period and currency a request names or leaves out, the allocations behind
a statement and their pages, and the command line printing exactly what
GetStatement answers.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, timestamp_pb2

from bento.v1 import catalog_pb2, common_pb2, enums_pb2, settlement_pb2
from bento_server.billing import currencies
from tests.billing_support import advance, now, pay, subscribe
from tests.helpers.paging import every
from tests.support import (
    Caller,
    RunningServer,
    Tenancy,
    assert_fails,
    make_tenancy,
    phases,
    plan_request,
    product_request,
    run_cli,
    usd,
)

pb = settlement_pb2
E = enums_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
MONEY = (
    "gross",
    "tax",
    "platform_fee",
    "publisher_share",
    "platform_share",
    "refunded",
    "credit_applied",
    "credit_issued",
)
AMOUNTS = ("cycles", *MONEY)


# --- calling SettlementService ---------------------------------------------------------


def ts(instant: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(instant)
    return stamp


def period(start: datetime, end: datetime) -> dict[str, timestamp_pb2.Timestamp]:
    return {"period_start": ts(start), "period_end": ts(end)}


def get_statement(caller: Caller, tenant_id: str, **fields: Any) -> pb.Statement:
    request = pb.GetStatementRequest(tenant_id=tenant_id, **fields)
    return caller(caller.settlement.GetStatement, request).statement


def list_allocations(caller: Caller, tenant_id: str, **fields: Any) -> list[pb.Allocation]:
    """Every page, ``page_size`` at a time."""
    request = pb.ListAllocationsRequest(tenant_id=tenant_id, **fields)
    return every(partial(caller, caller.settlement.ListAllocations), request, "allocations")


def amounts(**values: int) -> pb.StatementAmounts:
    return pb.StatementAmounts(**values)


def line(counterpart_id: str, plan_id: str, product_id: str, **values: int) -> pb.StatementLine:
    return pb.StatementLine(
        counterpart_id=counterpart_id,
        plan_id=plan_id,
        product_id=product_id,
        amounts=amounts(**values),
    )


def clock(caller: Caller) -> datetime:
    return now(caller).ToDatetime(tzinfo=UTC)


def month_of(instant: datetime) -> tuple[datetime, datetime]:
    start = instant.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def around(instant: datetime) -> dict[str, timestamp_pb2.Timestamp]:
    """A day either side of ``instant``."""
    return period(instant - timedelta(days=1), instant + timedelta(days=1))


def tax(**fields: Any) -> dict[str, Any]:
    return {
        "tax_rate": 0.0875,
        "tax_type": E.TAX_TYPE_SALES_TAX,
        "tax_behavior": E.TAX_BEHAVIOR_EXCLUSIVE,
        **fields,
    }


# --- the worked example ---------------------------------------------------------------------


@dataclass
class Bundle:
    """Two apps' products (wholesale 456 and 300) in one monthly plan at 1,699."""

    t: Tenancy
    plan_id: str
    product_id: str  # the first app's, 456
    other_product_id: str  # the other app's, 300


def make_bundle(server: RunningServer) -> Bundle:
    t = make_tenancy(server)  # its platforms take a 15% fee
    first = t.publisher(
        t.publisher.catalog.CreateProduct, product_request(price_wholesale=usd(456))
    ).product
    second = t.other_publisher(
        t.other_publisher.catalog.CreateProduct, product_request(price_wholesale=usd(300))
    ).product
    plan = t.platform(
        t.platform.catalog.CreatePlan,
        plan_request([first.product_id, second.product_id], prices={"US": phases((1699, None))}),
    ).plan
    return Bundle(t, plan.plan_id, first.product_id, second.product_id)


def buy(bundle: Bundle) -> tuple[str, str, str]:
    """A subscription at 8.75% exclusive tax, its invoice of 1,848 paid in
    full: (subscription, invoice, payment)."""
    p = bundle.t.platform
    created = subscribe(p, bundle.plan_id, **tax())
    invoice = created.invoice
    assert invoice.amounts.total_amount == 1848
    sub_id = created.subscription.subscription_id
    paid = pay(p, sub_id, invoice.invoice_id, 1848)
    return sub_id, invoice.invoice_id, paid.payment.payment_id


@dataclass
class LastMonth:
    """The worked example, paid last month: the clock has moved into the next."""

    bundle: Bundle
    subscription_id: str
    invoice_id: str
    payment_id: str
    start: datetime
    end: datetime


@pytest.fixture(scope="module")
def last_month(server: RunningServer) -> LastMonth:
    bundle = make_bundle(server)
    subscription_id, invoice_id, payment_id = buy(bundle)
    start, end = month_of(clock(bundle.t.admin))
    # Into the next month, well before the subscription renews.
    advance(bundle.t.admin, int((end - clock(bundle.t.admin)).total_seconds()) + 3600)
    return LastMonth(bundle, subscription_id, invoice_id, payment_id, start, end)


def test_the_worked_example_to_the_unit(last_month: LastMonth) -> None:
    b, t = last_month.bundle, last_month.bundle.t
    statement = get_statement(t.platform, t.platform_id)
    assert statement.tenant_id == t.platform_id
    assert statement.currency == "USD"
    assert statement.period_start == ts(last_month.start)
    assert statement.period_end == ts(last_month.end)
    # 1,848 = tax 149 + fee 255 + shares 456 and 300 + platform 688.
    assert list(statement.lines) == [
        line(
            "", b.plan_id, "", cycles=1, gross=1848, tax=149, platform_fee=255, platform_share=688
        ),
        line(t.app_id, b.plan_id, b.product_id, cycles=1, publisher_share=456),
        line(t.other_app_id, b.plan_id, b.other_product_id, cycles=1, publisher_share=300),
    ]
    # The totals are the sums of the lines; cycles count the one invoice
    # (the product lines count their plan's invoices again).
    assert statement.totals == amounts(
        cycles=1, gross=1848, tax=149, platform_fee=255, publisher_share=756, platform_share=688
    )
    totals = statement.totals
    assert totals.tax + totals.platform_fee + totals.publisher_share + totals.platform_share == (
        totals.gross - totals.refunded + totals.credit_applied - totals.credit_issued
    )
    # An admin reads the same.
    assert get_statement(t.admin, t.platform_id) == statement


def test_each_publisher_sees_only_its_own_line(last_month: LastMonth) -> None:
    b, t = last_month.bundle, last_month.bundle.t
    for caller, app_id, product_id, share in (
        (t.publisher, t.app_id, b.product_id, 456),
        (t.other_publisher, t.other_app_id, b.other_product_id, 300),
    ):
        statement = get_statement(caller, app_id)
        assert (statement.tenant_id, statement.currency) == (app_id, "USD")
        assert list(statement.lines) == [
            line(t.platform_id, b.plan_id, product_id, cycles=1, publisher_share=share)
        ]
        assert statement.totals == amounts(cycles=1, publisher_share=share)
        assert get_statement(t.admin, app_id) == statement


def test_another_tenant_is_not_found(last_month: LastMonth) -> None:
    t = last_month.bundle.t
    nobody = "PL0000000000000000001"
    for caller, tenant_id, reason in (
        (t.other_platform, t.platform_id, "platform_not_found"),
        (t.platform, t.other_platform_id, "platform_not_found"),
        (t.publisher, t.other_app_id, "app_not_found"),
        (t.other_publisher, t.app_id, "app_not_found"),
        (t.publisher, t.platform_id, "platform_not_found"),
        (t.platform, t.app_id, "app_not_found"),
        (t.admin, nobody, "platform_not_found"),
        (t.admin, "AP0000000000000000001", "app_not_found"),
    ):
        for method, request in (
            (caller.settlement.GetStatement, pb.GetStatementRequest(tenant_id=tenant_id)),
            (caller.settlement.ListAllocations, pb.ListAllocationsRequest(tenant_id=tenant_id)),
        ):
            got = assert_fails(lambda: caller(method, request), NOT_FOUND, reason)
            assert tenant_id in got.message


# --- periods and currencies -------------------------------------------------------------


def test_the_default_period_is_the_previous_calendar_month(last_month: LastMonth) -> None:
    t = last_month.bundle.t
    default = get_statement(t.platform, t.platform_id)
    explicit = get_statement(t.platform, t.platform_id, **period(last_month.start, last_month.end))
    assert explicit == default and default.lines
    # The month the clock is in now holds nothing of this platform yet.
    this_month = month_of(clock(t.admin))
    assert this_month[0] == last_month.end
    empty = get_statement(t.platform, t.platform_id, **period(*this_month))
    assert (empty.currency, list(empty.lines), empty.totals) == ("", [], amounts())
    assert empty.period_start == ts(this_month[0]) and empty.period_end == ts(this_month[1])
    # Named, the currency is answered even with nothing in it.
    usd_only = get_statement(t.platform, t.platform_id, currency="USD", **period(*this_month))
    assert (usd_only.currency, list(usd_only.lines)) == ("USD", [])
    # A period ending at the payment leaves it out; one starting there holds it.
    (allocation,) = list_allocations(t.platform, t.platform_id)
    paid_at = allocation.posted_at.ToDatetime(tzinfo=UTC)
    before = get_statement(t.platform, t.platform_id, **period(last_month.start, paid_at))
    assert list(before.lines) == []
    since = get_statement(t.platform, t.platform_id, **period(paid_at, last_month.end))
    assert list(since.lines) == list(default.lines)


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"tenant_id": ""}, "tenant_id"),
        ({"tenant_id": "SUB123"}, "tenant_id"),
        ({"tenant_id": "pl123"}, "tenant_id"),
        ({"tenant_id": "PL 1"}, "tenant_id"),
        ({"period_start": ts(datetime(2026, 1, 1, tzinfo=UTC))}, "period_end"),
        ({"period_end": ts(datetime(2026, 1, 1, tzinfo=UTC))}, "period_start"),
        (period(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)), "period_end"),
        (period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)), "period_end"),
        (
            {
                "period_start": timestamp_pb2.Timestamp(seconds=0, nanos=-1),
                "period_end": ts(datetime(2026, 1, 1, tzinfo=UTC)),
            },
            "period_start",
        ),
        ({"currency": "usd"}, "currency"),
        ({"currency": "ABC"}, "currency"),
        ({"currency": "XXX"}, "currency"),
    ],
)
def test_bad_arguments_name_their_field(
    server: RunningServer, fields: dict[str, Any], bad: str
) -> None:
    t = make_tenancy(server)
    fields = {"tenant_id": t.platform_id, **fields}
    for method, request in (
        (t.platform.settlement.GetStatement, pb.GetStatementRequest(**fields)),
        (t.platform.settlement.ListAllocations, pb.ListAllocationsRequest(**fields)),
    ):
        got = assert_fails(lambda: t.platform(method, request), INVALID, "invalid_argument", bad)
        assert list(got.fields) == [bad], got


def test_a_bad_page_token_or_size_is_invalid(server: RunningServer) -> None:
    t = make_tenancy(server)
    s = t.platform.settlement
    for fields, field, reason in (
        ({"page_token": "nope"}, "page_token", "invalid_page_token"),
        ({"page_size": -1}, "page_size", "invalid_argument"),
    ):
        request = pb.ListAllocationsRequest(tenant_id=t.platform_id, **fields)
        assert_fails(lambda: t.platform(s.ListAllocations, request), INVALID, reason, field)


def jpy(amount: int) -> common_pb2.Price:
    return common_pb2.Price(price_in_cents=amount, currency_code="JPY", tier_id=str(amount))


def yen_phase(amount: int) -> catalog_pb2.RegionPrices:
    prices = catalog_pb2.RegionPrices()
    prices.phases.add(order=1, price=jpy(amount))
    return prices


def test_several_currencies_need_one_named(server: RunningServer) -> None:
    """A platform selling in dollars and in yen: a statement is in one of them."""
    t = make_tenancy(server)
    p = t.platform
    dollars = t.publisher(t.publisher.catalog.CreateProduct, product_request()).product
    yen = t.publisher(
        t.publisher.catalog.CreateProduct,
        product_request(prices={"JP": jpy(1500)}, price_wholesale=jpy(500)),
    ).product
    in_dollars = p(p.catalog.CreatePlan, plan_request([dollars.product_id])).plan
    in_yen = p(
        p.catalog.CreatePlan,
        plan_request(
            [yen.product_id],
            prices={"JP": yen_phase(2000)},
        ),
    ).plan
    for plan, region in ((in_dollars, "US"), (in_yen, "JP")):
        created = subscribe(p, plan.plan_id, region=region)
        invoice = created.invoice
        pay(
            p,
            created.subscription.subscription_id,
            invoice.invoice_id,
            invoice.amounts.total_amount,
        )
    span = around(clock(t.admin))
    for tenant_id, caller in ((t.platform_id, p), (t.app_id, t.publisher)):
        for method, request in (
            (caller.settlement.GetStatement, pb.GetStatementRequest(tenant_id=tenant_id, **span)),
            (
                caller.settlement.ListAllocations,
                pb.ListAllocationsRequest(tenant_id=tenant_id, **span),
            ),
        ):
            got = assert_fails(lambda: caller(method, request), INVALID, "invalid_argument")
            assert list(got.fields) == ["currency"] and "JPY, USD" in got.fields["currency"], got
    # Named, each holds only its own: 2,000 yen with a 15% fee of 300 and 500 to the app.
    statement = get_statement(p, t.platform_id, currency="JPY", **span)
    assert statement.currency == "JPY"
    assert list(statement.lines) == [
        line("", in_yen.plan_id, "", cycles=1, gross=2000, platform_fee=300, platform_share=1200),
        line(t.app_id, in_yen.plan_id, yen.product_id, cycles=1, publisher_share=500),
    ]
    app = get_statement(t.publisher, t.app_id, currency="USD", **span)
    assert [(x.plan_id, x.product_id) for x in app.lines] == [
        (in_dollars.plan_id, dollars.product_id)
    ]
    (only,) = list_allocations(p, t.platform_id, currency="JPY", **span)
    assert (only.currency, only.plan_id, only.amounts.gross) == ("JPY", in_yen.plan_id, 2000)


# --- the allocations behind a statement ---------------------------------------------------


@pytest.fixture
def refunded(server: RunningServer) -> Iterator[tuple[Bundle, str, dict[str, Any]]]:
    """The worked example twice, one of them partly refunded: three allocations."""
    bundle = make_bundle(server)
    p = bundle.t.platform
    buy(bundle)
    sub_id, invoice_id, payment_id = buy(bundle)
    pay(p, sub_id, invoice_id, -924, refund_reason="half", original_payment_id=payment_id)
    yield bundle, sub_id, around(clock(bundle.t.admin))


def sum_of(allocations: list[pb.Allocation]) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """The allocations' amounts added up, and their shares by (app, product)."""
    total: Counter[str] = Counter()
    shares: Counter[tuple[str, str]] = Counter()
    for allocation in allocations:
        for name in AMOUNTS:
            total[name] += getattr(allocation.amounts, name)
        for share in allocation.publisher_shares:
            shares[(share.app_id, share.product_id)] += share.amount
    return total, shares


def test_the_allocations_add_up_to_the_statement(
    refunded: tuple[Bundle, str, dict[str, Any]],
) -> None:
    bundle, sub_id, span = refunded
    t = bundle.t
    statement = get_statement(t.platform, t.platform_id, **span)
    allocations = list_allocations(t.platform, t.platform_id, page_size=500, **span)
    assert len(allocations) == 3
    assert [a.posted_at.ToDatetime() for a in allocations] == sorted(
        a.posted_at.ToDatetime() for a in allocations
    )
    total, shares = sum_of(allocations)
    (own,) = [x for x in statement.lines if not x.product_id]
    for name in ("gross", "tax", "platform_fee", "platform_share", "refunded", "cycles"):
        assert total[name] == getattr(own.amounts, name), name
    assert total["publisher_share"] == statement.totals.publisher_share
    assert shares == Counter(
        {
            (x.counterpart_id, x.product_id): x.amounts.publisher_share
            for x in statement.lines
            if x.product_id
        }
    )
    # Half the second invoice came back: its tax, fee and shares with it.
    refund = allocations[-1]
    assert refund.subscription_id == sub_id and refund.amounts.refunded == 924
    assert (refund.amounts.gross, refund.amounts.cycles) == (0, 0)
    assert sorted(s.amount for s in refund.publisher_shares) == [-228, -150]
    # Each allocation keeps the law: what moved is what its split changed by.
    for a in allocations:
        x = a.amounts
        assert x.tax + x.platform_fee + x.publisher_share + x.platform_share == (
            x.gross - x.refunded + x.credit_applied - x.credit_issued
        ), a
        assert x.publisher_share == sum(s.amount for s in a.publisher_shares)
    # The first allocation is the first payment's.
    assert allocations[0].payment_id.startswith("PAY") and allocations[0].amounts.gross == 1848


def test_allocations_page_one_at_a_time(refunded: tuple[Bundle, str, dict[str, Any]]) -> None:
    bundle, _, span = refunded
    t = bundle.t
    whole = list_allocations(t.platform, t.platform_id, page_size=500, **span)
    s = t.platform.settlement
    first = t.platform(
        s.ListAllocations, pb.ListAllocationsRequest(tenant_id=t.platform_id, page_size=1, **span)
    )
    assert len(first.allocations) == 1 and first.next_page_token
    assert list_allocations(t.platform, t.platform_id, page_size=1, **span) == whole
    # A token is for the list it came from: another period, another token.
    other = pb.ListAllocationsRequest(
        tenant_id=t.platform_id,
        page_token=first.next_page_token,
        **period(datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)),
    )
    assert_fails(
        lambda: t.platform(s.ListAllocations, other), INVALID, "invalid_page_token", "page_token"
    )


def test_a_publisher_sees_only_its_share(refunded: tuple[Bundle, str, dict[str, Any]]) -> None:
    bundle, _, span = refunded
    t = bundle.t
    everything = list_allocations(t.admin, t.platform_id, **span)
    for caller, app_id in ((t.publisher, t.app_id), (t.other_publisher, t.other_app_id)):
        seen = list_allocations(caller, app_id, page_size=1, **span)
        assert [a.allocation_id for a in seen] == [a.allocation_id for a in everything]
        statement = get_statement(caller, app_id, **span)
        for mine, full in zip(seen, everything, strict=True):
            assert mine.amounts == amounts(cycles=full.amounts.cycles)
            assert list(mine.publisher_shares) == [
                s for s in full.publisher_shares if s.app_id == app_id
            ]
            assert (mine.invoice_id, mine.posted_at) == (full.invoice_id, full.posted_at)
        _, shares = sum_of(seen)
        assert sum(shares.values()) == statement.totals.publisher_share
        # An admin reading the app's allocations sees them whole.
        assert list_allocations(t.admin, app_id, **span) == everything


# --- bento statements ------------------------------------------------------------------


def as_decimal(amount: int, digits: int) -> str:
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d}" if digits else f"{sign}{whole}"


def iso(stamp: timestamp_pb2.Timestamp) -> str:
    return stamp.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def statements_cli(server: RunningServer, *args: str) -> str:
    return run_cli("statements", *args, "--database", server.database_url).stdout


def test_the_command_prints_what_get_statement_answers(
    server: RunningServer, last_month: LastMonth
) -> None:
    t = last_month.bundle.t
    month = last_month.start.strftime("%Y-%m")
    span = period(last_month.start, last_month.end)
    rows = list(csv.DictReader(io.StringIO(statements_cli(server, "--month", month))))
    # Every platform and app with allocations in the month (the session's
    # other tests' too), each statement line for line as GetStatement says.
    by_statement: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        by_statement.setdefault((row["tenant_id"], row["currency"]), []).append(row)
    assert {(t.platform_id, "USD"), (t.app_id, "USD"), (t.other_app_id, "USD")} <= set(by_statement)
    for (tenant_id, currency), printed in by_statement.items():
        statement = get_statement(t.admin, tenant_id, currency=currency, **span)
        digits = currencies.minor_units(currency)
        assert len(printed) == len(statement.lines), tenant_id
        for row, answered in zip(printed, statement.lines, strict=True):
            assert (row["period_start"], row["period_end"]) == (
                iso(statement.period_start),
                iso(statement.period_end),
            )
            assert (row["counterpart_id"], row["plan_id"], row["product_id"]) == (
                answered.counterpart_id,
                answered.plan_id,
                answered.product_id,
            )
            assert int(row["cycles"]) == answered.amounts.cycles
            for name in MONEY:
                value = getattr(answered.amounts, name)
                assert int(row[name]) == value, (tenant_id, name)
                assert row[f"{name}_decimal"] == as_decimal(value, digits), (tenant_id, name)
    mine = by_statement[(t.platform_id, "USD")]
    assert (mine[0]["gross"], mine[0]["gross_decimal"]) == ("1848", "18.48")
    assert [r["publisher_share_decimal"] for r in mine] == ["0.00", "4.56", "3.00"]

    printed_json = json.loads(statements_cli(server, "--month", month, "--format", "json"))
    assert len(printed_json) == len(by_statement)
    for printed_statement in printed_json:
        answered = get_statement(
            t.admin,
            printed_statement["tenantId"],
            currency=printed_statement["currency"],
            **span,
        )
        assert printed_statement == json_format.MessageToDict(answered)

    # One tenant: its own statement only.
    alone = statements_cli(server, "--month", month, "--tenant", t.app_id, "--format", "json")
    mine_alone = get_statement(t.publisher, t.app_id, **span)
    assert json.loads(alone) == [json_format.MessageToDict(mine_alone)]


def test_the_command_prints_only_the_header_for_an_empty_month(server: RunningServer) -> None:
    printed = statements_cli(server, "--month", "2001-01").splitlines()
    assert len(printed) == 1 and printed[0].startswith("tenant_id,currency,period_start,")
    header = printed[0].split(",")
    assert header[:8] == [
        "tenant_id", "currency", "period_start", "period_end",
        "counterpart_id", "plan_id", "product_id", "cycles",
    ]  # fmt: skip
    assert header[8:] == [c for name in MONEY for c in (name, f"{name}_decimal")]
    assert json.loads(statements_cli(server, "--month", "2001-01", "--format", "json")) == []


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "26-01", "March", "9999-12"])
def test_the_command_refuses_a_bad_month(server: RunningServer, month: str) -> None:
    result = run_cli("statements", "--month", month, "--database", server.database_url, check=False)
    assert result.returncode == 2, result
    assert "YYYY-MM" in result.stderr and result.stdout == ""


def test_the_command_refuses_a_bad_or_unknown_tenant(server: RunningServer) -> None:
    for tenant, said in (("SUB1", "must be a platform"), ("PL0000000000000000001", "not found")):
        result = run_cli(
            "statements", "--month", "2026-01", "--tenant", tenant,
            "--database", server.database_url, check=False,
        )  # fmt: skip
        assert result.returncode == 2, result
        assert said in result.stderr
