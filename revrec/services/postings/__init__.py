"""Billing feeds revenue (accounting.md §6): postings for finalized invoices, voids, credit notes and
payments, and revenue recognized for a period. Each runs inside the transaction that consumes the
outbox event (for invoices: the finalizing transaction itself).

- :mod:`.invoices` — finalized invoices, set-based (``post_invoices``), and voids;
- :mod:`.documents` — credit notes, payments, prepaid credit grants and expiries;
- :mod:`.recognition` — a period's revenue for a batch of contracts (the revenue run);
- :mod:`.common` — the accounts looked up once per batch, netting after an earlier-dated posting;
- :mod:`.sql` — entries and lines written with one statement per table."""

from revrec.services.postings.common import net_out_of_order
from revrec.services.postings.documents import (
    billed_to_date,
    post_credit_expiry,
    post_credit_grant,
    post_credit_note,
    post_payment,
    recognized_to_date,
)
from revrec.services.postings.invoices import post_invoice, post_invoice_void, post_invoices
from revrec.services.postings.recognition import (
    USAGE_KINDS,
    recognize_contract_period,
    recognize_contracts_period,
)

__all__ = [
    "USAGE_KINDS",
    "billed_to_date",
    "net_out_of_order",
    "post_credit_expiry",
    "post_credit_grant",
    "post_credit_note",
    "post_invoice",
    "post_invoice_void",
    "post_invoices",
    "post_payment",
    "recognize_contract_period",
    "recognize_contracts_period",
    "recognized_to_date",
]
