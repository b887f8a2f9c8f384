"""Billing API: billing runs, invoices, payments, credit notes (api.md: Billing)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from billing.invoicing import lifecycle, payments, reversals
from billing.invoicing.build import invoice_refresh_draft
from billing.invoicing.filters import InvoiceFilter
from billing.invoicing.finalization import (
    MAX_IDS,
    finalization_counts,
    finalization_problems,
    finalization_start,
)
from billing.invoicing.representation import CreditNoteOut, InvoiceOut
from billing.invoicing.runs import billing_run_start
from billing.invoicing.selectors import (
    billing_run_failures,
    billing_run_invoice_count,
    billing_run_usage_cutoff,
    invoice_list,
    invoice_with_lines,
)
from billing.models import BillingRun, CreditNote, FinalizationRun, Invoice
from revops.books import posting_period_for
from revops.core.api.fields import BoundedDateField, DecimalStringField, MoneyField, PeriodField
from revops.core.api.serializers import ApprovalRefOut, InputSerializer
from revops.core.api.views import ApiGenericView, ApiView
from revops.core.filters import BIGINT_MAX, ApiFilterBackend
from revops.errors import NotFound


class BillingRunProgressOut(serializers.Serializer):
    done = serializers.IntegerField(source="progress_done")
    total = serializers.IntegerField(source="progress_total")


class RunFailureOut(serializers.Serializer):
    customer = serializers.CharField(source="customer.external_id")
    contract = serializers.CharField(source="contract.number")
    billing_date = serializers.DateField()
    error = serializers.CharField()


class UsageCutoffOut(serializers.Serializer):
    """As the run page shows it: usage received up to ``watermark`` is billed; ``held_back`` events
    received later fall in periods this run billed and are billed by the next run as late usage."""

    watermark = serializers.DateTimeField()
    settle_seconds = serializers.IntegerField(help_text="How long before each invoice was built")
    held_back = serializers.IntegerField(min_value=0)


class RunOut(serializers.Serializer):
    id = serializers.IntegerField()
    as_of = serializers.DateField()
    status = serializers.ChoiceField(choices=BillingRun.Status.choices)
    customers = serializers.ListField(child=serializers.CharField(), help_text="external ids; empty = all")
    progress = BillingRunProgressOut(source="job")
    invoices_created = serializers.SerializerMethodField()
    failures = serializers.SerializerMethodField()
    usage_cutoff = serializers.SerializerMethodField(
        help_text="null until the run finishes, or when it rated no usage"
    )
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    job = serializers.IntegerField(source="job_id")

    def get_invoices_created(self, run: BillingRun) -> int:
        return billing_run_invoice_count(run=run)

    @extend_schema_field(RunFailureOut(many=True))
    def get_failures(self, run: BillingRun):
        return RunFailureOut(billing_run_failures(run=run), many=True).data

    @extend_schema_field(UsageCutoffOut(allow_null=True))
    def get_usage_cutoff(self, run: BillingRun):
        cutoff = billing_run_usage_cutoff(run=run)
        return UsageCutoffOut(cutoff).data if cutoff else None


class RunIn(InputSerializer):
    as_of = BoundedDateField()
    customers = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, max_length=10000
    )


class BillingRunListView(ApiGenericView):
    area = "billing"
    list_view = True
    queryset = BillingRun.objects.select_related("job")

    @extend_schema(responses=RunOut)
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([RunOut(r).data for r in page])

    @extend_schema(request=RunIn, responses={202: RunOut})
    def post(self, request):
        data = RunIn(data=request.data)
        data.is_valid(raise_exception=True)
        run = billing_run_start(actor=request.user, **data.validated_data)
        run.refresh_from_db()
        return Response(RunOut(run).data, status=202, headers={"Location": f"/api/v1/billing-runs/{run.pk}"})


class BillingRunDetailView(ApiView):
    area = "billing"

    @extend_schema(responses=RunOut)
    def get(self, request, pk):
        return Response(RunOut(get_object_or_404(BillingRun.objects.select_related("job"), pk=pk)).data)


def _invoice(pk) -> Invoice:
    return get_object_or_404(Invoice, pk=pk)


class InvoiceListView(ApiGenericView):
    area = "billing"
    list_view = True

    filter_backends = [ApiFilterBackend]
    filterset_class = InvoiceFilter

    def get_queryset(self):
        return invoice_list().prefetch_related(
            "lines", "lines__product", "lines__price_version", "lines__price_version__plan", "lines__meter"
        )

    @extend_schema(responses=InvoiceOut)
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(InvoiceOut(page, many=True).data)


class InvoiceDetailView(ApiView):
    area = "billing"

    @extend_schema(responses=InvoiceOut)
    def get(self, request, pk):
        _invoice(pk)
        return Response(InvoiceOut(invoice_with_lines(pk)).data)


class InvoiceFinalizeView(ApiView):
    area = "billing"

    @extend_schema(request=None, responses=InvoiceOut)
    def post(self, request, pk):
        invoice = lifecycle.invoice_finalize(invoice=_invoice(pk), actor=request.user)
        return Response(InvoiceOut(invoice_with_lines(invoice.pk)).data)


class FinalizationFilterIn(InputSerializer):
    """The invoice list's filters (``GET /invoices``): the drafts they select are finalized."""

    status = serializers.ChoiceField(choices=["draft"], required=False, help_text="Only drafts are finalized")
    customer = serializers.CharField(required=False, max_length=255, help_text="The customer's external_id")
    customer_id = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    period_start = BoundedDateField(required=False)
    billing_date = BoundedDateField(required=False)
    billing_date_from = BoundedDateField(required=False, help_text="Billed on or after")
    billing_date_to = BoundedDateField(required=False, help_text="Billed on or before")
    holds_period = serializers.RegexField(
        r"^[0-9]{4}-[0-9]{2}$",
        required=False,
        help_text="YYYY-MM: drafts holding fees or usage of the period or earlier (what blocks its close)",
    )


