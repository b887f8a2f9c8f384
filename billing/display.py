"""Display strings of billing records shown on pages of several packages (the customer, contract, run
and invoice pages), so that none of those page modules has to import another's."""

from __future__ import annotations

from django.utils import timezone

from billing.models import Invoice
from revops.formatting import money


def decorate_invoices(invoices) -> list[Invoice]:
    """Attach display strings (``m_total``, ``m_balance``…) so templates stay free of arithmetic."""
    out = []
    today = timezone.localdate()
    for inv in invoices:
        c = inv.currency
        inv.m_total = money(inv.total, c)
        inv.m_subtotal = money(inv.subtotal, c)
        inv.m_balance = money(inv.balance_due, c)
        inv.m_paid = money(inv.amount_paid, c)
        inv.is_open = inv.status == Invoice.Status.FINALIZED and inv.balance_due > 0
        inv.in_credit = inv.status in (Invoice.Status.FINALIZED, Invoice.Status.PAID) and inv.balance_due < 0
        inv.is_overdue = inv.is_open and inv.due_date is not None and inv.due_date < today
        out.append(inv)
    return out
