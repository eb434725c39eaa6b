import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StatementAmounts(_message.Message):
    __slots__ = ("cycles", "gross", "tax", "platform_fee", "publisher_share", "platform_share", "refunded", "credit_applied", "credit_issued")
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    GROSS_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FEE_FIELD_NUMBER: _ClassVar[int]
    PUBLISHER_SHARE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_SHARE_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    CREDIT_APPLIED_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ISSUED_FIELD_NUMBER: _ClassVar[int]
    cycles: int
    gross: int
    tax: int
    platform_fee: int
    publisher_share: int
    platform_share: int
    refunded: int
    credit_applied: int
    credit_issued: int
    def __init__(self, cycles: _Optional[int] = ..., gross: _Optional[int] = ..., tax: _Optional[int] = ..., platform_fee: _Optional[int] = ..., publisher_share: _Optional[int] = ..., platform_share: _Optional[int] = ..., refunded: _Optional[int] = ..., credit_applied: _Optional[int] = ..., credit_issued: _Optional[int] = ...) -> None: ...

class StatementLine(_message.Message):
    __slots__ = ("counterpart_id", "plan_id", "product_id", "amounts")
    COUNTERPART_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    counterpart_id: str
    plan_id: str
    product_id: str
    amounts: StatementAmounts
    def __init__(self, counterpart_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., product_id: _Optional[str] = ..., amounts: _Optional[_Union[StatementAmounts, _Mapping]] = ...) -> None: ...

class Statement(_message.Message):
    __slots__ = ("tenant_id", "currency", "period_start", "period_end", "lines", "totals")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    currency: str
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    lines: _containers.RepeatedCompositeFieldContainer[StatementLine]
    totals: StatementAmounts
    def __init__(self, tenant_id: _Optional[str] = ..., currency: _Optional[str] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[StatementLine, _Mapping]]] = ..., totals: _Optional[_Union[StatementAmounts, _Mapping]] = ...) -> None: ...

class GetStatementRequest(_message.Message):
    __slots__ = ("tenant_id", "currency", "period_start", "period_end")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    currency: str
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    def __init__(self, tenant_id: _Optional[str] = ..., currency: _Optional[str] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetStatementResponse(_message.Message):
    __slots__ = ("statement",)
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    statement: Statement
    def __init__(self, statement: _Optional[_Union[Statement, _Mapping]] = ...) -> None: ...

class PublisherShare(_message.Message):
    __slots__ = ("app_id", "product_id", "amount", "cycles")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    product_id: str
    amount: int
    cycles: int
    def __init__(self, app_id: _Optional[str] = ..., product_id: _Optional[str] = ..., amount: _Optional[int] = ..., cycles: _Optional[int] = ...) -> None: ...

class Allocation(_message.Message):
    __slots__ = ("allocation_id", "invoice_id", "subscription_id", "platform_id", "plan_id", "payment_id", "currency", "posted_at", "amounts", "publisher_shares")
    ALLOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    POSTED_AT_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHER_SHARES_FIELD_NUMBER: _ClassVar[int]
    allocation_id: str
    invoice_id: str
    subscription_id: str
    platform_id: str
    plan_id: str
    payment_id: str
    currency: str
    posted_at: _timestamp_pb2.Timestamp
    amounts: StatementAmounts
    publisher_shares: _containers.RepeatedCompositeFieldContainer[PublisherShare]
    def __init__(self, allocation_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., platform_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., currency: _Optional[str] = ..., posted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., amounts: _Optional[_Union[StatementAmounts, _Mapping]] = ..., publisher_shares: _Optional[_Iterable[_Union[PublisherShare, _Mapping]]] = ...) -> None: ...

class ListAllocationsRequest(_message.Message):
    __slots__ = ("tenant_id", "currency", "period_start", "period_end", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    currency: str
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., currency: _Optional[str] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAllocationsResponse(_message.Message):
    __slots__ = ("allocations", "next_page_token")
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    next_page_token: str
    def __init__(self, allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
