import datetime

from bento.v1 import enums_pb2 as _enums_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Price(_message.Message):
    __slots__ = ("price_in_cents", "currency_code", "tier_id")
    PRICE_IN_CENTS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    TIER_ID_FIELD_NUMBER: _ClassVar[int]
    price_in_cents: int
    currency_code: str
    tier_id: str
    def __init__(self, price_in_cents: _Optional[int] = ..., currency_code: _Optional[str] = ..., tier_id: _Optional[str] = ...) -> None: ...

class BillingFrequency(_message.Message):
    __slots__ = ("unit", "value")
    UNIT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    unit: _enums_pb2.BillingUnit
    value: int
    def __init__(self, unit: _Optional[_Union[_enums_pb2.BillingUnit, str]] = ..., value: _Optional[int] = ...) -> None: ...

class Localization(_message.Message):
    __slots__ = ("display_name", "description")
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    description: str
    def __init__(self, display_name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class Tax(_message.Message):
    __slots__ = ("rate", "type", "jurisdiction", "behavior", "note")
    RATE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    rate: float
    type: _enums_pb2.TaxType
    jurisdiction: str
    behavior: _enums_pb2.TaxBehavior
    note: str
    def __init__(self, rate: _Optional[float] = ..., type: _Optional[_Union[_enums_pb2.TaxType, str]] = ..., jurisdiction: _Optional[str] = ..., behavior: _Optional[_Union[_enums_pb2.TaxBehavior, str]] = ..., note: _Optional[str] = ...) -> None: ...

class Feature(_message.Message):
    __slots__ = ("code", "name", "kind", "limit", "reset_interval")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    RESET_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    kind: _enums_pb2.FeatureKind
    limit: int
    reset_interval: _enums_pb2.ResetInterval
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[_enums_pb2.FeatureKind, str]] = ..., limit: _Optional[int] = ..., reset_interval: _Optional[_Union[_enums_pb2.ResetInterval, str]] = ...) -> None: ...

class ActivationUrl(_message.Message):
    __slots__ = ("app_id", "app_name", "product_id", "product_name", "activation_url", "expires_at")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    app_name: str
    product_id: str
    product_name: str
    activation_url: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, app_id: _Optional[str] = ..., app_name: _Optional[str] = ..., product_id: _Optional[str] = ..., product_name: _Optional[str] = ..., activation_url: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