class FinalizeIn(InputSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX),
        required=False,
        min_length=1,
        max_length=MAX_IDS,
        help_text="The drafts to finalize (or give a filter)",
    )
    filter = FinalizationFilterIn(required=False, help_text="Finalize every draft the filter selects")

    def validate(self, attrs):
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError({"filter": ["Give either ids or a filter (one of them)."]})
        return attrs


class FinalizationFilterOut(serializers.Serializer):
    status = serializers.CharField(required=False)
    customer = serializers.CharField(required=False)
    customer_id = serializers.CharField(required=False)
    period_start = serializers.CharField(required=False)
    billing_date = serializers.CharField(required=False)
    billing_date_from = serializers.CharField(required=False)
    billing_date_to = serializers.CharField(required=False)
    holds_period = serializers.CharField(required=False)


class FinalizationProblemOut(serializers.Serializer):
    invoice = serializers.IntegerField(source="invoice_id")
    customer = serializers.CharField(source="invoice.customer.external_id")
    billing_date = serializers.DateField(source="invoice.billing_date")
    status = serializers.ChoiceField(choices=["failed", "skipped"], help_text="failed: parked with its error")
    error = serializers.CharField()


class FinalizationRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=FinalizationRun.Status.choices)
    trigger = serializers.CharField()
    progress = BillingRunProgressOut(source="job")
    finalized = serializers.SerializerMethodField()
    failed = serializers.SerializerMethodField()
    skipped = serializers.SerializerMethodField(help_text="Not drafts any more when their turn came")
    failures = serializers.SerializerMethodField(
        help_text="The failed and skipped drafts with the reason (first 100)"
    )
    invoices = serializers.SerializerMethodField(help_text="How many ids were asked for (0: by filter)")
    filter = FinalizationFilterOut(source="filters")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    job = serializers.IntegerField(source="job_id")
    error = serializers.CharField(
        source="job.error", allow_blank=True, help_text="Why a failed run failed (empty otherwise)"
    )

    def _counts(self, run) -> dict:
        if not hasattr(run, "_counts"):
            run._counts = finalization_counts(run)
        return run._counts

    def get_finalized(self, run) -> int:
        return self._counts(run)["finalized"]

    def get_failed(self, run) -> int:
        return self._counts(run)["failed"]

    def get_skipped(self, run) -> int:
        return self._counts(run)["skipped"]

    def get_invoices(self, run) -> int:
        return len(run.invoice_ids)

    @extend_schema_field(FinalizationProblemOut(many=True))
    def get_failures(self, run):
        return FinalizationProblemOut(finalization_problems(run), many=True).data


