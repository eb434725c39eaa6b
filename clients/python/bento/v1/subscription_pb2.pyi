import datetime

from bento.v1 import common_pb2 as _common_pb2
from bento.v1 import enums_pb2 as _enums_pb2
from bento.v1 import invoice_pb2 as _invoice_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubscriptionFeatureSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_FEATURE_SOURCE_UNSPECIFIED: _ClassVar[SubscriptionFeatureSource]
    SUBSCRIPTION_FEATURE_SOURCE_PLAN: _ClassVar[SubscriptionFeatureSource]
    SUBSCRIPTION_FEATURE_SOURCE_OVERRIDE: _ClassVar[SubscriptionFeatureSource]
    SUBSCRIPTION_FEATURE_SOURCE_CUSTOM: _ClassVar[SubscriptionFeatureSource]
SUBSCRIPTION_FEATURE_SOURCE_UNSPECIFIED: SubscriptionFeatureSource
SUBSCRIPTION_FEATURE_SOURCE_PLAN: SubscriptionFeatureSource
SUBSCRIPTION_FEATURE_SOURCE_OVERRIDE: SubscriptionFeatureSource
SUBSCRIPTION_FEATURE_SOURCE_CUSTOM: SubscriptionFeatureSource

class Subscription(_message.Message):
    __slots__ = ("subscription_id", "session_id", "plan_id", "platform_id", "status", "activation_status", "payment_status", "billing", "trial", "period", "tax", "plan", "cancellation", "activation", "proration_credit", "region", "currency", "metadata", "device_info", "created_ip", "updated_ip", "created_at", "updated_at", "paused_at", "payment_method_id", "credit_balance", "refund_due")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    BILLING_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    CANCELLATION_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    PRORATION_CREDIT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DEVICE_INFO_FIELD_NUMBER: _ClassVar[int]
    CREATED_IP_FIELD_NUMBER: _ClassVar[int]
    UPDATED_IP_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    PAUSED_AT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_BALANCE_FIELD_NUMBER: _ClassVar[int]
    REFUND_DUE_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    session_id: str
    plan_id: str
    platform_id: str
    status: _enums_pb2.SubscriptionStatus
    activation_status: _enums_pb2.ActivationStatus
    payment_status: _enums_pb2.PaymentStatus
    billing: SubscriptionBilling
    trial: SubscriptionTrial
    period: Period
    tax: _common_pb2.Tax
    plan: SubscriptionPlan
    cancellation: Cancellation
    activation: SubscriptionActivation
    proration_credit: int
    region: str
    currency: str
    metadata: _struct_pb2.Struct
    device_info: _struct_pb2.Struct
    created_ip: str
    updated_ip: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    paused_at: _timestamp_pb2.Timestamp
    payment_method_id: str
    credit_balance: int
    refund_due: int
    def __init__(self, subscription_id: _Optional[str] = ..., session_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., platform_id: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.SubscriptionStatus, str]] = ..., activation_status: _Optional[_Union[_enums_pb2.ActivationStatus, str]] = ..., payment_status: _Optional[_Union[_enums_pb2.PaymentStatus, str]] = ..., billing: _Optional[_Union[SubscriptionBilling, _Mapping]] = ..., trial: _Optional[_Union[SubscriptionTrial, _Mapping]] = ..., period: _Optional[_Union[Period, _Mapping]] = ..., tax: _Optional[_Union[_common_pb2.Tax, _Mapping]] = ..., plan: _Optional[_Union[SubscriptionPlan, _Mapping]] = ..., cancellation: _Optional[_Union[Cancellation, _Mapping]] = ..., activation: _Optional[_Union[SubscriptionActivation, _Mapping]] = ..., proration_credit: _Optional[int] = ..., region: _Optional[str] = ..., currency: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., device_info: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_ip: _Optional[str] = ..., updated_ip: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paused_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payment_method_id: _Optional[str] = ..., credit_balance: _Optional[int] = ..., refund_due: _Optional[int] = ...) -> None: ...

class SubscriptionBilling(_message.Message):
    __slots__ = ("next_billing_date", "frequency", "cycle_count", "current_phase_id", "grace_period_days", "grace_period_end", "interval_days")
    NEXT_BILLING_DATE_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    CYCLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PHASE_ID_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_DAYS_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_DAYS_FIELD_NUMBER: _ClassVar[int]
    next_billing_date: _timestamp_pb2.Timestamp
    frequency: _common_pb2.BillingFrequency
    cycle_count: int
    current_phase_id: str
    grace_period_days: int
    grace_period_end: _timestamp_pb2.Timestamp
    interval_days: int
    def __init__(self, next_billing_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., frequency: _Optional[_Union[_common_pb2.BillingFrequency, _Mapping]] = ..., cycle_count: _Optional[int] = ..., current_phase_id: _Optional[str] = ..., grace_period_days: _Optional[int] = ..., grace_period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., interval_days: _Optional[int] = ...) -> None: ...

