from .catalog import Charge, Coupon, Meter, Plan, PlanVersion
from .finalization import FinalizationItem, FinalizationRun
from .invoices import (
    BillingClaim,
    CouponRedemption,
    CreditApplication,
    CreditExpiry,
    CreditGrant,
    CreditNote,
    CreditNoteLine,
    DocumentCounter,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentReversal,
    PendingCharge,
)
from .runs import BillingRun, BillingRunItem
from .settings import BillingSettings
from .usage import EventKey, IngestionBatch, QuarantinedEvent, UsageEvent
from .webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "BillingClaim",
    "BillingRun",
    "BillingRunItem",
    "BillingSettings",
    "CouponRedemption",
    "CreditApplication",
    "CreditExpiry",
    "CreditGrant",
    "CreditNote",
    "CreditNoteLine",
    "DocumentCounter",
    "FinalizationItem",
    "FinalizationRun",
    "Invoice",
    "InvoiceLine",
    "Payment",
    "PaymentReversal",
    "PendingCharge",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Charge",
    "Coupon",
    "Meter",
    "Plan",
    "PlanVersion",
    "EventKey",
    "IngestionBatch",
    "QuarantinedEvent",
    "UsageEvent",
]
