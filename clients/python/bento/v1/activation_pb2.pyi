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

class ActivationSession(_message.Message):
    __slots__ = ("activation_session_id", "subscription_id", "invoice_id", "platform_id", "platform_name", "session_id", "status", "expires_at", "progress", "activation_items", "metadata", "created_at", "updated_at")
    ACTIVATION_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_NAME_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ITEMS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    activation_session_id: str
    subscription_id: str
    invoice_id: str
    platform_id: str
    platform_name: str
    session_id: str
    status: _enums_pb2.ActivationStatus
    expires_at: _timestamp_pb2.Timestamp
    progress: ActivationProgress
    activation_items: _containers.RepeatedCompositeFieldContainer[ActivationItem]
    metadata: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, activation_session_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., platform_id: _Optional[str] = ..., platform_name: _Optional[str] = ..., session_id: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.ActivationStatus, str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., progress: _Optional[_Union[ActivationProgress, _Mapping]] = ..., activation_items: _Optional[_Iterable[_Union[ActivationItem, _Mapping]]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ActivationProgress(_message.Message):
    __slots__ = ("items_total", "items_activated")
    ITEMS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ITEMS_ACTIVATED_FIELD_NUMBER: _ClassVar[int]
    items_total: int
    items_activated: int
    def __init__(self, items_total: _Optional[int] = ..., items_activated: _Optional[int] = ...) -> None: ...

class ActivationItem(_message.Message):
    __slots__ = ("app_id", "app_name", "product_id", "product_name", "status", "jti", "user_id", "error_reason", "activated_at", "exchanged_at", "created_at", "expires_at", "updated_at")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    JTI_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_REASON_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXCHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    app_name: str
    product_id: str
    product_name: str
    status: _enums_pb2.ActivationItemStatus
    jti: str
    user_id: str
    error_reason: str
    activated_at: _timestamp_pb2.Timestamp
    exchanged_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, app_id: _Optional[str] = ..., app_name: _Optional[str] = ..., product_id: _Optional[str] = ..., product_name: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.ActivationItemStatus, str]] = ..., jti: _Optional[str] = ..., user_id: _Optional[str] = ..., error_reason: _Optional[str] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exchanged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ActivationProduct(_message.Message):
    __slots__ = ("product_id", "product_name", "name", "description", "status", "product_type", "internal_id", "metadata")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_TYPE_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    product_name: str
    name: str
    description: str
    status: _enums_pb2.ProductStatus
    product_type: str
    internal_id: str
    metadata: _struct_pb2.Struct
    def __init__(self, product_id: _Optional[str] = ..., product_name: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.ProductStatus, str]] = ..., product_type: _Optional[str] = ..., internal_id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetActivationSessionRequest(_message.Message):
    __slots__ = ("activation_session_id",)
    ACTIVATION_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    activation_session_id: str
    def __init__(self, activation_session_id: _Optional[str] = ...) -> None: ...

class GetActivationSessionResponse(_message.Message):
    __slots__ = ("activation_session",)
    ACTIVATION_SESSION_FIELD_NUMBER: _ClassVar[int]
    activation_session: ActivationSession
    def __init__(self, activation_session: _Optional[_Union[ActivationSession, _Mapping]] = ...) -> None: ...

class ExchangeActivationCodeRequest(_message.Message):
    __slots__ = ("activation_code",)
    ACTIVATION_CODE_FIELD_NUMBER: _ClassVar[int]
    activation_code: str
    def __init__(self, activation_code: _Optional[str] = ...) -> None: ...

class ExchangeActivationCodeResponse(_message.Message):
    __slots__ = ("activation_session_id", "app_id", "product_id", "subscription_id", "platform_id", "platform_name", "product", "jti", "exchanged_at", "expires_at")
    ACTIVATION_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    JTI_FIELD_NUMBER: _ClassVar[int]
    EXCHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    activation_session_id: str
    app_id: str
    product_id: str
    subscription_id: str
    platform_id: str
    platform_name: str
    product: ActivationProduct
    jti: str
    exchanged_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, activation_session_id: _Optional[str] = ..., app_id: _Optional[str] = ..., product_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., platform_id: _Optional[str] = ..., platform_name: _Optional[str] = ..., product: _Optional[_Union[ActivationProduct, _Mapping]] = ..., jti: _Optional[str] = ..., exchanged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpdateActivationItemRequest(_message.Message):
    __slots__ = ("activation_session_id", "item_id", "status", "activated_at", "user_id", "error_reason")
    ACTIVATION_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_REASON_FIELD_NUMBER: _ClassVar[int]
    activation_session_id: str
    item_id: str
    status: _enums_pb2.ActivationItemStatus
    activated_at: _timestamp_pb2.Timestamp
    user_id: str
    error_reason: str
    def __init__(self, activation_session_id: _Optional[str] = ..., item_id: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.ActivationItemStatus, str]] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., user_id: _Optional[str] = ..., error_reason: _Optional[str] = ...) -> None: ...

class UpdateActivationItemResponse(_message.Message):
    __slots__ = ("activation_session_id", "activation_item", "activation_session_status")
    ACTIVATION_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ITEM_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_SESSION_STATUS_FIELD_NUMBER: _ClassVar[int]
    activation_session_id: str
    activation_item: ActivationItem
    activation_session_status: _enums_pb2.ActivationStatus
    def __init__(self, activation_session_id: _Optional[str] = ..., activation_item: _Optional[_Union[ActivationItem, _Mapping]] = ..., activation_session_status: _Optional[_Union[_enums_pb2.ActivationStatus, str]] = ...) -> None: ...

class RegenerateActivationCodesRequest(_message.Message):
    __slots__ = ("activation_session_id", "regenerate_all", "app_ids", "force")
    ACTIVATION_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REGENERATE_ALL_FIELD_NUMBER: _ClassVar[int]
    APP_IDS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    activation_session_id: str
    regenerate_all: bool
    app_ids: _containers.RepeatedScalarFieldContainer[str]
    force: bool
    def __init__(self, activation_session_id: _Optional[str] = ..., regenerate_all: _Optional[bool] = ..., app_ids: _Optional[_Iterable[str]] = ..., force: _Optional[bool] = ...) -> None: ...

class RegenerateActivationCodesResponse(_message.Message):
    __slots__ = ("activation_session_id", "subscription_id", "regenerated_count", "activation_urls")
    ACTIVATION_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    REGENERATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_URLS_FIELD_NUMBER: _ClassVar[int]
    activation_session_id: str
    subscription_id: str
    regenerated_count: int
    activation_urls: _containers.RepeatedCompositeFieldContainer[_common_pb2.ActivationUrl]
    def __init__(self, activation_session_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., regenerated_count: _Optional[int] = ..., activation_urls: _Optional[_Iterable[_Union[_common_pb2.ActivationUrl, _Mapping]]] = ...) -> None: ...
