from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]
    ROLE_PLATFORM: _ClassVar[Role]
    ROLE_PUBLISHER: _ClassVar[Role]

class AppStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APP_STATUS_UNSPECIFIED: _ClassVar[AppStatus]
    APP_STATUS_LIVE: _ClassVar[AppStatus]
    APP_STATUS_INACTIVE: _ClassVar[AppStatus]

class ProductStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_STATUS_UNSPECIFIED: _ClassVar[ProductStatus]
    PRODUCT_STATUS_ACTIVE: _ClassVar[ProductStatus]
    PRODUCT_STATUS_INACTIVE: _ClassVar[ProductStatus]

class FeatureKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FEATURE_KIND_UNSPECIFIED: _ClassVar[FeatureKind]
    FEATURE_KIND_ACCESS: _ClassVar[FeatureKind]
    FEATURE_KIND_QUOTA: _ClassVar[FeatureKind]

class ResetInterval(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESET_INTERVAL_UNSPECIFIED: _ClassVar[ResetInterval]
    RESET_INTERVAL_NEVER: _ClassVar[ResetInterval]
    RESET_INTERVAL_DAY: _ClassVar[ResetInterval]
    RESET_INTERVAL_WEEK: _ClassVar[ResetInterval]
    RESET_INTERVAL_MONTH: _ClassVar[ResetInterval]
    RESET_INTERVAL_YEAR: _ClassVar[ResetInterval]
    RESET_INTERVAL_BILLING_PERIOD: _ClassVar[ResetInterval]

class PlanType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAN_TYPE_UNSPECIFIED: _ClassVar[PlanType]
    PLAN_TYPE_SINGLE: _ClassVar[PlanType]
    PLAN_TYPE_BUNDLE: _ClassVar[PlanType]

class PlanStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAN_STATUS_UNSPECIFIED: _ClassVar[PlanStatus]
    PLAN_STATUS_ACTIVE: _ClassVar[PlanStatus]
    PLAN_STATUS_INACTIVE: _ClassVar[PlanStatus]
    PLAN_STATUS_DEPRECATED: _ClassVar[PlanStatus]

class BillingUnit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BILLING_UNIT_UNSPECIFIED: _ClassVar[BillingUnit]
    BILLING_UNIT_DAY: _ClassVar[BillingUnit]
    BILLING_UNIT_WEEK: _ClassVar[BillingUnit]
    BILLING_UNIT_MONTH: _ClassVar[BillingUnit]
    BILLING_UNIT_YEAR: _ClassVar[BillingUnit]

class EndBehavior(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    END_BEHAVIOR_UNSPECIFIED: _ClassVar[EndBehavior]
    END_BEHAVIOR_ROLL: _ClassVar[EndBehavior]
    END_BEHAVIOR_CLOSE: _ClassVar[EndBehavior]

class TaxBehavior(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TAX_BEHAVIOR_UNSPECIFIED: _ClassVar[TaxBehavior]
    TAX_BEHAVIOR_NONE: _ClassVar[TaxBehavior]
    TAX_BEHAVIOR_INCLUSIVE: _ClassVar[TaxBehavior]
    TAX_BEHAVIOR_EXCLUSIVE: _ClassVar[TaxBehavior]

class TaxType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TAX_TYPE_UNSPECIFIED: _ClassVar[TaxType]
    TAX_TYPE_NONE: _ClassVar[TaxType]
    TAX_TYPE_SALES_TAX: _ClassVar[TaxType]
    TAX_TYPE_VAT: _ClassVar[TaxType]
    TAX_TYPE_GST: _ClassVar[TaxType]
    TAX_TYPE_PST: _ClassVar[TaxType]
    TAX_TYPE_HST: _ClassVar[TaxType]

class SubscriptionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_STATUS_UNSPECIFIED: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_PENDING: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_TRIALING: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_ACTIVE: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_PAST_DUE: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_UNPAID: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_CANCELED: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_PAUSED: _ClassVar[SubscriptionStatus]

class EndReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    END_REASON_UNSPECIFIED: _ClassVar[EndReason]
    END_REASON_CANCELED: _ClassVar[EndReason]
    END_REASON_INCOMPLETE_EXPIRED: _ClassVar[EndReason]
    END_REASON_GRACE_PERIOD_LAPSED: _ClassVar[EndReason]
    END_REASON_PLAN_CLOSED: _ClassVar[EndReason]

class ActivationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVATION_STATUS_UNSPECIFIED: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_PENDING: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_PARTIAL: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_COMPLETED: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_FAILED: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_EXPIRED: _ClassVar[ActivationStatus]

class ActivationItemStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVATION_ITEM_STATUS_UNSPECIFIED: _ClassVar[ActivationItemStatus]
    ACTIVATION_ITEM_STATUS_PENDING: _ClassVar[ActivationItemStatus]
    ACTIVATION_ITEM_STATUS_ACTIVATED: _ClassVar[ActivationItemStatus]
    ACTIVATION_ITEM_STATUS_FAILED: _ClassVar[ActivationItemStatus]
    ACTIVATION_ITEM_STATUS_EXPIRED: _ClassVar[ActivationItemStatus]

class PaymentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_STATUS_UNSPECIFIED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_UNPAID: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_PAID: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_FAILED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_PROCESSING: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_CANCELED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_SCHEDULED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_NO_PAYMENT_REQUIRED: _ClassVar[PaymentStatus]

class InvoiceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVOICE_STATUS_UNSPECIFIED: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_DRAFT: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_OPEN: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_PAID: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_VOID: _ClassVar[InvoiceStatus]

class PaymentRecordStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_RECORD_STATUS_UNSPECIFIED: _ClassVar[PaymentRecordStatus]
    PAYMENT_RECORD_STATUS_SUCCEEDED: _ClassVar[PaymentRecordStatus]
    PAYMENT_RECORD_STATUS_FAILED: _ClassVar[PaymentRecordStatus]
    PAYMENT_RECORD_STATUS_PROCESSING: _ClassVar[PaymentRecordStatus]
    PAYMENT_RECORD_STATUS_CANCELED: _ClassVar[PaymentRecordStatus]
    PAYMENT_RECORD_STATUS_REQUIRES_ACTION: _ClassVar[PaymentRecordStatus]
    PAYMENT_RECORD_STATUS_REFUNDED: _ClassVar[PaymentRecordStatus]
    PAYMENT_RECORD_STATUS_PARTIALLY_REFUNDED: _ClassVar[PaymentRecordStatus]
    PAYMENT_RECORD_STATUS_REFUND_FAILED: _ClassVar[PaymentRecordStatus]
    PAYMENT_RECORD_STATUS_REFUND_PENDING: _ClassVar[PaymentRecordStatus]

class AccessReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_REASON_UNSPECIFIED: _ClassVar[AccessReason]
    ACCESS_REASON_SUBSCRIPTION_ACTIVE: _ClassVar[AccessReason]
    ACCESS_REASON_TRIALING: _ClassVar[AccessReason]
    ACCESS_REASON_GRACE_PERIOD: _ClassVar[AccessReason]
    ACCESS_REASON_CANCELED_UNTIL_PERIOD_END: _ClassVar[AccessReason]
    ACCESS_REASON_FREE_PLAN: _ClassVar[AccessReason]
    ACCESS_REASON_NO_SUBSCRIPTION: _ClassVar[AccessReason]
    ACCESS_REASON_PAUSED: _ClassVar[AccessReason]
    ACCESS_REASON_UNPAID: _ClassVar[AccessReason]
    ACCESS_REASON_ENDED: _ClassVar[AccessReason]
ROLE_UNSPECIFIED: Role
ROLE_ADMIN: Role
ROLE_PLATFORM: Role
ROLE_PUBLISHER: Role
APP_STATUS_UNSPECIFIED: AppStatus
APP_STATUS_LIVE: AppStatus
APP_STATUS_INACTIVE: AppStatus
PRODUCT_STATUS_UNSPECIFIED: ProductStatus
PRODUCT_STATUS_ACTIVE: ProductStatus
PRODUCT_STATUS_INACTIVE: ProductStatus
FEATURE_KIND_UNSPECIFIED: FeatureKind
FEATURE_KIND_ACCESS: FeatureKind
FEATURE_KIND_QUOTA: FeatureKind
RESET_INTERVAL_UNSPECIFIED: ResetInterval
RESET_INTERVAL_NEVER: ResetInterval
RESET_INTERVAL_DAY: ResetInterval
RESET_INTERVAL_WEEK: ResetInterval
RESET_INTERVAL_MONTH: ResetInterval
RESET_INTERVAL_YEAR: ResetInterval
RESET_INTERVAL_BILLING_PERIOD: ResetInterval
PLAN_TYPE_UNSPECIFIED: PlanType
PLAN_TYPE_SINGLE: PlanType
PLAN_TYPE_BUNDLE: PlanType
PLAN_STATUS_UNSPECIFIED: PlanStatus
PLAN_STATUS_ACTIVE: PlanStatus
PLAN_STATUS_INACTIVE: PlanStatus
PLAN_STATUS_DEPRECATED: PlanStatus
BILLING_UNIT_UNSPECIFIED: BillingUnit
BILLING_UNIT_DAY: BillingUnit
BILLING_UNIT_WEEK: BillingUnit
BILLING_UNIT_MONTH: BillingUnit
BILLING_UNIT_YEAR: BillingUnit
END_BEHAVIOR_UNSPECIFIED: EndBehavior
END_BEHAVIOR_ROLL: EndBehavior
END_BEHAVIOR_CLOSE: EndBehavior
TAX_BEHAVIOR_UNSPECIFIED: TaxBehavior
TAX_BEHAVIOR_NONE: TaxBehavior
TAX_BEHAVIOR_INCLUSIVE: TaxBehavior
TAX_BEHAVIOR_EXCLUSIVE: TaxBehavior
TAX_TYPE_UNSPECIFIED: TaxType
TAX_TYPE_NONE: TaxType
TAX_TYPE_SALES_TAX: TaxType
TAX_TYPE_VAT: TaxType
TAX_TYPE_GST: TaxType
TAX_TYPE_PST: TaxType
TAX_TYPE_HST: TaxType
SUBSCRIPTION_STATUS_UNSPECIFIED: SubscriptionStatus
SUBSCRIPTION_STATUS_PENDING: SubscriptionStatus
SUBSCRIPTION_STATUS_TRIALING: SubscriptionStatus
SUBSCRIPTION_STATUS_ACTIVE: SubscriptionStatus
SUBSCRIPTION_STATUS_PAST_DUE: SubscriptionStatus
SUBSCRIPTION_STATUS_UNPAID: SubscriptionStatus
SUBSCRIPTION_STATUS_CANCELED: SubscriptionStatus
SUBSCRIPTION_STATUS_PAUSED: SubscriptionStatus
END_REASON_UNSPECIFIED: EndReason
END_REASON_CANCELED: EndReason
END_REASON_INCOMPLETE_EXPIRED: EndReason
END_REASON_GRACE_PERIOD_LAPSED: EndReason
END_REASON_PLAN_CLOSED: EndReason
ACTIVATION_STATUS_UNSPECIFIED: ActivationStatus
ACTIVATION_STATUS_PENDING: ActivationStatus
ACTIVATION_STATUS_PARTIAL: ActivationStatus
ACTIVATION_STATUS_COMPLETED: ActivationStatus
ACTIVATION_STATUS_FAILED: ActivationStatus
ACTIVATION_STATUS_EXPIRED: ActivationStatus
ACTIVATION_ITEM_STATUS_UNSPECIFIED: ActivationItemStatus
ACTIVATION_ITEM_STATUS_PENDING: ActivationItemStatus
ACTIVATION_ITEM_STATUS_ACTIVATED: ActivationItemStatus
ACTIVATION_ITEM_STATUS_FAILED: ActivationItemStatus
ACTIVATION_ITEM_STATUS_EXPIRED: ActivationItemStatus
PAYMENT_STATUS_UNSPECIFIED: PaymentStatus
PAYMENT_STATUS_UNPAID: PaymentStatus
PAYMENT_STATUS_PAID: PaymentStatus
PAYMENT_STATUS_FAILED: PaymentStatus
PAYMENT_STATUS_PROCESSING: PaymentStatus
PAYMENT_STATUS_CANCELED: PaymentStatus
PAYMENT_STATUS_SCHEDULED: PaymentStatus
PAYMENT_STATUS_NO_PAYMENT_REQUIRED: PaymentStatus
INVOICE_STATUS_UNSPECIFIED: InvoiceStatus
INVOICE_STATUS_DRAFT: InvoiceStatus
INVOICE_STATUS_OPEN: InvoiceStatus
INVOICE_STATUS_PAID: InvoiceStatus
INVOICE_STATUS_VOID: InvoiceStatus
PAYMENT_RECORD_STATUS_UNSPECIFIED: PaymentRecordStatus
PAYMENT_RECORD_STATUS_SUCCEEDED: PaymentRecordStatus
PAYMENT_RECORD_STATUS_FAILED: PaymentRecordStatus
PAYMENT_RECORD_STATUS_PROCESSING: PaymentRecordStatus
PAYMENT_RECORD_STATUS_CANCELED: PaymentRecordStatus
PAYMENT_RECORD_STATUS_REQUIRES_ACTION: PaymentRecordStatus
PAYMENT_RECORD_STATUS_REFUNDED: PaymentRecordStatus
PAYMENT_RECORD_STATUS_PARTIALLY_REFUNDED: PaymentRecordStatus
PAYMENT_RECORD_STATUS_REFUND_FAILED: PaymentRecordStatus
PAYMENT_RECORD_STATUS_REFUND_PENDING: PaymentRecordStatus
ACCESS_REASON_UNSPECIFIED: AccessReason
ACCESS_REASON_SUBSCRIPTION_ACTIVE: AccessReason
ACCESS_REASON_TRIALING: AccessReason
ACCESS_REASON_GRACE_PERIOD: AccessReason
ACCESS_REASON_CANCELED_UNTIL_PERIOD_END: AccessReason
ACCESS_REASON_FREE_PLAN: AccessReason
ACCESS_REASON_NO_SUBSCRIPTION: AccessReason
ACCESS_REASON_PAUSED: AccessReason
ACCESS_REASON_UNPAID: AccessReason
ACCESS_REASON_ENDED: AccessReason
