from .catalog import Charge, Coupon, Meter, Plan, PlanVersion
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
    PendingCharge,
)
from .runs import BillingRun, BillingRunItem
from .usage import EventKey, IngestionBatch, QuarantinedEvent, UsageEvent
from .webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "BillingClaim",
    "BillingRun",
    "BillingRunItem",
    "CouponRedemption",
    "CreditApplication",
    "CreditExpiry",
    "CreditGrant",
    "CreditNote",
    "CreditNoteLine",
    "DocumentCounter",
    "Invoice",
    "InvoiceLine",
    "Payment",
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
