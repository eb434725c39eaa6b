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

class Payment(_message.Message):
    __slots__ = ("payment_id", "invoice_id", "subscription_id", "platform_id", "amount", "currency", "status", "payment_method_id", "payment_intent_id", "refund_reason", "original_payment_id", "error_code", "error_message", "processor_response", "metadata", "created_ip", "created_at")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    REFUND_REASON_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PROCESSOR_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_IP_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    invoice_id: str
    subscription_id: str
    platform_id: str
    amount: int
    currency: str
    status: _enums_pb2.PaymentRecordStatus
    payment_method_id: str
    payment_intent_id: str
    refund_reason: str
    original_payment_id: str
    error_code: str
    error_message: str
    processor_response: _struct_pb2.Struct
    metadata: _struct_pb2.Struct
    created_ip: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, payment_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., platform_id: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.PaymentRecordStatus, str]] = ..., payment_method_id: _Optional[str] = ..., payment_intent_id: _Optional[str] = ..., refund_reason: _Optional[str] = ..., original_payment_id: _Optional[str] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ..., processor_response: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_ip: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreatePaymentRequest(_message.Message):
    __slots__ = ("subscription_id", "invoice_id", "amount", "currency", "status", "payment_method_id", "payment_intent_id", "refund_reason", "original_payment_id", "error_code", "error_message", "processor_response", "metadata")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    REFUND_REASON_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PROCESSOR_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    invoice_id: str
    amount: int
    currency: str
    status: _enums_pb2.PaymentRecordStatus
    payment_method_id: str
    payment_intent_id: str
    refund_reason: str
    original_payment_id: str
    error_code: str
    error_message: str
    processor_response: _struct_pb2.Struct
    metadata: _struct_pb2.Struct
    def __init__(self, subscription_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.PaymentRecordStatus, str]] = ..., payment_method_id: _Optional[str] = ..., payment_intent_id: _Optional[str] = ..., refund_reason: _Optional[str] = ..., original_payment_id: _Optional[str] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ..., processor_response: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CreatePaymentResponse(_message.Message):
    __slots__ = ("payment", "activation_urls")
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_URLS_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    activation_urls: _containers.RepeatedCompositeFieldContainer[_common_pb2.ActivationUrl]
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ..., activation_urls: _Optional[_Iterable[_Union[_common_pb2.ActivationUrl, _Mapping]]] = ...) -> None: ...

class GetPaymentRequest(_message.Message):
    __slots__ = ("subscription_id", "invoice_id", "payment_id")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    invoice_id: str
    payment_id: str
    def __init__(self, subscription_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., payment_id: _Optional[str] = ...) -> None: ...

class GetPaymentResponse(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ...) -> None: ...

class ListPaymentsRequest(_message.Message):
    __slots__ = ("subscription_id", "invoice_id", "page_size", "page_token")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    invoice_id: str
    page_size: int
    page_token: str
    def __init__(self, subscription_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPaymentsResponse(_message.Message):
    __slots__ = ("payments", "next_page_token")
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    next_page_token: str
    def __init__(self, payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
