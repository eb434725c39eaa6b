import datetime

from bento.v1 import common_pb2 as _common_pb2
from bento.v1 import enums_pb2 as _enums_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Entitlement(_message.Message):
    __slots__ = ("product_id", "app_id", "feature", "subscription_id", "plan_id", "reason", "expires_at", "used", "remaining", "resets_at")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    RESETS_AT_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    app_id: str
    feature: _common_pb2.Feature
    subscription_id: str
    plan_id: str
    reason: _enums_pb2.AccessReason
    expires_at: _timestamp_pb2.Timestamp
    used: int
    remaining: int
    resets_at: _timestamp_pb2.Timestamp
    def __init__(self, product_id: _Optional[str] = ..., app_id: _Optional[str] = ..., feature: _Optional[_Union[_common_pb2.Feature, _Mapping]] = ..., subscription_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., reason: _Optional[_Union[_enums_pb2.AccessReason, str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., used: _Optional[int] = ..., remaining: _Optional[int] = ..., resets_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FeatureUsage(_message.Message):
    __slots__ = ("feature_code", "name", "limit", "used", "remaining", "reset_interval", "resets_at")
    FEATURE_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    RESET_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    RESETS_AT_FIELD_NUMBER: _ClassVar[int]
    feature_code: str
    name: str
    limit: int
    used: int
    remaining: int
    reset_interval: _enums_pb2.ResetInterval
    resets_at: _timestamp_pb2.Timestamp
    def __init__(self, feature_code: _Optional[str] = ..., name: _Optional[str] = ..., limit: _Optional[int] = ..., used: _Optional[int] = ..., remaining: _Optional[int] = ..., reset_interval: _Optional[_Union[_enums_pb2.ResetInterval, str]] = ..., resets_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CheckAccessRequest(_message.Message):
    __slots__ = ("session_id", "product_id", "feature_code", "platform_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURE_CODE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    product_id: str
    feature_code: str
    platform_id: str
    def __init__(self, session_id: _Optional[str] = ..., product_id: _Optional[str] = ..., feature_code: _Optional[str] = ..., platform_id: _Optional[str] = ...) -> None: ...

class CheckAccessResponse(_message.Message):
    __slots__ = ("allowed", "reason", "subscription_id", "plan_id", "expires_at")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    reason: _enums_pb2.AccessReason
    subscription_id: str
    plan_id: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, allowed: _Optional[bool] = ..., reason: _Optional[_Union[_enums_pb2.AccessReason, str]] = ..., subscription_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListEntitlementsRequest(_message.Message):
    __slots__ = ("session_id", "platform_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    platform_id: str
    def __init__(self, session_id: _Optional[str] = ..., platform_id: _Optional[str] = ...) -> None: ...

class ListEntitlementsResponse(_message.Message):
    __slots__ = ("entitlements",)
    ENTITLEMENTS_FIELD_NUMBER: _ClassVar[int]
    entitlements: _containers.RepeatedCompositeFieldContainer[Entitlement]
    def __init__(self, entitlements: _Optional[_Iterable[_Union[Entitlement, _Mapping]]] = ...) -> None: ...

class RecordUsageRequest(_message.Message):
    __slots__ = ("subscription_id", "feature_code", "quantity")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURE_CODE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    feature_code: str
    quantity: int
    def __init__(self, subscription_id: _Optional[str] = ..., feature_code: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class RecordUsageResponse(_message.Message):
    __slots__ = ("subscription_id", "feature_code", "used", "limit", "remaining", "resets_at")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURE_CODE_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    RESETS_AT_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    feature_code: str
    used: int
    limit: int
    remaining: int
    resets_at: _timestamp_pb2.Timestamp
    def __init__(self, subscription_id: _Optional[str] = ..., feature_code: _Optional[str] = ..., used: _Optional[int] = ..., limit: _Optional[int] = ..., remaining: _Optional[int] = ..., resets_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("subscription_id", "feature_code")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURE_CODE_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    feature_code: str
    def __init__(self, subscription_id: _Optional[str] = ..., feature_code: _Optional[str] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("subscription_id", "usages")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    USAGES_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    usages: _containers.RepeatedCompositeFieldContainer[FeatureUsage]
    def __init__(self, subscription_id: _Optional[str] = ..., usages: _Optional[_Iterable[_Union[FeatureUsage, _Mapping]]] = ...) -> None: ...
