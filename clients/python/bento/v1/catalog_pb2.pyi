import datetime

from bento.v1 import common_pb2 as _common_pb2
from bento.v1 import enums_pb2 as _enums_pb2
from bento.v1 import tenant_pb2 as _tenant_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Product(_message.Message):
    __slots__ = ("product_id", "app_id", "name", "internal_id", "description", "product_type", "status", "features", "prices", "price_wholesale", "localizations", "metadata", "created_at", "updated_at")
    class PricesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Price
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Price, _Mapping]] = ...) -> None: ...
    class LocalizationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Localization
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Localization, _Mapping]] = ...) -> None: ...
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    PRICE_WHOLESALE_FIELD_NUMBER: _ClassVar[int]
    LOCALIZATIONS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    app_id: str
    name: str
    internal_id: str
    description: str
    product_type: str
    status: _enums_pb2.ProductStatus
    features: _containers.RepeatedCompositeFieldContainer[_common_pb2.Feature]
    prices: _containers.MessageMap[str, _common_pb2.Price]
    price_wholesale: _common_pb2.Price
    localizations: _containers.MessageMap[str, _common_pb2.Localization]
    metadata: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, product_id: _Optional[str] = ..., app_id: _Optional[str] = ..., name: _Optional[str] = ..., internal_id: _Optional[str] = ..., description: _Optional[str] = ..., product_type: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.ProductStatus, str]] = ..., features: _Optional[_Iterable[_Union[_common_pb2.Feature, _Mapping]]] = ..., prices: _Optional[_Mapping[str, _common_pb2.Price]] = ..., price_wholesale: _Optional[_Union[_common_pb2.Price, _Mapping]] = ..., localizations: _Optional[_Mapping[str, _common_pb2.Localization]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PricePhase(_message.Message):
    __slots__ = ("phase_id", "order", "billing_cycles", "price")
    PHASE_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    BILLING_CYCLES_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    phase_id: str
    order: int
    billing_cycles: int
    price: _common_pb2.Price
    def __init__(self, phase_id: _Optional[str] = ..., order: _Optional[int] = ..., billing_cycles: _Optional[int] = ..., price: _Optional[_Union[_common_pb2.Price, _Mapping]] = ...) -> None: ...

class RegionPrices(_message.Message):
    __slots__ = ("phases",)
    PHASES_FIELD_NUMBER: _ClassVar[int]
    phases: _containers.RepeatedCompositeFieldContainer[PricePhase]
    def __init__(self, phases: _Optional[_Iterable[_Union[PricePhase, _Mapping]]] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("plan_id", "platform_id", "name", "plan_type", "status", "billing_frequency", "free_trial_days", "grace_period_days", "prices", "localizations", "product_ids", "plan_items", "tier", "end_behavior", "can_pause", "can_cancel", "free", "metadata", "created_at", "updated_at")
    class PricesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: RegionPrices
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[RegionPrices, _Mapping]] = ...) -> None: ...
    class LocalizationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Localization
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Localization, _Mapping]] = ...) -> None: ...
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PLAN_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BILLING_FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    FREE_TRIAL_DAYS_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_DAYS_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    LOCALIZATIONS_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    PLAN_ITEMS_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    END_BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    CAN_PAUSE_FIELD_NUMBER: _ClassVar[int]
    CAN_CANCEL_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    platform_id: str
    name: str
    plan_type: _enums_pb2.PlanType
    status: _enums_pb2.PlanStatus
    billing_frequency: _common_pb2.BillingFrequency
    free_trial_days: int
    grace_period_days: int
    prices: _containers.MessageMap[str, RegionPrices]
    localizations: _containers.MessageMap[str, _common_pb2.Localization]
    product_ids: _containers.RepeatedScalarFieldContainer[str]
    plan_items: _containers.RepeatedCompositeFieldContainer[PlanItem]
    tier: int
    end_behavior: _enums_pb2.EndBehavior
    can_pause: bool
    can_cancel: bool
    free: bool
    metadata: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, plan_id: _Optional[str] = ..., platform_id: _Optional[str] = ..., name: _Optional[str] = ..., plan_type: _Optional[_Union[_enums_pb2.PlanType, str]] = ..., status: _Optional[_Union[_enums_pb2.PlanStatus, str]] = ..., billing_frequency: _Optional[_Union[_common_pb2.BillingFrequency, _Mapping]] = ..., free_trial_days: _Optional[int] = ..., grace_period_days: _Optional[int] = ..., prices: _Optional[_Mapping[str, RegionPrices]] = ..., localizations: _Optional[_Mapping[str, _common_pb2.Localization]] = ..., product_ids: _Optional[_Iterable[str]] = ..., plan_items: _Optional[_Iterable[_Union[PlanItem, _Mapping]]] = ..., tier: _Optional[int] = ..., end_behavior: _Optional[_Union[_enums_pb2.EndBehavior, str]] = ..., can_pause: _Optional[bool] = ..., can_cancel: _Optional[bool] = ..., free: _Optional[bool] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PlanItem(_message.Message):
    __slots__ = ("product_id", "app_id", "name", "status", "price_wholesale", "price", "localizations", "features", "app")
    class LocalizationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Localization
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Localization, _Mapping]] = ...) -> None: ...
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRICE_WHOLESALE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    LOCALIZATIONS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    APP_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    app_id: str
    name: str
    status: _enums_pb2.ProductStatus
    price_wholesale: _common_pb2.Price
    price: _common_pb2.Price
    localizations: _containers.MessageMap[str, _common_pb2.Localization]
    features: _containers.RepeatedCompositeFieldContainer[_common_pb2.Feature]
    app: _tenant_pb2.App
    def __init__(self, product_id: _Optional[str] = ..., app_id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.ProductStatus, str]] = ..., price_wholesale: _Optional[_Union[_common_pb2.Price, _Mapping]] = ..., price: _Optional[_Union[_common_pb2.Price, _Mapping]] = ..., localizations: _Optional[_Mapping[str, _common_pb2.Localization]] = ..., features: _Optional[_Iterable[_Union[_common_pb2.Feature, _Mapping]]] = ..., app: _Optional[_Union[_tenant_pb2.App, _Mapping]] = ...) -> None: ...