class InvoiceBulkFinalizeView(ApiView):
    area = "billing"

    @extend_schema(
        operation_id="invoices_finalization_run_create",
        request=FinalizeIn,
        responses={202: FinalizationRunOut},
    )
    def post(self, request):
        data = FinalizeIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if "ids" in v:
            run = finalization_start(invoice_ids=list(v["ids"]), actor=request.user, trigger="api")
        else:
            filters = {
                k: (val.isoformat() if hasattr(val, "isoformat") else val) for k, val in v["filter"].items()
            }
            run = finalization_start(filters=filters, actor=request.user, trigger="api")
        run = FinalizationRun.objects.select_related("job").get(pk=run.pk)
        return Response(
            FinalizationRunOut(run).data,
            status=202,
            headers={"Location": f"/api/v1/invoices/finalize/{run.pk}"},
        )


class FinalizationRunDetailView(ApiView):
    area = "billing"

    @extend_schema(operation_id="invoices_finalization_run_retrieve", responses=FinalizationRunOut)
    def get(self, request, pk):
        run = FinalizationRun.objects.select_related("job").filter(pk=pk).first()
        if run is None:
            raise NotFound(f"Finalization run {pk} not found.")
        return Response(FinalizationRunOut(run).data)


class InvoiceRefreshView(ApiView):
    area = "billing"

    @extend_schema(request=None, responses=InvoiceOut)
    def post(self, request, pk):
        invoice = invoice_refresh_draft(invoice=_invoice(pk), actor=request.user)
        return Response(InvoiceOut(invoice_with_lines(invoice.pk)).data)


class ReversalPendingOut(serializers.Serializer):
    """202: nothing changed yet; ``approval.payload`` is exactly what approving applies."""

    approval = ApprovalRefOut()
    detail = serializers.CharField()


def _pending(approval, what: str) -> dict:
    applied = "issues the credit note" if what == "credit_note" else "voids the invoice"
    return ReversalPendingOut(
        {
            "approval": approval,
            "detail": (
                f"Waiting for approval #{approval.pk}: an approver other than you {applied} exactly as "
                "the request shows; nothing has changed yet."
            ),
        }
    ).data


