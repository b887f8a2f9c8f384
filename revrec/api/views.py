"""Revenue recognition API (api.md: Revenue recognition) and the generic approvals/periods endpoints."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from compliance.approvals import approval_decide
from compliance.models import Approval
from revops.contracts.models import Contract
from revops.core.api.fields import BoundedDateField, DecimalStringField, PeriodField, money_str
from revops.core.api.renderers import JSONRenderer
from revops.core.api.schema import page_of
from revops.core.api.views import ApiGenericView, ApiView
from revops.dates import check_period
from revops.errors import ValidationFailed
from revops.money import MoneyError, minor_units
from revrec.allocation import AllocationLine, allocate
from revrec.models import AccountingPeriod, JournalEntry, RevenueRun, RevenueSchedule
from revrec.recognition import schedule as compute_schedule
from revrec.selectors import contract_revenue
from revrec.services.runs import revenue_run_payload, revenue_run_start
from revrec.services.schedules import schedule_decide

PERIOD_RE = r"(?P<period>[0-9]{4}-[0-9]{2})"


def _currency(code: str) -> str:
    try:
        minor_units(code)
    except MoneyError as exc:
        raise ValidationFailed(str(exc), field="currency")
    return code.upper()


class StrictSerializer(serializers.Serializer):
    """No field is silently dropped: a field the serializer does not declare is a 400 problem naming it."""

    def to_internal_value(self, data):
        errors = {}
        if isinstance(data, dict):
            errors = {key: ["Unknown field."] for key in data if key not in self.fields}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                errors = {**errors, **exc.detail}
            raise serializers.ValidationError(errors or exc.detail) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


class AllocationLineIn(StrictSerializer):
    key = serializers.CharField(max_length=64)
    ssp = DecimalStringField(required=False, allow_null=True)
    ssp_low = DecimalStringField(required=False, allow_null=True)
    ssp_high = DecimalStringField(required=False, allow_null=True)
    residual = serializers.BooleanField(required=False, default=False)
    variable_amount = DecimalStringField(required=False, default=Decimal(0))
    variable_allocation = serializers.ChoiceField(
        choices=["relative", "specific"], required=False, default="relative"
    )
    relates_specifically = serializers.BooleanField(required=False, default=False)
    consistent_with_objective = serializers.BooleanField(required=False, default=False)


class AllocationIn(StrictSerializer):
    currency = serializers.CharField(max_length=3)
    transaction_price = DecimalStringField()
    lines = AllocationLineIn(many=True, min_length=1)
    discount_applies_to = serializers.ListField(
        child=serializers.CharField(), required=False, allow_null=True
    )


class AllocationPreviewView(ApiView):
    area = "revenue"
    write_area = "pricing"  # a preview writes nothing

    @extend_schema(
        request=AllocationIn,
        responses=inline_serializer(
            "AllocationPreview",
            fields={
                "currency": serializers.CharField(),
                "lines": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def post(self, request):
        data = AllocationIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        currency = _currency(v["currency"])
        result = allocate(
            currency=currency,
            transaction_price=v["transaction_price"],
            lines=[AllocationLine(**line) for line in v["lines"]],
            discount_applies_to=v.get("discount_applies_to"),
        )
        return Response(
            {
                "currency": currency,
                "lines": [
                    {
                        "key": a.key,
                        "ssp": money_str(a.ssp, currency),
                        "allocated": money_str(a.allocated, currency),
                        "fixed": money_str(a.allocated - a.variable, currency),
                        "variable": money_str(a.variable, currency),
                    }
                    for a in result
                ],
            }
        )


class SchedulePreviewIn(serializers.Serializer):
    currency = serializers.CharField(max_length=3)
    amount = DecimalStringField()
    method = serializers.ChoiceField(choices=["ratable_daily", "ratable_monthly", "point_in_time"])
    start = BoundedDateField()
    end = BoundedDateField()


class SchedulePreviewView(ApiView):
    area = "revenue"
    write_area = "pricing"

    @extend_schema(
        request=SchedulePreviewIn,
        responses=inline_serializer(
            "SchedulePreview", fields={"periods": serializers.ListField(child=serializers.DictField())}
        ),
    )
    def post(self, request):
        data = SchedulePreviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        currency = _currency(v["currency"])
        lines = compute_schedule(
            currency=currency,
            amount=v["amount"],
            method=v["method"],
            start=v["start"],
            end=v["end"],
            satisfied_on=v["start"] if v["method"] == "point_in_time" else None,
        )
        return Response(
            {
                "currency": currency,
                "periods": [{"period": ln.period, "amount": money_str(ln.amount, currency)} for ln in lines],
            }
        )


class ContractScheduleView(ApiView):
    area = "revenue"

    @extend_schema(
        responses=inline_serializer(
            "ContractSchedule",
            fields={
                "contract": serializers.IntegerField(),
                "currency": serializers.CharField(),
                "performance_obligations": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request, pk):
        return Response(contract_revenue(get_object_or_404(Contract, pk=pk)))


def schedule_payload(s: RevenueSchedule) -> dict:
    po = s.obligation
    return {
        "id": s.pk,
        "version": s.version,
        "status": s.status,
        "treatment": s.treatment,
        "method": s.method,
        "amount": money_str(s.amount, s.currency),
        "currency": s.currency,
        "contract": po.contract_id,
        "contract_number": po.contract.number,
        "performance_obligation": po.pk,
        "po_key": po.key,
        "prepared_by": s.prepared_by.username if s.prepared_by_id else None,
        "decided_by": s.decided_by.username if s.decided_by_id else None,
        "comment": s.decision_comment,
        "periods": [
            {
                "period": ln.period,
                "amount": money_str(ln.amount, s.currency),
                "recognized": ln.posted_entry_id is not None,
            }
            for ln in s.lines.all()
        ],
    }


class ScheduleListView(ApiGenericView):
    area = "revenue"
    list_view = True

    def get_queryset(self):
        qs = RevenueSchedule.objects.select_related(
            "obligation__contract", "prepared_by", "decided_by"
        ).prefetch_related("lines")
        status = self.request.query_params.get("status")
        if status:
            if status not in RevenueSchedule.Status.values:
                raise serializers.ValidationError(
                    {"status": [f"One of: {', '.join(RevenueSchedule.Status.values)}."]}
                )
            qs = qs.filter(status=status)
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=RevenueSchedule.Status.values)],
        responses=inline_serializer("Schedule", fields={"id": serializers.IntegerField()}),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([schedule_payload(s) for s in page])


class CommentIn(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


def _schedule(pk) -> RevenueSchedule:
    return get_object_or_404(RevenueSchedule.objects.select_related("obligation__contract"), pk=pk)


class ScheduleApproveView(ApiView):
    area = "revenue"
    write_area = "approvals"

    @extend_schema(
        request=CommentIn,
        responses=inline_serializer("ScheduleDecision", fields={"id": serializers.IntegerField()}),
    )
    def post(self, request, pk):
        data = CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        sched = schedule_decide(
            schedule=_schedule(pk), user=request.user, approve=True, comment=data.validated_data["comment"]
        )
        return Response(schedule_payload(sched))


class ScheduleRejectView(ApiView):
    area = "revenue"
    write_area = "approvals"

    @extend_schema(
        request=CommentIn,
        responses=inline_serializer("ScheduleRejection", fields={"id": serializers.IntegerField()}),
    )
    def post(self, request, pk):
        data = CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        sched = schedule_decide(
            schedule=_schedule(pk), user=request.user, approve=False, comment=data.validated_data["comment"]
        )
        return Response(schedule_payload(sched))


class RevenueRunIn(serializers.Serializer):
    period = PeriodField()


class RevenueRunListView(ApiGenericView):
    area = "revenue"
    list_view = True
    queryset = RevenueRun.objects.select_related("job")

    @extend_schema(
        responses=inline_serializer(
            "RevenueRun",
            fields={
                "id": serializers.IntegerField(),
                "period": serializers.CharField(),
                "status": serializers.CharField(),
                "progress": serializers.DictField(),
            },
        )
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([revenue_run_payload(r) for r in page])

    @extend_schema(
        request=RevenueRunIn,
        responses={
            202: inline_serializer(
                "RevenueRunStarted",
                fields={
                    "id": serializers.IntegerField(),
                    "status": serializers.CharField(),
                    "progress": serializers.DictField(),
                },
            )
        },
    )
    def post(self, request):
        data = RevenueRunIn(data=request.data)
        data.is_valid(raise_exception=True)
        run = revenue_run_start(period=data.validated_data["period"], actor=request.user)
        run = RevenueRun.objects.select_related("job").get(pk=run.pk)
        return Response(
            revenue_run_payload(run), status=202, headers={"Location": f"/api/v1/revenue-runs/{run.pk}"}
        )


class RevenueRunDetailView(ApiView):
    area = "revenue"

    @extend_schema(responses=inline_serializer("RevenueRunDetail", fields={"id": serializers.IntegerField()}))
    def get(self, request, pk):
        return Response(
            revenue_run_payload(get_object_or_404(RevenueRun.objects.select_related("job"), pk=pk))
        )


def entry_payload(e: JournalEntry) -> dict:
    return {
        "id": e.pk,
        "date": e.date,
        "period": e.period,
        "source": e.source,
        "source_type": e.source_type,
        "source_id": e.source_id,
        "memo": e.memo,
        "currency": e.currency,
        "correction_for_period": e.correction_for_period or None,
        "business_date": e.business_date,
        "reverses": e.reverses_id,
        "lines": [
            {
                "account": ln.account.code,
                "account_name": ln.account.name,
                "debit": money_str(ln.debit, e.currency),
                "credit": money_str(ln.credit, e.currency),
                "contract": ln.contract_id,
                "performance_obligation": ln.obligation_id,
                "product": ln.product.code if ln.product_id else None,
            }
            for ln in e.lines.all()
        ],
    }


def safe_cell(value) -> str:
    """CSV/XLSX formula-injection guard: a cell starting with = + - @ (or tab/CR) is prefixed with '."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+@\t\r" or (text.startswith("-") and not _is_number(text)):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    from decimal import Decimal, InvalidOperation

    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


