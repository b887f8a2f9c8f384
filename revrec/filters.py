"""Revenue lists' filters (revops.core.filters): journal entries, schedules and the SSP book, each one
FilterSet shared by its API list and, where there is one, its page."""

from __future__ import annotations

import django_filters

from revops.core.filters import FilterSet, IdFilter, PeriodFilter
from revrec.models import JournalEntry, RevenueSchedule, SSPEntry


class JournalEntryFilter(FilterSet):
    period = PeriodFilter(field_name="period", help_text="YYYY-MM")
    source = django_filters.ChoiceFilter(field_name="source", choices=JournalEntry.Source.choices)
    contract = IdFilter(field_name="contract_id", help_text="Contract id")

    class Meta:
        model = JournalEntry
        fields: list[str] = []


class ScheduleFilter(FilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=RevenueSchedule.Status.choices)

    class Meta:
        model = RevenueSchedule
        fields: list[str] = []


class SSPFilter(FilterSet):
    product = django_filters.CharFilter(field_name="product__code", max_length=64, help_text="Product code")

    class Meta:
        model = SSPEntry
        fields: list[str] = []
