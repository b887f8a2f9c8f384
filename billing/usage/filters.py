"""The quarantined-event list's filters, shared by ``GET /events/quarantine`` and the quarantine page."""

from __future__ import annotations

import django_filters

from billing.models import QuarantinedEvent
from revops.core.filters import FilterSet


class QuarantineFilter(FilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=QuarantinedEvent.Status.choices)
    customer = django_filters.CharFilter(
        field_name="customer_ref", max_length=255, help_text="customer as sent (external_id)"
    )
    meter = django_filters.CharFilter(field_name="meter_code", max_length=255, help_text="meter code as sent")

    class Meta:
        model = QuarantinedEvent
        fields: list[str] = []
