"""Continuous controls: every invariant of accounting.md §7 and the issue-7 controls, run after every
billing run, revenue run and amendment, nightly, and on demand. Each failure becomes an exception.

Each check reads the stored records independently of the code that wrote them (it re-adds, re-links
and re-derives), so a fault planted by any path — a bug, a manual SQL edit — shows up. One module per
family: ``revenue`` (allocation, schedules, recognition, SSP), ``ledger`` (balances and tie-outs,
closed periods), ``invoices``, ``usage`` and ``audit_chain``."""

from compliance.checks import audit_chain, invoices, ledger, revenue, usage  # noqa: F401 (register)
from compliance.checks.registry import CHECKS, Check, Finding, order_checks

# The order a run raises exceptions and the controls page lists the checks.
ORDER = (
    "allocation_equals_price",
    "schedule_equals_allocation",
    "entries_balance",
    "deferred_rollforward",
    "recognized_within_allocation",
    "invoice_totals",
    "invoice_numbers_gapless",
    "invoice_documents_stored",
    "usage_counted_once",
    "nothing_posted_in_closed_periods",
    "invoice_lines_map_to_obligations",
    "prepaid_credits_tie_out",
    "billed_within_contract_value",
    "usage_inside_invoice_period",
    "price_overrides_approved",
    "ssp_in_force_used",
    "schedules_posted_only_when_approved",
    "audit_chain_intact",
)
order_checks(ORDER)

__all__ = ["CHECKS", "ORDER", "Check", "Finding"]