class JournalEntryListView(ApiGenericView):
    area = "revenue"
    list_view = True

    def get_queryset(self):
        qs = JournalEntry.objects.prefetch_related("lines__account", "lines__product")
        params = self.request.query_params
        if params.get("period"):
            qs = qs.filter(period=check_period(params["period"]))
        if params.get("source"):
            qs = qs.filter(source=params["source"])
        if params.get("contract"):
            contract = params["contract"]
            if not (contract.isascii() and contract.isdigit() and int(contract) < 2**63):
                raise ValidationFailed("contract must be a contract id (an integer).", field="contract")
            qs = qs.filter(contract_id=int(contract))
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str),
            OpenApiParameter("source", str),
            OpenApiParameter("contract", int),
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses=inline_serializer("JournalEntry", fields={"id": serializers.IntegerField()}),
    )
    def get(self, request):
        if request.query_params.get("format") == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(
                [
                    "entry",
                    "date",
                    "period",
                    "source",
                    "memo",
                    "account",
                    "debit",
                    "credit",
                    "currency",
                    "contract",
                    "performance_obligation",
                    "product",
                ]
            )
            for e in self.get_queryset().order_by("id"):
                for ln in e.lines.all():
                    writer.writerow(
                        [
                            e.pk,
                            e.date,
                            e.period,
                            safe_cell(e.source),
                            safe_cell(e.memo),
                            safe_cell(ln.account.code),
                            money_str(ln.debit, e.currency),
                            money_str(ln.credit, e.currency),
                            safe_cell(e.currency),
                            ln.contract_id or "",
                            ln.obligation_id or "",
                            safe_cell(ln.product.code) if ln.product_id else "",  # a slug may start with -
                        ]
                    )
            response = HttpResponse(buffer.getvalue(), content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="journal-entries.csv"'
            return response
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([entry_payload(e) for e in page])

    def get_renderers(self):
        from rest_framework.renderers import BaseRenderer

        class CSVRenderer(BaseRenderer):
            media_type, format = "text/csv", "csv"

            def render(self, data, accepted_media_type=None, renderer_context=None):
                if isinstance(data, bytes | str):
                    return data
                # An error (a problem dict) asked for as CSV is still a problem+json body.
                return JSONRenderer().render(data, "application/json", renderer_context)

        return [*super().get_renderers(), CSVRenderer()]


# --- approvals and periods (generic maker-checker) -----------------------------------------------------


def approval_payload(a: Approval) -> dict:
    return {
        "id": a.pk,
        "kind": a.kind,
        "object_type": a.object_type,
        "object_id": a.object_id,
        "summary": a.summary,
        "status": a.status,
        "requested_by": a.requested_by.username if a.requested_by_id else None,
        "requested_at": a.requested_at,
        "decided_by": a.decided_by.username if a.decided_by_id else None,
        "decided_at": a.decided_at,
        "comment": a.comment,
        # What approving applies, as bound when requested, and its SHA-256 (compliance.approvals).
        "content": a.content,
        "content_hash": a.content_hash,
        "supersedes": a.supersedes_id,
    }


class ApprovalListView(ApiGenericView):
    area = "approvals"
    list_view = True

    def get_queryset(self):
        qs = Approval.objects.select_related("requested_by", "decided_by")
        status = self.request.query_params.get("status")
        return qs.filter(status=status) if status else qs

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=Approval.Status.values)],
        responses=inline_serializer("Approval", fields={"id": serializers.IntegerField()}),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([approval_payload(a) for a in page])


