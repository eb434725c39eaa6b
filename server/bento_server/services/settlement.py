"""SettlementService: statements and the allocations behind them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from google.protobuf import timestamp_pb2

from bento.v1 import settlement_pb2 as pb
from bento.v1 import settlement_pb2_grpc
from bento_server.services.base import Servicer
from bento_server.services.convert import from_timestamp
from bento_server.services.messages.settlement import allocation_pb, statement_pb
from bento_server.services.rpc import Caller, Work, rpc, use
from bento_server.services.validate import Check
from bento_server.usecases import statements


class _Filters(Protocol):
    """The filters GetStatementRequest and ListAllocationsRequest share."""

    tenant_id: str
    currency: str
    period_start: timestamp_pb2.Timestamp
    period_end: timestamp_pb2.Timestamp

    def HasField(self, field_name: str) -> bool: ...


def _instant(request: _Filters, name: str, check: Check) -> datetime | None:
    try:
        return from_timestamp(getattr(request, name))
    except (ValueError, OverflowError):
        check.fail(name, "is not a valid timestamp")
        return None


def asked(request: _Filters, check: Check) -> statements.Asked:
    """The tenant, currency and period a request names, each checked."""
    bad = len(check.violations)
    check.object_id(request.tenant_id, "tenant_id")
    if len(check.violations) == bad and not statements.tenant_kind(request.tenant_id):
        check.fail("tenant_id", "must be a platform (PL...) or an app (AP...)")
    if request.currency:
        check.currency(request.currency, "currency")
    has_start, has_end = request.HasField("period_start"), request.HasField("period_end")
    period = None
    if has_start != has_end:
        missing, given = (
            ("period_end", "period_start") if has_start else ("period_start", "period_end")
        )
        check.fail(missing, f"is required with {given} (leave both unset for last month)")
    elif has_start:
        start = _instant(request, "period_start", check)
        end = _instant(request, "period_end", check)
        if start is not None and end is not None:
            if start >= end:
                check.fail("period_end", "must be after period_start")
            period = statements.Period(start, end)
    return statements.Asked(request.tenant_id, request.currency, period)


class SettlementService(Servicer, settlement_pb2_grpc.SettlementServiceServicer):
    @rpc
    def GetStatement(
        self, request: pb.GetStatementRequest, check: Check, caller: Caller
    ) -> Work[pb.GetStatementResponse]:
        return use(
            statements.get_statement, self.deps, caller.principal, asked(request, check)
        ).answer(lambda found: pb.GetStatementResponse(statement=statement_pb(found)))

    @rpc
    def ListAllocations(
        self, request: pb.ListAllocationsRequest, check: Check, caller: Caller
    ) -> Work[pb.ListAllocationsResponse]:
        return use(
            statements.list_allocations,
            self.deps,
            caller.principal,
            asked(request, check),
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListAllocationsResponse(
                allocations=[allocation_pb(entry) for entry in listed.items],
                next_page_token=listed.next_page_token,
            )
        )