class SubscriptionTrial(_message.Message):
    __slots__ = ("days", "end_date")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    days: int
    end_date: _timestamp_pb2.Timestamp
    def __init__(self, days: _Optional[int] = ..., end_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Period(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubscriptionPlan(_message.Message):
    __slots__ = ("name", "type", "tier")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: _enums_pb2.PlanType
    tier: int
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[_enums_pb2.PlanType, str]] = ..., tier: _Optional[int] = ...) -> None: ...

class Cancellation(_message.Message):
    __slots__ = ("cancel_at_period_end", "canceled_at", "ended_at", "reason")
    CANCEL_AT_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    CANCELED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    cancel_at_period_end: bool
    canceled_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    reason: _enums_pb2.EndReason
    def __init__(self, cancel_at_period_end: _Optional[bool] = ..., canceled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[_Union[_enums_pb2.EndReason, str]] = ...) -> None: ...

class SubscriptionActivation(_message.Message):
    __slots__ = ("url", "token", "activation_session_id")
    URL_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    url: str
    token: str
    activation_session_id: str
    def __init__(self, url: _Optional[str] = ..., token: _Optional[str] = ..., activation_session_id: _Optional[str] = ...) -> None: ...

class SubscriptionFeature(_message.Message):
    __slots__ = ("feature", "source", "product_ids", "plan_limit", "used", "resets_at", "created_at", "updated_at")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    PLAN_LIMIT_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    RESETS_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    feature: _common_pb2.Feature
    source: SubscriptionFeatureSource
    product_ids: _containers.RepeatedScalarFieldContainer[str]
    plan_limit: int
    used: int
    resets_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, feature: _Optional[_Union[_common_pb2.Feature, _Mapping]] = ..., source: _Optional[_Union[SubscriptionFeatureSource, str]] = ..., product_ids: _Optional[_Iterable[str]] = ..., plan_limit: _Optional[int] = ..., used: _Optional[int] = ..., resets_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSubscriptionRequest(_message.Message):
    __slots__ = ("session_id", "plan_id", "region", "tax_rate", "tax_type", "tax_jurisdiction", "tax_behavior", "tax_note", "device_info", "metadata")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    TAX_RATE_FIELD_NUMBER: _ClassVar[int]
    TAX_TYPE_FIELD_NUMBER: _ClassVar[int]
    TAX_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    TAX_BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    TAX_NOTE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_INFO_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    plan_id: str
    region: str
    tax_rate: float
    tax_type: _enums_pb2.TaxType
    tax_jurisdiction: str
    tax_behavior: _enums_pb2.TaxBehavior
    tax_note: str
    device_info: _struct_pb2.Struct
    metadata: _struct_pb2.Struct
    def __init__(self, session_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., region: _Optional[str] = ..., tax_rate: _Optional[float] = ..., tax_type: _Optional[_Union[_enums_pb2.TaxType, str]] = ..., tax_jurisdiction: _Optional[str] = ..., tax_behavior: _Optional[_Union[_enums_pb2.TaxBehavior, str]] = ..., tax_note: _Optional[str] = ..., device_info: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CreateSubscriptionResponse(_message.Message):
    __slots__ = ("subscription", "invoice", "activation_urls")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_URLS_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    invoice: _invoice_pb2.Invoice
    activation_urls: _containers.RepeatedCompositeFieldContainer[_common_pb2.ActivationUrl]
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., invoice: _Optional[_Union[_invoice_pb2.Invoice, _Mapping]] = ..., activation_urls: _Optional[_Iterable[_Union[_common_pb2.ActivationUrl, _Mapping]]] = ...) -> None: ...

class GetSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id",)
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class GetSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class ListSubscriptionsRequest(_message.Message):
    __slots__ = ("session_id", "status", "page_size", "page_token")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    status: _enums_pb2.SubscriptionStatus
    page_size: int
    page_token: str
    def __init__(self, session_id: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.SubscriptionStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSubscriptionsResponse(_message.Message):
    __slots__ = ("subscriptions", "next_page_token")
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    next_page_token: str
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id", "status", "payment_method_id", "cancel_at_period_end", "plan_id", "activation_url", "activation_token", "tax_rate", "tax_type", "tax_jurisdiction", "tax_behavior", "tax_note", "metadata")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    CANCEL_AT_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_URL_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TAX_RATE_FIELD_NUMBER: _ClassVar[int]
    TAX_TYPE_FIELD_NUMBER: _ClassVar[int]
    TAX_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    TAX_BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    TAX_NOTE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    status: _enums_pb2.SubscriptionStatus
    payment_method_id: str
    cancel_at_period_end: bool
    plan_id: str
    activation_url: str
    activation_token: str
    tax_rate: float
    tax_type: _enums_pb2.TaxType
    tax_jurisdiction: str
    tax_behavior: _enums_pb2.TaxBehavior
    tax_note: str
    metadata: _struct_pb2.Struct
    def __init__(self, subscription_id: _Optional[str] = ..., status: _Optional[_Union[_enums_pb2.SubscriptionStatus, str]] = ..., payment_method_id: _Optional[str] = ..., cancel_at_period_end: _Optional[bool] = ..., plan_id: _Optional[str] = ..., activation_url: _Optional[str] = ..., activation_token: _Optional[str] = ..., tax_rate: _Optional[float] = ..., tax_type: _Optional[_Union[_enums_pb2.TaxType, str]] = ..., tax_jurisdiction: _Optional[str] = ..., tax_behavior: _Optional[_Union[_enums_pb2.TaxBehavior, str]] = ..., tax_note: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class UpdateSubscriptionResponse(_message.Message):
    __slots__ = ("subscription", "invoice")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    invoice: _invoice_pb2.Invoice
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., invoice: _Optional[_Union[_invoice_pb2.Invoice, _Mapping]] = ...) -> None: ...

class CancelSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id", "cancel_now")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    CANCEL_NOW_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    cancel_now: bool
    def __init__(self, subscription_id: _Optional[str] = ..., cancel_now: _Optional[bool] = ...) -> None: ...

class CancelSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class PauseSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id",)
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class PauseSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class ResumeSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id",)
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class ResumeSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class RenewSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id", "cycles", "uncancel")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    UNCANCEL_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    cycles: int
    uncancel: bool
    def __init__(self, subscription_id: _Optional[str] = ..., cycles: _Optional[int] = ..., uncancel: _Optional[bool] = ...) -> None: ...

class RenewSubscriptionResponse(_message.Message):
    __slots__ = ("subscription", "invoices")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    invoices: _containers.RepeatedCompositeFieldContainer[_invoice_pb2.Invoice]
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., invoices: _Optional[_Iterable[_Union[_invoice_pb2.Invoice, _Mapping]]] = ...) -> None: ...

class ListSubscriptionFeaturesRequest(_message.Message):
    __slots__ = ("subscription_id",)
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class ListSubscriptionFeaturesResponse(_message.Message):
    __slots__ = ("features",)
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    features: _containers.RepeatedCompositeFieldContainer[SubscriptionFeature]
    def __init__(self, features: _Optional[_Iterable[_Union[SubscriptionFeature, _Mapping]]] = ...) -> None: ...

class SetSubscriptionFeatureRequest(_message.Message):
    __slots__ = ("subscription_id", "feature")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    feature: _common_pb2.Feature
    def __init__(self, subscription_id: _Optional[str] = ..., feature: _Optional[_Union[_common_pb2.Feature, _Mapping]] = ...) -> None: ...

class SetSubscriptionFeatureResponse(_message.Message):
    __slots__ = ("feature",)
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    feature: SubscriptionFeature
    def __init__(self, feature: _Optional[_Union[SubscriptionFeature, _Mapping]] = ...) -> None: ...

class RemoveSubscriptionFeatureRequest(_message.Message):
    __slots__ = ("subscription_id", "feature_code")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURE_CODE_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    feature_code: str
    def __init__(self, subscription_id: _Optional[str] = ..., feature_code: _Optional[str] = ...) -> None: ...

class RemoveSubscriptionFeatureResponse(_message.Message):
    __slots__ = ("feature",)
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    feature: SubscriptionFeature
    def __init__(self, feature: _Optional[_Union[SubscriptionFeature, _Mapping]] = ...) -> None: ...

class SyncSubscriptionFeaturesRequest(_message.Message):
    __slots__ = ("subscription_id",)
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class SyncSubscriptionFeaturesResponse(_message.Message):
    __slots__ = ("features",)
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    features: _containers.RepeatedCompositeFieldContainer[SubscriptionFeature]
    def __init__(self, features: _Optional[_Iterable[_Union[SubscriptionFeature, _Mapping]]] = ...) -> None: ...
