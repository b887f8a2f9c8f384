"""The webhook delivery log's filters, shared by ``GET /webhook-deliveries`` and the webhooks page."""

from __future__ import annotations

import django_filters

from billing.models import WebhookDelivery
from billing.webhooks.endpoints import EVENT_TYPES
from revops.core.filters import FilterSet, IdFilter


class DeliveryFilter(FilterSet):
    endpoint = IdFilter(field_name="endpoint_id", help_text="Endpoint id")
    status = django_filters.ChoiceFilter(
        field_name="status", choices=WebhookDelivery.Status.choices, empty_label="Any status"
    )
    event_type = django_filters.ChoiceFilter(
        field_name="event_type", choices=[(t, t) for t in EVENT_TYPES], empty_label="Any event"
    )

    class Meta:
        model = WebhookDelivery
        fields: list[str] = []
