"""Usage API (api.md "Customers, contracts, usage"): batch ingestion, the quarantine, usage per customer.

``POST /events`` parses the body once with DRF's JSONParser and hands the list to the fast path;
there is deliberately no serializer per event (the inline serializers below only document the schema).
"""

from __future__ import annotations

from datetime import date, timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from billing.models import Meter, QuarantinedEvent
from billing.usage.filters import QuarantineFilter
from billing.usage.ingest import MAX_BATCH, ingest_events
from billing.usage.selectors import customer_resolve, quarantine_list, usage_report
from billing.usage.services import (
    quarantine_discard,
    quarantine_replay_one,
    quarantine_replay_open,
)
from revops.core.api.fields import BoundedDateField
from revops.core.api.parsers import JSONParser
from revops.core.api.problems import problem_json
from revops.core.api.serializers import InputSerializer, refuse_unknown
from revops.core.api.views import ApiGenericView, ApiView
from revops.core.filters import ApiFilterBackend
from revops.dates import RANGE_MESSAGE, date_in_range
from revops.errors import FieldError, NotFound, ValidationFailed

MAX_DAYS = 366
MAX_BODY_BYTES = 32 * 1024 * 1024

_ERROR = inline_serializer(
    "UsageFieldError", {"field": serializers.CharField(), "message": serializers.CharField()}
)


class UsageEventIn(InputSerializer):
    """One event (checked by ingest_events: an invalid one is rejected and quarantined, naming each
    field, including unknown ones; ``billing.usage.validation.EVENT_FIELDS``)."""

    transaction_id = serializers.CharField(max_length=255)
    customer = serializers.CharField(help_text="The customer's external_id")
    code = serializers.CharField(help_text="Meter code")
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with an offset; at most 5 minutes ahead")
    properties = serializers.DictField(required=False)


class UsageBatchIn(InputSerializer):
    """The batch's envelope (each event is validated, and rejected or accepted, by ingest_events)."""

    events = UsageEventIn(many=True)


_INGEST_IN = UsageBatchIn
_INGEST_OUT = inline_serializer(
    "UsageBatchResult",
    {
        "accepted": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "rejected": inline_serializer(
            "UsageRejection",
            {
                "index": serializers.IntegerField(),
                "transaction_id": serializers.CharField(allow_null=True),
                "errors": _ERROR.__class__(many=True),
            },
            many=True,
        ),
    },
)


class EventIngestView(ApiView):
    """Batch ingestion, up to 10,000 events a request."""

    area = "usage"
    parser_classes = [JSONParser]
    accepts_nul_in_body = True  # such an event is quarantined, its NUL kept visible

    def dispatch(self, request, *args, **kwargs):
        # 10,000 events easily exceed Django's 2.5 MB DATA_UPLOAD_MAX_MEMORY_SIZE (which would answer
        # with an HTML 400). This endpoint reads its body itself, up to its own limit, and answers a
        # larger one with a 413 problem.
        if request.method == "POST" and not getattr(request, "_read_started", False):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_BODY_BYTES:
                return problem_json(
                    413,
                    f"The request body is {length:,} bytes; a batch may be at most {MAX_BODY_BYTES:,} bytes "
                    f"and {MAX_BATCH:,} events. Split it into smaller batches.",
                )
            request._body = request.read()
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        request=_INGEST_IN,
        responses={200: _INGEST_OUT},
        description="Each event is accepted, reported as a duplicate (its transaction_id was counted "
        "before), or rejected and quarantined with its reasons (field paths relative to the event). "
        f"At most {MAX_BATCH:,} events a request (413 above).",
    )
    def post(self, request):
        body = request.data
        if not isinstance(body, dict) or "events" not in body:
            raise ValidationFailed('Send a JSON object {"events": [...]}.', field="events")
        refuse_unknown(body, UsageBatchIn)
        events = body["events"]
        if not isinstance(events, list):
            raise ValidationFailed("events must be a list of event objects.", field="events")
        result = ingest_events(events=events, source="api", user=request.user)
        return Response(result.as_dict())


class QuarantinedEventSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer_ref", read_only=True)
    code = serializers.CharField(source="meter_code", read_only=True)
    resolved_by = serializers.CharField(
        source="resolved_by.username", read_only=True, default=None, allow_null=True
    )
    batch = serializers.IntegerField(source="batch_id", read_only=True, allow_null=True)
    outcome = serializers.ChoiceField(
        choices=QuarantinedEvent.Outcome.choices,
        allow_blank=True,
        read_only=True,
        help_text="Set once replayed; empty while open or discarded",
    )

    class Meta:
        model = QuarantinedEvent
        fields = [
            "id",
            "batch",
            "index",
            "transaction_id",
            "customer",
            "code",
            "payload",
            "errors",
            "received_at",
            "status",
            "outcome",
            "resolved_at",
            "resolved_by",
            "note",
        ]
        read_only_fields = fields


class QuarantineListView(ApiGenericView):
    area = "usage"
    list_view = True
    serializer_class = QuarantinedEventSerializer

    filter_backends = [ApiFilterBackend]
    filterset_class = QuarantineFilter

    def get_queryset(self):
        return quarantine_list()

    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def _item(pk: int) -> QuarantinedEvent:
    item = QuarantinedEvent.objects.select_related("resolved_by").filter(pk=pk).first()
    if item is None:
        raise NotFound(f"No quarantined event #{pk}.")
    return item


