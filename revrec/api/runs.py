"""Revenue runs (api.md: Revenue recognition): start one for a period, follow it."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from revops.core.api.fields import PeriodField
from revops.core.api.serializers import InputSerializer
from revops.core.api.views import ApiGenericView, ApiView
from revrec.models import RevenueRun
from revrec.selectors import revenue_run_failures
from revrec.services.runs import revenue_run_start


class RevenueRunIn(InputSerializer):
    period = PeriodField()


class RevenueRunProgressOut(serializers.Serializer):
    done = serializers.IntegerField(source="progress_done")
    total = serializers.IntegerField(source="progress_total")


class RevenueRunFailureOut(serializers.Serializer):
    contract = serializers.CharField(help_text="The contract's number")
    contract_id = serializers.IntegerField()
    error = serializers.CharField(help_text="Why its revenue could not be posted; the run went on")


class RevenueRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.CharField()
    status = serializers.ChoiceField(choices=RevenueRun.Status.choices)
    progress = RevenueRunProgressOut(source="job", help_text="Contracts finished of the run's contracts")
    entries_created = serializers.SerializerMethodField(
        help_text="Recognition entries posted so far (final once the run completed)"
    )
    failed = serializers.SerializerMethodField(help_text="Contracts parked with an error")
    failures = serializers.SerializerMethodField(help_text="The parked contracts (at most 100), oldest first")
    error = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_entries_created(self, run: RevenueRun) -> int:
        if run.status == RevenueRun.Status.COMPLETED:
            return run.entries_created
        return run.items.filter(entry__isnull=False).count()

    def get_failed(self, run: RevenueRun) -> int:
        return run.items.filter(status="failed").count()

    @extend_schema_field(RevenueRunFailureOut(many=True))
    def get_failures(self, run: RevenueRun) -> list[dict]:
        return revenue_run_failures(run)

    def get_error(self, run: RevenueRun) -> str | None:
        return run.error or None


class RevenueRunListView(ApiGenericView):
    area = "revenue"
    list_view = True
    queryset = RevenueRun.objects.select_related("job")

    @extend_schema(responses=RevenueRunOut)
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(RevenueRunOut(page, many=True).data)

    @extend_schema(request=RevenueRunIn, responses={202: RevenueRunOut})
    def post(self, request):
        data = RevenueRunIn(data=request.data)
        data.is_valid(raise_exception=True)
        run = revenue_run_start(period=data.validated_data["period"], actor=request.user)
        run = RevenueRun.objects.select_related("job").get(pk=run.pk)
        return Response(
            RevenueRunOut(run).data, status=202, headers={"Location": f"/api/v1/revenue-runs/{run.pk}"}
        )


class RevenueRunDetailView(ApiView):
    area = "revenue"

    @extend_schema(responses=RevenueRunOut)
    def get(self, request, pk):
        return Response(
            RevenueRunOut(get_object_or_404(RevenueRun.objects.select_related("job"), pk=pk)).data
        )