class CreateProductRequest(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class CreateProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("product_id",)
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    def __init__(self, product_id: _Optional[str] = ...) -> None: ...

class GetProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ("app_id", "page_size", "page_token")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    page_size: int
    page_token: str
    def __init__(self, app_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("products", "next_page_token")
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    next_page_token: str
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateProductRequest(_message.Message):
    __slots__ = ("product", "update_mask")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    product: Product
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class CreatePlanRequest(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class CreatePlanResponse(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class GetPlanRequest(_message.Message):
    __slots__ = ("plan_id", "region")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    region: str
    def __init__(self, plan_id: _Optional[str] = ..., region: _Optional[str] = ...) -> None: ...

class GetPlanResponse(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class ListPlansRequest(_message.Message):
    __slots__ = ("language", "region", "status", "platform_id", "page_size", "page_token")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    language: _containers.RepeatedScalarFieldContainer[str]
    region: _containers.RepeatedScalarFieldContainer[str]
    status: _enums_pb2.PlanStatus
    platform_id: str
    page_size: int
    page_token: str
    def __init__(self, language: _Optional[_Iterable[str]] = ..., region: _Optional[_Iterable[str]] = ..., status: _Optional[_Union[_enums_pb2.PlanStatus, str]] = ..., platform_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPlansResponse(_message.Message):
    __slots__ = ("plans", "next_page_token", "total")
    PLANS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    plans: _containers.RepeatedCompositeFieldContainer[Plan]
    next_page_token: str
    total: int
    def __init__(self, plans: _Optional[_Iterable[_Union[Plan, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total: _Optional[int] = ...) -> None: ...

class UpdatePlanRequest(_message.Message):
    __slots__ = ("plan", "update_mask")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdatePlanResponse(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...
