"""Journal entries (api.md: Revenue recognition): the list, as JSON or CSV."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer

from revops.core.api.fields import MoneyField, money_str
from revops.core.api.renderers import JSONRenderer
from revops.core.api.views import ApiGenericView
from revops.core.filters import ApiFilterBackend
from revops.formatting import safe_cell
from revrec.filters import JournalEntryFilter
from revrec.models import JournalEntry


class JournalLineOut(serializers.Serializer):
    account = serializers.CharField(source="account.code")
    account_name = serializers.CharField(source="account.name")
    debit = MoneyField(currency="entry.currency")
    credit = MoneyField(currency="entry.currency")
    contract = serializers.IntegerField(source="contract_id", allow_null=True)
    performance_obligation = serializers.IntegerField(source="obligation_id", allow_null=True)
    product = serializers.CharField(source="product.code", allow_null=True, default=None)


class JournalEntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    period = serializers.CharField()
    source = serializers.ChoiceField(choices=JournalEntry.Source.choices)
    source_type = serializers.CharField()
    source_id = serializers.CharField()
    memo = serializers.CharField()
    currency = serializers.CharField()
    correction_for_period = serializers.SerializerMethodField()
    business_date = serializers.DateField(allow_null=True)
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)
    lines = JournalLineOut(many=True)

    def get_correction_for_period(self, entry: JournalEntry) -> str | None:
        return entry.correction_for_period or None


CSV_HEADER = [
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


def _csv(entries) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for e in entries:
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


class CSVRenderer(BaseRenderer):
    media_type, format = "text/csv", "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        # An error (a problem dict) asked for as CSV is still a problem+json body.
        return JSONRenderer().render(data, "application/json", renderer_context)


class JournalEntryListView(ApiGenericView):
    area = "revenue"
    list_view = True

    filter_backends = [ApiFilterBackend]
    filterset_class = JournalEntryFilter

    def get_queryset(self):
        return JournalEntry.objects.prefetch_related("lines__account", "lines__product")

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses={
            (200, "application/json"): JournalEntryOut,
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="One row per journal line (?format=csv)"
            ),
        },
    )
    def get(self, request):
        if request.query_params.get("format") == "csv":
            return _csv(self.filter_queryset(self.get_queryset()).order_by("id"))
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(JournalEntryOut(page, many=True).data)

    def get_renderers(self):
        return [*super().get_renderers(), CSVRenderer()]
