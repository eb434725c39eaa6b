import datetime

from bento.v1 import common_pb2 as _common_pb2
from bento.v1 import enums_pb2 as _enums_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Invoice(_message.Message):
    __slots__ = ("invoice_id", "invoice_number", "subscription_id", "platform_id", "session_id", "status", "payment_status", "currency", "region", "amounts", "tax", "payment", "retries", "plan", "period", "metadata", "created_ip", "updated_ip", "created_at", "updated_at")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_IP_FIELD_NUMBER: _ClassVar[int]
    UPDATED_IP_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    invoice_number: str
    subscription_id: str
    platform_id: str
    session_id: str
    status: _enums_pb2.InvoiceStatus
    payment_status: _enums_pb2.PaymentStatus
    currency: str
    region: str
    amounts: InvoiceAmounts
    tax: _common_pb2.Tax
    payment: InvoicePayment
    retries: InvoiceRetries
    plan: InvoicePlan
    period: InvoicePeriod
    metadata: _struct_pb2.Struct
    created_ip: str
    updated_ip: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, invoice_id: _Optional[str] = ..., invoice_number: _Optional[str] = ..., subscription_id: _Optional[str] = ..., platform_id: _Optional[str] = ..., session_id: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.InvoiceStatus, str]] = ..., payment_status: _Optional[_Union[_enums_pb2.PaymentStatus, str]] = ..., currency: _Optional[str] = ..., region: _Optional[str] = ..., amounts: _Optional[_Union[InvoiceAmounts, _Mapping]] = ..., tax: _Optional[_Union[_common_pb2.Tax, _Mapping]] = ..., payment: _Optional[_Union[InvoicePayment, _Mapping]] = ..., retries: _Optional[_Union[InvoiceRetries, _Mapping]] = ..., plan: _Optional[_Union[InvoicePlan, _Mapping]] = ..., period: _Optional[_Union[InvoicePeriod, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_ip: _Optional[str] = ..., updated_ip: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class InvoiceAmounts(_message.Message):
    __slots__ = ("subtotal", "proration_credit", "tax_amount", "total_amount", "amount_due", "amount_paid", "credit_applied", "amount_refunded", "subtotal_excluding_tax")
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    PRORATION_CREDIT_FIELD_NUMBER: _ClassVar[int]
    TAX_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_DUE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PAID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_APPLIED_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_REFUNDED_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_EXCLUDING_TAX_FIELD_NUMBER: _ClassVar[int]
    subtotal: int
    proration_credit: int
    tax_amount: int
    total_amount: int
    amount_due: int
    amount_paid: int
    credit_applied: int
    amount_refunded: int
    subtotal_excluding_tax: int
    def __init__(self, subtotal: _Optional[int] = ..., proration_credit: _Optional[int] = ..., tax_amount: _Optional[int] = ..., total_amount: _Optional[int] = ..., amount_due: _Optional[int] = ..., amount_paid: _Optional[int] = ..., credit_applied: _Optional[int] = ..., amount_refunded: _Optional[int] = ..., subtotal_excluding_tax: _Optional[int] = ...) -> None: ...

class InvoicePayment(_message.Message):
    __slots__ = ("method_id", "intent_id", "date")
    METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    method_id: str
    intent_id: str
    date: _timestamp_pb2.Timestamp
    def __init__(self, method_id: _Optional[str] = ..., intent_id: _Optional[str] = ..., date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class InvoiceRetries(_message.Message):
    __slots__ = ("count", "max", "next_date", "last_date", "delay_minutes")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    NEXT_DATE_FIELD_NUMBER: _ClassVar[int]
    LAST_DATE_FIELD_NUMBER: _ClassVar[int]
    DELAY_MINUTES_FIELD_NUMBER: _ClassVar[int]
    count: int
    max: int
    next_date: _timestamp_pb2.Timestamp
    last_date: _timestamp_pb2.Timestamp
    delay_minutes: int
    def __init__(self, count: _Optional[int] = ..., max: _Optional[int] = ..., next_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delay_minutes: _Optional[int] = ...) -> None: ...

class InvoicePlan(_message.Message):
    __slots__ = ("plan_id", "name", "type", "phase_id", "phase_order", "billing_cycle", "platform_fee_rate", "platform_fee_amount")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PHASE_ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_ORDER_FIELD_NUMBER: _ClassVar[int]
    BILLING_CYCLE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FEE_RATE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FEE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    name: str
    type: _enums_pb2.PlanType
    phase_id: str
    phase_order: int
    billing_cycle: int
    platform_fee_rate: float
    platform_fee_amount: int
    def __init__(self, plan_id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[_enums_pb2.PlanType, str]] = ..., phase_id: _Optional[str] = ..., phase_order: _Optional[int] = ..., billing_cycle: _Optional[int] = ..., platform_fee_rate: _Optional[float] = ..., platform_fee_amount: _Optional[int] = ...) -> None: ...

class InvoicePeriod(_message.Message):
    __slots__ = ("start", "end", "invoice_date", "due_date", "grace_period_end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    INVOICE_DATE_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    invoice_date: _timestamp_pb2.Timestamp
    due_date: _timestamp_pb2.Timestamp
    grace_period_end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., invoice_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., due_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., grace_period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetInvoiceRequest(_message.Message):
    __slots__ = ("subscription_id", "invoice_id")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    invoice_id: str
    def __init__(self, subscription_id: _Optional[str] = ..., invoice_id: _Optional[str] = ...) -> None: ...

class GetInvoiceResponse(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class ListInvoicesRequest(_message.Message):
    __slots__ = ("subscription_id", "page_size", "page_token")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    page_size: int
    page_token: str
    def __init__(self, subscription_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListInvoicesResponse(_message.Message):
    __slots__ = ("invoices", "next_page_token")
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    invoices: _containers.RepeatedCompositeFieldContainer[Invoice]
    next_page_token: str
    def __init__(self, invoices: _Optional[_Iterable[_Union[Invoice, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateInvoiceRequest(_message.Message):
    __slots__ = ("subscription_id", "invoice_id", "payment_status", "payment_method_id", "payment_intent_id")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    invoice_id: str
    payment_status: _enums_pb2.PaymentStatus
    payment_method_id: str
    payment_intent_id: str
    def __init__(self, subscription_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., payment_status: _Optional[_Union[_enums_pb2.PaymentStatus, str]] = ..., payment_method_id: _Optional[str] = ..., payment_intent_id: _Optional[str] = ...) -> None: ...

class UpdateInvoiceResponse(_message.Message):
    __slots__ = ("invoice", "activation_urls")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_URLS_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    activation_urls: _containers.RepeatedCompositeFieldContainer[_common_pb2.ActivationUrl]
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ..., activation_urls: _Optional[_Iterable[_Union[_common_pb2.ActivationUrl, _Mapping]]] = ...) -> None: ...
