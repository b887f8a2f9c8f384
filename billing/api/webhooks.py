"""Webhook endpoints and the delivery log (issue 5 §6), in api.md's conventions.

The signing secret appears in exactly two responses: the ``POST /webhook-endpoints`` that creates
the endpoint and ``POST /webhook-endpoints/{id}/rotate-secret``. Every other response omits it.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.models import WebhookDelivery, WebhookEndpoint
from billing.webhooks.delivery import webhook_delivery_retry
from billing.webhooks.endpoints import (
    EVENT_TYPES,
    webhook_delivery_list,
    webhook_endpoint_create,
    webhook_endpoint_deactivate,
    webhook_endpoint_list,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from billing.webhooks.filters import DeliveryFilter
from revops.core.api.serializers import InputSerializer
from revops.core.api.views import ApiGenericView, ApiView
from revops.core.filters import ApiFilterBackend

# --- serializers ---------------------------------------------------------------------------------


class EndpointIn(InputSerializer):
    url = serializers.URLField(max_length=500, help_text="http(s) URL that receives signed POSTs")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        required=False,
        default=list,
        help_text="Event types to receive; empty = all of them",
    )


class EndpointPatchIn(InputSerializer):
    url = serializers.URLField(max_length=500, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), required=False)
    active = serializers.BooleanField(required=False)


class EndpointOut(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "event_types", "active", "created_at"]
        read_only_fields = fields


class EndpointWithSecretOut(EndpointOut):
    secret = serializers.CharField(
        allow_null=True,
        help_text="whsec_… signing secret. Shown only in this response (null in an Idempotency-Key replay: "
        "it is never stored).",
    )

    class Meta(EndpointOut.Meta):
        fields = [*EndpointOut.Meta.fields, "secret"]
        read_only_fields = fields


class DeliveryOut(serializers.ModelSerializer):
    payload = serializers.JSONField(help_text="The signed body: {id, type, timestamp, data}")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "payload",
        ]
        read_only_fields = fields


# --- endpoints -----------------------------------------------------------------------------------


class WebhookEndpointListView(ApiGenericView):
    """Webhook endpoints. Creating one returns its signing secret, once."""

    area = "billing"
    list_view = True
    serializer_class = EndpointOut
    idempotency_secret_fields = ("secret",)  # never kept in the idempotency table

    def get_queryset(self):
        return webhook_endpoint_list()

    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EndpointOut(page, many=True).data)

    @extend_schema(request=EndpointIn, responses={201: EndpointWithSecretOut})
    def post(self, request):
        data = EndpointIn(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(actor=request.user, **data.validated_data)
        return Response(EndpointWithSecretOut(endpoint).data, status=201)


class WebhookEndpointDetailView(ApiView):
    """One webhook endpoint (never its secret)."""

    area = "billing"

    @extend_schema(responses=EndpointOut)
    def get(self, request, pk):
        return Response(EndpointOut(get_object_or_404(WebhookEndpoint, pk=pk)).data)

    @extend_schema(request=EndpointPatchIn, responses=EndpointOut)
    def patch(self, request, pk):
        endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
        data = EndpointPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_update(endpoint=endpoint, actor=request.user, **data.validated_data)
        return Response(EndpointOut(endpoint).data)

    @extend_schema(
        request=None,
        responses={200: EndpointOut},
        description="Deactivates the endpoint (nothing more is sent to it); its delivery log is kept.",
    )
    def delete(self, request, pk):
        endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
        endpoint = webhook_endpoint_deactivate(endpoint=endpoint, actor=request.user)
        return Response(EndpointOut(endpoint).data)


class WebhookEndpointRotateSecretView(ApiView):
    """Replace the signing secret now; the response carries the new secret, once."""

    area = "billing"
    idempotency_secret_fields = ("secret",)  # never kept in the idempotency table

    @extend_schema(request=None, responses=EndpointWithSecretOut)
    def post(self, request, pk):
        endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
        endpoint = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
        return Response(EndpointWithSecretOut(endpoint).data)


# --- deliveries ----------------------------------------------------------------------------------


class WebhookDeliveryListView(ApiGenericView):
    """The delivery log, newest first: one row per (endpoint, event), with its attempts."""

    area = "billing"
    list_view = True
    serializer_class = DeliveryOut

    filter_backends = [ApiFilterBackend]
    filterset_class = DeliveryFilter

    def get_queryset(self):
        return webhook_delivery_list()

    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(DeliveryOut(page, many=True).data)


class WebhookDeliveryDetailView(ApiView):
    """One delivery and its signed body."""

    area = "billing"

    @extend_schema(responses=DeliveryOut)
    def get(self, request, pk):
        return Response(DeliveryOut(get_object_or_404(WebhookDelivery, pk=pk)).data)


class WebhookDeliveryRetryView(ApiView):
    """Retry now: a pending or failed delivery is attempted again at once (202)."""

    area = "billing"

    @extend_schema(request=None, responses={202: DeliveryOut})
    def post(self, request, pk):
        delivery = get_object_or_404(WebhookDelivery, pk=pk)
        delivery = webhook_delivery_retry(delivery=delivery, actor=request.user)
        delivery.refresh_from_db()  # in-process (eager) mode has already made the attempt
        return Response(DeliveryOut(delivery).data, status=202)