class VoidIn(InputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class InvoiceVoidView(ApiView):
    area = "billing"

    @extend_schema(request=VoidIn, responses={202: ReversalPendingOut, 200: InvoiceOut})
    def post(self, request, pk):
        """Voiding a finalized invoice reverses its posting: it is asked for (202, maker-checker) and
        applied when an approver other than the requester approves. A draft is not a request."""
        invoice = _invoice(pk)
        data = VoidIn(data=request.data)
        data.is_valid(raise_exception=True)
        if invoice.status == Invoice.Status.DRAFT:
            invoice = lifecycle.invoice_void(invoice=invoice, actor=request.user, **data.validated_data)
            return Response(InvoiceOut(invoice_with_lines(invoice.pk)).data)
        approval = reversals.invoice_void_request(invoice=invoice, actor=request.user, **data.validated_data)
        return Response(_pending(approval, "void"), status=202)


class PaymentIn(InputSerializer):
    amount = DecimalStringField(min_value=0)
    date = BoundedDateField()
    reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


class PaymentOut(serializers.Serializer):
    """A recorded payment, the invoice's status after it and the accounting period it posts into (a
    payment dated in a closed period posts into the first open one: accounting.md §9)."""

    id = serializers.IntegerField(source="payment.pk")
    invoice = serializers.IntegerField(source="payment.invoice_id")
    amount = MoneyField(source="payment.amount", currency="payment.currency")
    currency = serializers.CharField(source="payment.currency")
    date = serializers.DateField(source="payment.date")
    reference = serializers.CharField(source="payment.reference", allow_blank=True)
    invoice_status = serializers.ChoiceField(choices=Invoice.Status.values)
    period = PeriodField()
    correction_for_period = serializers.CharField(
        allow_blank=True, help_text='The closed period ("YYYY-MM") this payment corrects, or ""'
    )


class InvoicePaymentsView(ApiView):
    area = "billing"

    @extend_schema(request=PaymentIn, responses={201: PaymentOut})
    def post(self, request, pk):
        invoice = _invoice(pk)  # the record first: 404 before any complaint about the body
        data = PaymentIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        payment = lifecycle.payment_record(
            invoice=invoice,
            amount=v["amount"],
            paid_on=v["date"],
            reference=v["reference"],
            actor=request.user,
        )
        period, correction_for_period = posting_period_for(payment.date)
        recorded = {
            "payment": payment,
            "invoice_status": Invoice.objects.values_list("status", flat=True).get(pk=pk),
            "period": period,
            "correction_for_period": correction_for_period,
        }
        return Response(PaymentOut(recorded).data, status=201)


class PaymentReverseIn(InputSerializer):
    reason = serializers.CharField(max_length=300, help_text="Why the payment is taken back")


class PaymentReversalOut(serializers.Serializer):
    """A payment reversal: the payment, the invoice's status and balance after it."""

    id = serializers.IntegerField()
    payment = serializers.IntegerField(source="payment_id")
    invoice = serializers.IntegerField(source="invoice_id")
    amount = MoneyField(currency="currency")
    currency = serializers.CharField()
    date = serializers.DateField()
    reason = serializers.CharField()
    invoice_status = serializers.ChoiceField(choices=Invoice.Status.values, source="invoice.status")
    balance_due = MoneyField(source="invoice.balance_due", currency="currency")


class PaymentReverseView(ApiView):
    """Reverse a recorded payment (an appended reversal and a reversing journal entry)."""

    area = "billing"

    @extend_schema(request=PaymentReverseIn, responses={201: PaymentReversalOut})
    def post(self, request, pk, payment_id):
        payment = payments.payment_of_invoice(invoice_id=pk, payment_id=payment_id)
        data = PaymentReverseIn(data=request.data)
        data.is_valid(raise_exception=True)
        reversal = payments.payment_reverse(
            payment=payment, reason=data.validated_data["reason"], actor=request.user
        )
        reversal.invoice.refresh_from_db()
        return Response(PaymentReversalOut(reversal).data, status=201)


class InvoicePdfView(ApiView):
    area = "billing"

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        invoice = _invoice(pk)
        if invoice.status == Invoice.Status.DRAFT:
            from revops.errors import Conflict

            raise Conflict(
                "The PDF is rendered when the invoice is finalized; this invoice is still a draft."
            )
        from billing.documents.services import invoice_document_ensure
        from billing.documents.storage import open_invoice_pdf

        # Not rendered by the worker yet (it is queued when the finalization commits): render it now.
        invoice = invoice_document_ensure(invoice=invoice, actor=request.user)

        response = HttpResponse(open_invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
        response["X-Content-SHA256"] = invoice.pdf_sha256
        return response


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    """A rendered document, served as ``GET /invoices/{id}/pdf`` serves the stored one (inline, named,
    with the SHA-256 of its bytes)."""
    import hashlib

    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    return response


class InvoiceStatementView(ApiView):
    """The statement of a finalized invoice's balance as of today: what was invoiced, each payment,
    payment reversal and credit note recorded by then, and the balance due (issue 16 §9). Rendered when
    asked for from the stored records; the invoice's own PDF stays as issued."""

    area = "billing"

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        from django.utils import timezone

        from billing.documents.services import invoice_statement_pdf

        invoice = _invoice(pk)
        if invoice.status == Invoice.Status.DRAFT or not invoice.number:
            from revops.errors import Conflict

            raise Conflict("A statement is drawn for a finalized invoice; this invoice was never finalized.")
        today = timezone.localdate()
        data = invoice_statement_pdf(invoice=invoice, as_of=today)
        return _pdf_response(data, f"{invoice.number}-statement-{today.isoformat()}.pdf")


class CreditNotePdfView(ApiView):
    """A credit note's PDF, rendered from the stored credit note (never changed once issued): the same
    bytes every time."""

    area = "billing"

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        from billing.documents.services import credit_note_pdf

        note = get_object_or_404(CreditNote, pk=pk)
        return _pdf_response(credit_note_pdf(credit_note=note), f"{note.number}.pdf")


class CreditNoteLineIn(InputSerializer):
    invoice_line = serializers.IntegerField()
    amount = DecimalStringField(min_value=0)


class CreditNoteIn(InputSerializer):
    invoice = serializers.IntegerField()
    lines = CreditNoteLineIn(many=True, min_length=1)
    reason = serializers.CharField(max_length=300)


class CreditNoteListView(ApiGenericView):
    area = "billing"
    list_view = True
    queryset = CreditNote.objects.prefetch_related("lines")

    @extend_schema(responses=CreditNoteOut)
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CreditNoteOut(page, many=True).data)

    @extend_schema(request=CreditNoteIn, responses={202: ReversalPendingOut})
    def post(self, request):
        """A credit note moves revenue: it is asked for (202, maker-checker); its number, document and
        ``credit_note.issued`` exist once an approver other than the requester approves."""
        data = CreditNoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        approval = reversals.credit_note_request(
            invoice=_invoice(v["invoice"]),
            lines=[dict(x) for x in v["lines"]],
            reason=v["reason"],
            actor=request.user,
        )
        return Response(_pending(approval, "credit_note"), status=202)
