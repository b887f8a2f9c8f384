"""The invoice list's filters, shared by ``GET /invoices`` and the review queue page."""

from __future__ import annotations

import django_filters

from billing.models import Invoice
from revops.core.filters import BoundedDateFilter
from revops.parties.filters import CustomerScopedFilterSet


class InvoiceFilter(CustomerScopedFilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=Invoice.Status.choices)
    period_start = BoundedDateFilter(field_name="period_start", help_text="YYYY-MM-DD")
    billing_date = BoundedDateFilter(field_name="billing_date", help_text="YYYY-MM-DD")
    billing_date_from = BoundedDateFilter(
        field_name="billing_date", lookup_expr="gte", help_text="YYYY-MM-DD: billed on or after"
    )
    billing_date_to = BoundedDateFilter(
        field_name="billing_date", lookup_expr="lte", help_text="YYYY-MM-DD: billed on or before"
    )

    class Meta:
        model = Invoice
        fields: list[str] = []
