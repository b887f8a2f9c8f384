"""The one JSON representation of an invoice, used by the API (api.md: Billing), webhooks and the
outbox: DRF serializers over the stored invoice, so the OpenAPI schema states every field.

Amounts are strings at the currency's minor unit (MoneyField); unit amounts and quantities keep the
precision they were stored with."""

from __future__ import annotations

from functools import cached_property

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import Invoice, InvoiceLine
from revops.core.api.fields import DecimalStringField, MoneyField
from revops.core.api.serializers import OmitNullMixin


class BreakdownOut(OmitNullMixin, serializers.Serializer):
    """One step of how a line was rated (a tier, a package, the percentage part, ...)."""

    omit_null = ("units", "unit_amount", "flat_amount")

    description = serializers.CharField()
    units = DecimalStringField(required=False, allow_null=True, default=None)
    unit_amount = DecimalStringField(required=False, allow_null=True, default=None)
    flat_amount = DecimalStringField(required=False, allow_null=True, default=None)
    amount = MoneyField()


class PriceVersionRefOut(serializers.Serializer):
    plan = serializers.CharField(source="plan.code")
    number = serializers.IntegerField()


class LineUsageOut(serializers.Serializer):
    """The usage a metered line billed: which events, and the receipt window that was read."""

    meter = serializers.CharField(source="meter.code")
    events = serializers.IntegerField(source="event_count", allow_null=True)
    events_sha256 = serializers.CharField(source="event_hash", allow_blank=True)
    window = serializers.SerializerMethodField()
    received_after = serializers.DateTimeField(allow_null=True)
    received_through = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.ListField(child=serializers.DateTimeField(), min_length=2, max_length=2))
    def get_window(self, line: InvoiceLine) -> list:
        field = self._window_field
        return [field.to_representation(line.usage_start), field.to_representation(line.usage_end)]

    @cached_property
    def _window_field(self) -> serializers.DateTimeField:
        return serializers.DateTimeField()


class InvoiceLineOut(OmitNullMixin, serializers.Serializer):
    omit_null = ("usage",)

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=InvoiceLine.Kind.choices)
    description = serializers.CharField()
    product = serializers.CharField(source="product.code", allow_null=True, default=None)
    charge = serializers.SerializerMethodField()
    quantity = DecimalStringField()
    unit_amount = DecimalStringField(allow_null=True)
    amount = MoneyField(currency="invoice.currency")
    service_start = serializers.DateField()
    service_end = serializers.DateField()
    breakdown = serializers.SerializerMethodField()
    dimension = serializers.JSONField(help_text="the group's {prop: value} (group_by lines), else {}")
    price_version = PriceVersionRefOut(allow_null=True)
    usage = serializers.SerializerMethodField()

    def get_charge(self, line: InvoiceLine) -> str | None:
        return line.charge_code or None

    @extend_schema_field(BreakdownOut(many=True))
    def get_breakdown(self, line: InvoiceLine) -> list:
        currency = line.invoice.currency
        if currency not in self._breakdowns:  # one serializer per currency, its fields built once
            self._breakdowns[currency] = BreakdownOut(many=True, context={"currency": currency})
        return self._breakdowns[currency].to_representation(line.breakdown)

    @extend_schema_field(LineUsageOut(required=False))
    def get_usage(self, line: InvoiceLine) -> dict | None:
        return self._usage.to_representation(line) if line.meter_id else None

    @cached_property
    def _breakdowns(self) -> dict[str, BreakdownOut]:
        return {}

    @cached_property
    def _usage(self) -> LineUsageOut:
        return LineUsageOut()


class InvoiceSummaryOut(serializers.Serializer):
    """An invoice without its lines (the ``invoice.paid`` and ``invoice.voided`` events)."""

    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=Invoice.Status.choices)
    customer = serializers.CharField(source="customer.external_id")
    contract = serializers.IntegerField(source="contract_id", allow_null=True)
    currency = serializers.CharField()
    billing_date = serializers.DateField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    issue_date = serializers.DateField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    subtotal = MoneyField()
    discount = MoneyField()
    tax_rate = DecimalStringField(help_text="percent")
    tax = MoneyField()
    credits_applied = MoneyField()
    total = MoneyField()
    amount_paid = MoneyField()
    amount_credited = MoneyField()
    balance_due = MoneyField()
    pdf_sha256 = serializers.SerializerMethodField()

    def get_pdf_sha256(self, invoice: Invoice) -> str | None:
        return invoice.pdf_sha256 or None


class InvoiceOut(InvoiceSummaryOut):
    """An invoice with its lines (``GET /invoices/{id}``, the ``invoice.finalized`` event)."""

    lines = InvoiceLineOut(many=True)


def invoice_data(invoice: Invoice, *, lines: bool = True) -> dict:
    """The invoice as the API and the outbox send it (JSON-ready: dates as ISO strings)."""
    return dict((InvoiceOut if lines else InvoiceSummaryOut)(invoice).data)


def invoice_data_many(invoices: list[Invoice], *, lines: bool = True) -> list[dict]:
    """:func:`invoice_data` of each invoice, with one serializer for all of them (its fields are
    built once, not once per invoice)."""
    if not invoices:
        return []
    return [dict(row) for row in (InvoiceOut if lines else InvoiceSummaryOut)(invoices, many=True).data]


class CreditNoteLineOut(serializers.Serializer):
    invoice_line = serializers.IntegerField(source="invoice_line_id")
    amount = MoneyField(currency="credit_note.currency")
    tax = MoneyField(currency="credit_note.currency")


class CreditNoteOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    invoice = serializers.IntegerField(source="invoice_id")
    currency = serializers.CharField()
    reason = serializers.CharField()
    issue_date = serializers.DateField()
    subtotal = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    lines = CreditNoteLineOut(many=True)
