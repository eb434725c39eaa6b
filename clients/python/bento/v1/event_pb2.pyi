import datetime

from bento.v1 import activation_pb2 as _activation_pb2
from bento.v1 import entitlement_pb2 as _entitlement_pb2
from bento.v1 import invoice_pb2 as _invoice_pb2
from bento.v1 import payment_pb2 as _payment_pb2
from bento.v1 import subscription_pb2 as _subscription_pb2
from bento.v1 import webhook_pb2 as _webhook_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Event(_message.Message):
    __slots__ = ("sequence", "event_id", "type", "occurred_at", "subscription_id", "session_id", "plan_id", "platform_id", "invoice_id", "payment_id", "activation_session_id", "app_ids", "data", "subscription", "invoice", "payment", "activation_session", "activation_item", "usage", "webhook_endpoint")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    APP_IDS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_SESSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ITEM_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    event_id: str
    type: str
    occurred_at: _timestamp_pb2.Timestamp
    subscription_id: str
    session_id: str
    plan_id: str
    platform_id: str
    invoice_id: str
    payment_id: str
    activation_session_id: str
    app_ids: _containers.RepeatedScalarFieldContainer[str]
    data: _struct_pb2.Struct
    subscription: _subscription_pb2.Subscription
    invoice: _invoice_pb2.Invoice
    payment: _payment_pb2.Payment
    activation_session: _activation_pb2.ActivationSession
    activation_item: _activation_pb2.ActivationItem
    usage: _entitlement_pb2.FeatureUsage
    webhook_endpoint: _webhook_pb2.WebhookEndpoint
    def __init__(self, sequence: _Optional[int] = ..., event_id: _Optional[str] = ..., type: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., subscription_id: _Optional[str] = ..., session_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., platform_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., activation_session_id: _Optional[str] = ..., app_ids: _Optional[_Iterable[str]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., subscription: _Optional[_Union[_subscription_pb2.Subscription, _Mapping]] = ..., invoice: _Optional[_Union[_invoice_pb2.Invoice, _Mapping]] = ..., payment: _Optional[_Union[_payment_pb2.Payment, _Mapping]] = ..., activation_session: _Optional[_Union[_activation_pb2.ActivationSession, _Mapping]] = ..., activation_item: _Optional[_Union[_activation_pb2.ActivationItem, _Mapping]] = ..., usage: _Optional[_Union[_entitlement_pb2.FeatureUsage, _Mapping]] = ..., webhook_endpoint: _Optional[_Union[_webhook_pb2.WebhookEndpoint, _Mapping]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("newest_sequence", "sent_at")
    NEWEST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    newest_sequence: int
    sent_at: _timestamp_pb2.Timestamp
    def __init__(self, newest_sequence: _Optional[int] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("subscription_id", "session_id", "plan_id", "types", "after_sequence", "page_size", "page_token")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    session_id: str
    plan_id: str
    types: _containers.RepeatedScalarFieldContainer[str]
    after_sequence: int
    page_size: int
    page_token: str
    def __init__(self, subscription_id: _Optional[str] = ..., session_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., types: _Optional[_Iterable[str]] = ..., after_sequence: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("after_sequence", "types", "subscription_id")
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    types: _containers.RepeatedScalarFieldContainer[str]
    subscription_id: str
    def __init__(self, after_sequence: _Optional[int] = ..., types: _Optional[_Iterable[str]] = ..., subscription_id: _Optional[str] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ("event", "heartbeat")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    event: Event
    heartbeat: Heartbeat
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...
