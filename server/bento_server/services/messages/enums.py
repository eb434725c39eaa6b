"""Every enumeration of the API and the word Bento stores for each value."""

from __future__ import annotations

from bento.v1 import enums_pb2, subscription_pb2, webhook_pb2
from bento_server.services.convert import EnumWords

ROLES = EnumWords(enums_pb2.Role.DESCRIPTOR)
APP_STATUSES = EnumWords(enums_pb2.AppStatus.DESCRIPTOR)
INVOICE_STATUSES = EnumWords(enums_pb2.InvoiceStatus.DESCRIPTOR)
PAYMENT_STATUSES = EnumWords(enums_pb2.PaymentStatus.DESCRIPTOR)
TAX_TYPES = EnumWords(enums_pb2.TaxType.DESCRIPTOR)
TAX_BEHAVIORS = EnumWords(enums_pb2.TaxBehavior.DESCRIPTOR)
SESSION_STATUSES = EnumWords(enums_pb2.ActivationStatus.DESCRIPTOR)
ITEM_STATUSES = EnumWords(enums_pb2.ActivationItemStatus.DESCRIPTOR)
PAYMENT_RECORD_STATUSES = EnumWords(enums_pb2.PaymentRecordStatus.DESCRIPTOR)
REASONS = EnumWords(enums_pb2.AccessReason.DESCRIPTOR)
SUBSCRIPTION_STATUSES = EnumWords(enums_pb2.SubscriptionStatus.DESCRIPTOR)
ACTIVATION_STATUSES = EnumWords(enums_pb2.ActivationStatus.DESCRIPTOR)
FEATURE_SOURCES = EnumWords(subscription_pb2.SubscriptionFeatureSource.DESCRIPTOR)
END_REASONS = EnumWords(enums_pb2.EndReason.DESCRIPTOR)
PRODUCT_STATUSES = EnumWords(enums_pb2.ProductStatus.DESCRIPTOR)
PLAN_STATUSES = EnumWords(enums_pb2.PlanStatus.DESCRIPTOR)
PLAN_TYPES = EnumWords(enums_pb2.PlanType.DESCRIPTOR)
BILLING_UNITS = EnumWords(enums_pb2.BillingUnit.DESCRIPTOR)
END_BEHAVIORS = EnumWords(enums_pb2.EndBehavior.DESCRIPTOR)
FEATURE_KINDS = EnumWords(enums_pb2.FeatureKind.DESCRIPTOR)
RESET_INTERVALS = EnumWords(enums_pb2.ResetInterval.DESCRIPTOR)

DELIVERY_STATES = EnumWords(webhook_pb2.WebhookDeliveryState.DESCRIPTOR)