class ApprovalDecideView(ApiView):
    area = "approvals"
    approve = True

    @extend_schema(
        request=CommentIn,
        responses=inline_serializer("ApprovalDecision", fields={"id": serializers.IntegerField()}),
    )
    def post(self, request, pk):
        data = CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        approval = approval_decide(
            approval=get_object_or_404(Approval, pk=pk),
            user=request.user,
            approve=self.approve,
            comment=data.validated_data["comment"],
        )
        return Response(approval_payload(approval))


class ApprovalRejectView(ApprovalDecideView):
    approve = False


class PeriodListView(ApiGenericView):
    area = "periods"
    list_view = True
    queryset = AccountingPeriod.objects.all()
    cursor_ordering = "-period"

    @extend_schema(
        responses=inline_serializer(
            "AccountingPeriod", fields={"period": serializers.CharField(), "status": serializers.CharField()}
        )
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            [
                {
                    "period": p.period,
                    "start": p.start,
                    "end": p.end,
                    "status": p.status,
                    "closed_at": p.closed_at,
                }
                for p in page
            ]
        )


# --- contract modifications and the SSP book --------------------------------------------------------


def modification_payload(m) -> dict:
    return {
        "id": m.pk,
        "contract": m.contract_id,
        "contract_version": m.contract_version,
        "effective_date": m.effective_date,
        "status": m.status,
        "proposed_treatment": m.proposed_treatment,
        "chosen_treatment": m.chosen_treatment,
        "reason": m.reason,
        "analysis": m.analysis,
        "applied_at": m.applied_at,
    }


