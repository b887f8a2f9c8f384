"""The invoice list's filters, shared by ``GET /invoices`` and the review queue page."""

from __future__ import annotations

import re

import django_filters
from django.core.validators import RegexValidator

from billing.models import Invoice
from revops.core.filters import BoundedDateFilter, PeriodFilter
from revops.parties.filters import CustomerScopedFilterSet

# An invoice number as issued (PREFIX-000352 or 2026-INV-7), its bare sequence, or a draft reference.
NUMBER_RE = re.compile(r"\A[A-Za-z0-9]{1,40}(?:-[A-Za-z0-9]{1,40}){0,3}\Z", re.ASCII)


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

    billing_period = PeriodFilter(
        method="filter_billing_period",
        help_text="YYYY-MM: invoices whose billing period starts in this month",
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        help_text="true: finalized invoices with a balance due past their due date; false: the others",
    )
    number = django_filters.CharFilter(
        method="filter_number",
        strip=False,  # "?number=+1" is " 1": refused, as "-1" is, rather than read as 1
        validators=[RegexValidator(NUMBER_RE, "Not an invoice number: INV-000352, 352 or a draft D-000353.")],
        help_text="An invoice number (INV-000352, or just 352: that sequence number, never an internal "
        "id) or a draft reference (D-000353); matched exactly",
    )

    holds_period = django_filters.CharFilter(
        method="filter_holds_period",
        help_text="YYYY-MM: invoices holding fees or usage of this period or earlier — billed before "
        "its end, or later with a line whose service starts before it ends (the drafts that block "
        "its close)",
    )

    def filter_number(self, queryset, name, value):
        from billing.search import invoice_matches
        from revops.core.search.query import parse

        return queryset.filter(pk__in=invoice_matches(parse(value)).values("pk"))

    def filter_holds_period(self, queryset, name, value):
        from datetime import date

        from django.db.models import Exists, OuterRef, Q

        from billing.models import InvoiceLine
        from revops.dates import check_period

        year, month = (int(part) for part in check_period(value, field=name).split("-"))
        end = date(year + (month == 12), month % 12 + 1, 1)  # the period's end (exclusive)
        early_line = InvoiceLine.objects.filter(invoice=OuterRef("pk"), service_start__lt=end)
        return queryset.filter(Q(billing_date__lt=end) | Exists(early_line))

    def filter_billing_period(self, queryset, name, value):
        from revops.dates import period_bounds

        start, end = period_bounds(value)
        return queryset.filter(period_start__gte=start, period_start__lt=end)

    def filter_overdue(self, queryset, name, value):
        from django.db.models import F, Q
        from django.utils import timezone

        overdue = Q(
            status=Invoice.Status.FINALIZED,
            due_date__lt=timezone.localdate(),
            total__gt=F("amount_paid") + F("amount_credited"),
        )
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    class Meta:
        model = Invoice
        fields: list[str] = []