class QuarantineReplayView(ApiView):
    area = "usage"

    @extend_schema(
        request=None,
        responses={200: QuarantinedEventSerializer},
        description="Re-validate and ingest through the same path as POST /events. `result` is accepted, "
        "duplicate (its transaction_id was counted meanwhile: not counted again) or already_replayed. "
        "422 problem listing the reasons when it is still invalid.",
    )
    def post(self, request, pk: int):
        _item(int(pk))  # 404 first (also for ids beyond the column's range)
        outcome = quarantine_replay_one(item_id=int(pk), actor=request.user)
        data = QuarantinedEventSerializer(_item(int(pk))).data
        return Response({**data, "result": outcome.result})


class QuarantineDiscardIn(InputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class QuarantineDiscardView(ApiView):
    area = "usage"

    @extend_schema(
        request=QuarantineDiscardIn,
        responses={200: QuarantinedEventSerializer},
    )
    def post(self, request, pk: int):
        _item(int(pk))  # the record first: 404 before any complaint about the body
        data = QuarantineDiscardIn(data=request.data)
        data.is_valid(raise_exception=True)
        quarantine_discard(item_id=int(pk), actor=request.user, reason=data.validated_data["reason"])
        return Response(QuarantinedEventSerializer(_item(int(pk))).data)


class QuarantineBulkReplayIn(InputSerializer):
    customer = serializers.CharField(required=False, allow_blank=True, max_length=255)
    meter = serializers.CharField(required=False, allow_blank=True, max_length=255)


class QuarantineBulkReplayView(ApiView):
    area = "usage"

    @extend_schema(
        request=QuarantineBulkReplayIn,
        responses={
            200: inline_serializer(
                "QuarantineBulkReplayOut",
                {
                    "accepted": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                    "still_invalid": serializers.IntegerField(),
                },
            )
        },
        description="Replay every open item (optionally only one customer's and/or one meter's).",
        operation_id="events_quarantine_replay_open",
    )
    def post(self, request):
        data = QuarantineBulkReplayIn(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)  # strings without NUL (the database cannot compare those)
        customer, meter = data.validated_data.get("customer"), data.validated_data.get("meter")
        summary = quarantine_replay_open(actor=request.user, customer_ref=customer, meter_code=meter)
        return Response(summary.as_dict())


def _parse_date(raw: str | None, name: str, errors: list[FieldError]) -> date | None:
    if not raw:
        errors.append(FieldError(name, "required (YYYY-MM-DD)"))
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(name, f"'{raw[:40]}' is not a date (YYYY-MM-DD)"))
        return None
    if not date_in_range(value):
        errors.append(FieldError(name, RANGE_MESSAGE))
        return None
    return value


def parse_usage_query(params) -> tuple[Meter, date, date, list[str]]:
    """Validate ``meter``, ``start``, ``end`` (exclusive) and ``group_by`` (comma-separated)."""
    errors: list[FieldError] = []
    code = params.get("meter")
    meter = Meter.objects.filter(code=code).first() if code else None
    if not code:
        errors.append(FieldError("meter", "required: a meter code"))
    elif meter is None:
        errors.append(FieldError("meter", f"unknown meter '{code[:64]}'"))
    start = _parse_date(params.get("start"), "start", errors)
    end = _parse_date(params.get("end"), "end", errors)
    if start and end:
        if end <= start:
            errors.append(FieldError("end", "must be after start (end is exclusive)"))
        elif end - start > timedelta(days=MAX_DAYS):
            errors.append(FieldError("end", f"a range covers at most {MAX_DAYS} days"))
    group_by = [g.strip() for g in (params.get("group_by") or "").split(",") if g.strip()]
    if len(group_by) > 5 or any(len(g) > 64 for g in group_by):
        errors.append(FieldError("group_by", "at most 5 property names of up to 64 characters"))
    if errors:
        raise ValidationFailed(f"{errors[0].field}: {errors[0].message}", errors=errors)
    return meter, start, end, group_by


class CustomerUsageView(ApiView):
    area = "usage"

    @extend_schema(
        parameters=[
            OpenApiParameter("meter", str, required=True, description="Meter code"),
            OpenApiParameter("start", date, required=True, description="First local date"),
            OpenApiParameter("end", date, required=True, description="Exclusive end date"),
            OpenApiParameter("group_by", str, description="Comma-separated event properties"),
        ],
        responses={
            200: inline_serializer(
                "CustomerUsage",
                {
                    "meter": serializers.CharField(),
                    "start": BoundedDateField(),
                    "end": BoundedDateField(),
                    "total": serializers.CharField(),
                    "days": inline_serializer(
                        "UsageDay",
                        {"date": BoundedDateField(), "value": serializers.CharField()},
                        many=True,
                    ),
                    "groups": inline_serializer(
                        "UsageGroup",
                        {"key": serializers.DictField(), "total": serializers.CharField()},
                        many=True,
                        required=False,
                    ),
                },
            )
        },
        description="Aggregated in the customer's time zone; dates are local, `end` is exclusive.",
    )
    def get(self, request, ref: str):
        customer = customer_resolve(ref=ref)
        meter, start, end, group_by = parse_usage_query(request.query_params)
        return Response(usage_report(customer=customer, meter=meter, start=start, end=end, group_by=group_by))
