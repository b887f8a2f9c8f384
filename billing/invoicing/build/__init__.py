"""Build invoices: one contract, one billing date, one transaction.

The pure pricing code (billing.pricing) computes every amount; these services load, call, persist.
One module per step: ``due`` (what is due and unclaimed), ``line_rating`` (the lines of one due
item), ``late_usage`` (adjustments for usage received after finalization), ``coupon_lines``
(discounts), ``totals`` (pure), ``batch`` (many invoices in one transaction, the entry point of a
billing run and of a single build) and ``refresh`` (re-rating a draft). The catalog is read through
an explicit :class:`~billing.catalog.reader.Catalog` carried in the build context.
"""

from .batch import (
    BuildContext,
    InvoiceDraft,
    Request,
    build_context,
    invoice_build,
    invoices_build,
    write_drafts,
)
from .coupon_lines import coupon_lines
from .due import BILLABLE_CONTRACT_STATUSES, contract_due_items, lines_and_claims
from .late_usage import FINAL_STATUSES, late_usage_adjustments
from .line_rating import lines_for_item, usage_questions
from .refresh import draft_rerate, invoice_refresh_draft, recompute_totals
from .totals import InvoiceTotals, invoice_totals, set_totals

__all__ = [
    "BILLABLE_CONTRACT_STATUSES",
    "FINAL_STATUSES",
    "BuildContext",
    "InvoiceDraft",
    "InvoiceTotals",
    "Request",
    "build_context",
    "contract_due_items",
    "coupon_lines",
    "invoice_build",
    "draft_rerate",
    "invoice_refresh_draft",
    "invoice_totals",
    "invoices_build",
    "late_usage_adjustments",
    "lines_and_claims",
    "lines_for_item",
    "recompute_totals",
    "set_totals",
    "usage_questions",
    "write_drafts",
]
