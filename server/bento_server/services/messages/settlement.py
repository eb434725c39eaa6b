"""Statements and allocations as the API answers them."""

from __future__ import annotations

from bento.v1 import settlement_pb2 as pb
from bento_server.services.convert import timestamp
from bento_server.usecases.statements import Amounts, Entry, Statement


def amounts_pb(amounts: Amounts) -> pb.StatementAmounts:
    return pb.StatementAmounts(
        cycles=amounts.cycles,
        gross=amounts.gross,
        tax=amounts.tax,
        platform_fee=amounts.platform_fee,
        publisher_share=amounts.publisher_share,
        platform_share=amounts.platform_share,
        refunded=amounts.refunded,
        credit_applied=amounts.credit_applied,
        credit_issued=amounts.credit_issued,
    )


def statement_pb(statement: Statement) -> pb.Statement:
    return pb.Statement(
        tenant_id=statement.tenant_id,
        currency=statement.currency,
        period_start=timestamp(statement.period.start),
        period_end=timestamp(statement.period.end),
        lines=[
            pb.StatementLine(
                counterpart_id=line.counterpart_id,
                plan_id=line.plan_id,
                product_id=line.product_id,
                amounts=amounts_pb(line.amounts),
            )
            for line in statement.lines
        ],
        totals=amounts_pb(statement.totals),
    )


def allocation_pb(entry: Entry) -> pb.Allocation:
    row = entry.row
    return pb.Allocation(
        allocation_id=row.id,
        invoice_id=row.invoice_id,
        subscription_id=row.subscription_id,
        platform_id=row.platform_id,
        plan_id=row.plan_id,
        payment_id=row.payment_id,
        currency=row.currency,
        posted_at=timestamp(row.posted_at),
        amounts=amounts_pb(entry.amounts),
        publisher_shares=[
            pb.PublisherShare(
                app_id=share.app_id,
                product_id=share.product_id,
                amount=share.amount,
                cycles=share.cycles,
            )
            for share in entry.shares
        ],
    )
