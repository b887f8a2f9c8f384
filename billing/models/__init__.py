# The contract models live with the rest of the contract concept (billing/contracts) under the
# ``contracts`` app label; importing them here registers them when Django loads billing's models.
from billing.contracts.models import Contract, ContractLine, ContractVersion  # noqa: F401

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