class ModificationOut(serializers.Serializer):
    id = serializers.IntegerField()
    contract = serializers.IntegerField()
    contract_version = serializers.IntegerField()
    effective_date = BoundedDateField()
    status = serializers.CharField()
    proposed_treatment = serializers.CharField()
    chosen_treatment = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    analysis = serializers.DictField()
    applied_at = serializers.DateTimeField(allow_null=True)


class ContractModificationListView(ApiView):
    area = "revenue"

    @extend_schema(
        responses=page_of("ContractModificationPage", ModificationOut(many=True)),
        operation_id="contracts_modifications_list",
    )
    def get(self, request, pk):
        contract = get_object_or_404(Contract, pk=pk)
        return Response(
            {
                "results": [modification_payload(m) for m in contract.modifications.all()],
                "next": None,
                "previous": None,
            }
        )


class TreatmentIn(serializers.Serializer):
    treatment = serializers.ChoiceField(choices=["separate_contract", "prospective", "cumulative_catch_up"])


class ModificationTreatmentView(ApiView):
    area = "revenue"

    @extend_schema(
        request=TreatmentIn,
        responses=ModificationOut,
    )
    def post(self, request, pk):
        from revrec.models import ContractModification
        from revrec.services.modifications import modification_choose

        modification = get_object_or_404(ContractModification, pk=pk)  # 404 before a body complaint
        data = TreatmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        mod = modification_choose(
            modification=modification,
            treatment=data.validated_data["treatment"],
            actor=request.user,
        )
        return Response(modification_payload(mod))


class SSPIn(serializers.Serializer):
    product = serializers.CharField(max_length=64)
    currency = serializers.CharField(max_length=3)
    effective_from = BoundedDateField()
    ssp = DecimalStringField(required=False, allow_null=True)
    ssp_low = DecimalStringField(required=False, allow_null=True)
    ssp_high = DecimalStringField(required=False, allow_null=True)
    method = serializers.ChoiceField(choices=["observable", "adjusted_market", "cost_plus", "residual"])
    evidence = serializers.CharField(required=False, allow_blank=True, default="")


def ssp_payload(e) -> dict:
    c = e.currency
    return {
        "id": e.pk,
        "product": e.product.code,
        "currency": c,
        "version": e.version,
        "effective_from": e.effective_from,
        "ssp": money_str(e.ssp, c),
        "ssp_low": money_str(e.ssp_low, c),
        "ssp_high": money_str(e.ssp_high, c),
        "method": e.method,
        "evidence": e.evidence,
        "status": e.status,
        "created_by": e.created_by.username if e.created_by_id else None,
    }


class SSPListView(ApiGenericView):
    area = "revenue"
    list_view = True

    def get_queryset(self):
        from revrec.models import SSPEntry

        qs = SSPEntry.objects.select_related("product", "created_by")
        product = self.request.query_params.get("product")
        return qs.filter(product__code=product) if product else qs

    @extend_schema(responses=inline_serializer("SSPEntry", fields={"id": serializers.IntegerField()}))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([ssp_payload(e) for e in page])

    @extend_schema(
        request=SSPIn,
        responses={201: inline_serializer("SSPProposed", fields={"id": serializers.IntegerField()})},
    )
    def post(self, request):
        from revrec.services.ssp import ssp_propose

        data = SSPIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(ssp_payload(ssp_propose(actor=request.user, **data.validated_data)), status=201)
